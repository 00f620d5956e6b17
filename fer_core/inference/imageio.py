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
from fer_core.machine import MAX_IMAGE_PIXELS

# File names the library reads as images (folders of photos, dataset folders).
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
MAX_BYTES = 50 * 1024 * 1024
MAX_PIXELS = MAX_IMAGE_PIXELS


class ImageDecodeError(FerError, ValueError):
    """The input is empty, too large, not an image, or an image we cannot decode."""


class EmptyImageError(ImageDecodeError):
    """No bytes at all."""


class UnsupportedImageError(ImageDecodeError):
    """Bytes that are not one of the accepted image formats (by their magic bytes)."""


class ImageTooLargeError(ImageDecodeError):
    """More bytes, or more declared pixels, than the limits allow (a decompression bomb among them)."""


class CorruptImageError(ImageDecodeError):
    """An accepted format whose data is truncated or damaged."""


# Magic bytes of the formats accepted; anything else is refused before a decoder sees it.
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


def image_format(data: bytes) -> str | None:
    """jpeg, png, gif, bmp, tiff or webp by the file's first bytes; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((name for magic, name in _SIGNATURES if data.startswith(magic)), None)


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the image header without decoding pixels; None if Pillow can't identify it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(f"image declares more than {Image.MAX_IMAGE_PIXELS or 0:,} pixels; the limit is "
                                 f"{MAX_PIXELS:,}") from None
    except Exception:  # noqa: BLE001 - not identifiable by Pillow; the caller decides
        return None


def decode_image(data: bytes) -> np.ndarray:
    """Encoded JPEG/PNG/WebP/BMP/TIFF (or GIF: first frame) bytes -> BGR uint8 (H, W, 3), EXIF orientation applied.

    The format is recognised by its magic bytes and the size read from its header before any pixel is decoded, so
    other formats (whose decoders OpenCV would otherwise try) and a small file that claims huge dimensions (a
    decompression bomb) are refused without allocating their pixels."""
    if not data:
        raise EmptyImageError("empty file")
    if len(data) > MAX_BYTES:
        raise ImageTooLargeError(f"file is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    kind = image_format(data)
    if kind is None:
        raise UnsupportedImageError("not a readable image: JPEG, PNG, WebP, BMP, TIFF and GIF are accepted")
    size = declared_size(data)
    if size is None:
        raise CorruptImageError(f"damaged {kind.upper()} header")
    if size[0] * size[1] > MAX_PIXELS:
        raise ImageTooLargeError(f"image is {size[0]}x{size[1]}; the limit is {MAX_PIXELS:,} pixels")
    buffer = np.frombuffer(data, np.uint8)
    try:
        # IMREAD_COLOR converts gray, alpha, palette and 16-bit images to 8-bit BGR and honours EXIF orientation.
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise CorruptImageError(f"damaged {kind.upper()} ({exc.err or 'decoder error'})") from exc
    if image is None:
        raise CorruptImageError(f"damaged or truncated {kind.upper()}")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageTooLargeError(f"image is {image.shape[1]}x{image.shape[0]}; the limit is {MAX_PIXELS:,} pixels")
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
