"""Decoding images that enter the library (files, uploads, bytes) into BGR uint8 arrays."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fer_core.errors import FerError

# File names the library reads as images (folders of photos, dataset folders).
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
MAX_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 50_000_000


class ImageDecodeError(FerError, ValueError):
    """The input is empty, too large, not an image, or an image we cannot decode."""


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the image header without decoding pixels; None if Pillow can't identify it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"image too large to decode safely ({exc})") from exc
    except Exception:  # noqa: BLE001 - not identifiable by Pillow; OpenCV gets the final say
        return None


def decode_image(data: bytes) -> np.ndarray:
    """Encoded JPEG/PNG/WebP/BMP/TIFF (or GIF: first frame) bytes -> BGR uint8 (H, W, 3), EXIF orientation applied.

    Sizes are checked before decoding, from the header, so a small file that claims huge dimensions (a
    decompression bomb) is refused without allocating its pixels."""
    if not data:
        raise ImageDecodeError("empty file")
    if len(data) > MAX_BYTES:
        raise ImageDecodeError(f"file is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    size = declared_size(data)
    if size and size[0] * size[1] > MAX_PIXELS:
        raise ImageDecodeError(f"image is {size[0]}x{size[1]}; the limit is {MAX_PIXELS:,} pixels")
    buffer = np.frombuffer(data, np.uint8)
    # IMREAD_COLOR converts gray, alpha, palette and 16-bit images to 8-bit BGR and honours EXIF orientation.
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError("not a readable image (unsupported format, truncated or not an image)")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageDecodeError(f"image is {image.shape[1]}x{image.shape[0]}; the limit is {MAX_PIXELS:,} pixels")
    return image


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
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
