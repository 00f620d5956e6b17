"""Errors a user can act on. The command line reports these in one line and lets every other exception, a bug,
surface with its traceback."""


class FerError(Exception):
    """Something about the input, the data or the settings that the user can put right."""


class UsageError(FerError, ValueError):
    """A setting, a flag or a combination of them that cannot work (an unknown mode, mismatched classes)."""


class MissingInputError(FerError, FileNotFoundError):
    """A file or folder the user named is not there, or lacks what it needs."""


class ModelLoadError(FerError, RuntimeError):
    """A model file is missing, truncated or not the kind of model expected."""
