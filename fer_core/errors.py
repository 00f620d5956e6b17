"""Errors a user can act on, shared by the loaders of the emotion model and the face detector."""


class ModelLoadError(RuntimeError):
    """A model file is missing, truncated or not the kind of model expected."""
