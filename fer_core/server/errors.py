"""Errors the API answers with: an HTTP status and a JSON body {"error": {"code", "message"}}, never a traceback
or a path on the server."""

from __future__ import annotations

from fer_core.inference.imageio import (
    CorruptImageError,
    EmptyImageError,
    ImageDecodeError,
    ImageTooLargeError,
    UnsupportedImageError,
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


# The image errors of fer_core.inference.imageio, by the status each earns.
_IMAGE_ERRORS: tuple[tuple[type[ImageDecodeError], int, str], ...] = (
    (EmptyImageError, 400, "empty_body"),
    (UnsupportedImageError, 415, "unsupported_media_type"),
    (ImageTooLargeError, 413, "image_too_large"),
    (CorruptImageError, 422, "corrupt_image"),
)


def from_image_error(exc: ImageDecodeError) -> ApiError:
    status, code = next(((status, code) for kind, status, code in _IMAGE_ERRORS if isinstance(exc, kind)),
                        (422, "corrupt_image"))
    return ApiError(status, code, str(exc))
