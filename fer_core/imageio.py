"""Decoding images that enter the library (files, uploads, bytes) into BGR uint8 arrays."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MAX_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 50_000_000


class ImageDecodeError(ValueError):
    """The input is empty, too large, not an image, or an image we cannot decode."""


def decode_image(data: bytes) -> np.ndarray:
    """Encoded JPEG/PNG/WebP/BMP/TIFF bytes -> BGR uint8 (H, W, 3), EXIF orientation applied."""
    if not data:
        raise ImageDecodeError("empty file")
    if len(data) > MAX_BYTES:
        raise ImageDecodeError(f"file is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    buffer = np.frombuffer(data, np.uint8)
    # IMREAD_COLOR converts gray, alpha, palette and 16-bit images to 8-bit BGR and honours EXIF orientation.
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError("not a readable image (unsupported format, truncated or not an image)")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageDecodeError(f"image is {image.shape[1]}x{image.shape[0]}; the limit is {MAX_PIXELS:,} pixels")
    return image


def read_image(path) -> np.ndarray:
    """An image file -> BGR uint8 (H, W, 3)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"cannot read file: {exc.strerror or exc}") from exc
    return decode_image(data)


def encode_png(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buffer.tobytes()
