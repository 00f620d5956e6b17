import io

import cv2
import numpy as np
import pytest
from PIL import Image

from fer_core.inference.imageio import ImageDecodeError, decode_image, read_image


def _encode(image, ext):
    ok, buffer = cv2.imencode(ext, image)
    assert ok
    return buffer.tobytes()


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".bmp", ".tiff"])
def test_common_formats_decode_to_bgr_uint8(ext):
    image = np.zeros((30, 40, 3), np.uint8)
    image[:, :20] = (255, 0, 0)  # blue left half in BGR
    decoded = decode_image(_encode(image, ext))
    assert decoded.shape == (30, 40, 3) and decoded.dtype == np.uint8
    assert decoded[15, 5, 0] > 200 and decoded[15, 5, 2] < 60


def test_gray_alpha_and_16_bit_png_become_8_bit_bgr():
    assert decode_image(_encode(np.full((10, 12), 128, np.uint8), ".png")).shape == (10, 12, 3)
    assert decode_image(_encode(np.full((10, 12, 4), 128, np.uint8), ".png")).shape == (10, 12, 3)
    deep = decode_image(_encode(np.full((10, 12), 65535, np.uint16), ".png"))
    assert deep.dtype == np.uint8 and deep.max() == 255


def test_exif_orientation_is_applied():
    image = np.zeros((20, 60, 3), np.uint8)  # wide
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(image).save(buffer, format="JPEG", exif=exif)
    assert decode_image(buffer.getvalue()).shape[:2] == (60, 20)  # shown tall


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"%PDF-1.4 not an image", "not a readable image"),
    (b"hello, I am text", "not a readable image"),
])
def test_bad_bytes_raise_typed_errors(data, reason):
    with pytest.raises(ImageDecodeError, match=reason):
        decode_image(data)


def test_only_accepted_formats_reach_a_decoder_and_each_failure_has_its_type(tmp_path):
    from fer_core.inference.imageio import (
        CorruptImageError,
        EmptyImageError,
        ImageTooLargeError,
        UnsupportedImageError,
        image_format,
    )

    picture = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    for suffix, kind in ((".jpg", "jpeg"), (".png", "png"), (".webp", "webp"), (".bmp", "bmp"), (".tiff", "tiff")):
        data = _encode(picture, suffix)
        assert image_format(data) == kind
        assert decode_image(data).shape == picture.shape
    # OpenCV decodes Radiance HDR (and would allocate what its header declares); it is not an accepted format.
    hdr = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 40000 +X 40000\n" + b"\x00" * 100
    with pytest.raises(UnsupportedImageError):
        decode_image(hdr)
    with pytest.raises(EmptyImageError):
        decode_image(b"")
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")
    with pytest.raises(ImageTooLargeError):
        decode_image(bomb.getvalue())
    jpeg = _encode(picture, ".jpg")
    for damaged in (jpeg[: len(jpeg) // 2], _encode(picture, ".png")[:300], jpeg[:3] + b"\x00" * 50):
        with pytest.raises(CorruptImageError):
            decode_image(damaged)


def test_truncated_jpeg_and_missing_file(tmp_path):
    data = _encode(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8), ".jpg")
    with pytest.raises(ImageDecodeError):
        decode_image(data[:100])
    with pytest.raises(ImageDecodeError, match="cannot read"):
        read_image(tmp_path / "missing.jpg")


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header is rewritten to claim width x height pixels."""
    import struct
    import zlib

    data = bytearray(_encode(np.zeros((2, 2, 3), np.uint8), ".png"))
    ihdr = 8 + 8  # signature, then length + b"IHDR"
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    return bytes(data)


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (10_000, 6_000)])
def test_decompression_bombs_are_refused_from_the_header(width, height):
    with pytest.raises(ImageDecodeError, match="too large|limit"):
        decode_image(_png_claiming(width, height))


def test_oversized_files_are_refused(monkeypatch):
    import fer_core.inference.imageio as imageio

    monkeypatch.setattr(imageio, "MAX_BYTES", 1000)
    with pytest.raises(ImageDecodeError, match="limit"):
        decode_image(b"\xff" * 1001)


def _pil_bytes(image, fmt, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_exotic_but_valid_images_decode():
    rgb = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    cases = {
        "animated gif": _pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "animated webp": _pil_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "cmyk jpeg": _pil_bytes(Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        "palette png": _pil_bytes(Image.fromarray(rgb).convert("P"), "PNG"),
        "gray+alpha png": _pil_bytes(Image.fromarray(rgb).convert("LA"), "PNG"),
    }
    for name, data in cases.items():
        image = decode_image(data)
        assert image.shape == (40, 60, 3) and image.dtype == np.uint8, name
    assert decode_image(_pil_bytes(Image.fromarray(rgb[:1, :1]), "PNG")).shape == (1, 1, 3)
    assert decode_image(_pil_bytes(Image.fromarray(np.zeros((1, 5000, 3), np.uint8)), "PNG")).shape == (1, 5000, 3)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animations_give_their_first_frame(fmt):
    dark, bright = (Image.fromarray(np.full((20, 20, 3), v, np.uint8)) for v in (20, 230))
    image = decode_image(_pil_bytes(dark, fmt, save_all=True, append_images=[bright]))
    assert image.mean() < 60


def test_decoding_leaves_no_file_in_the_temp_folder_and_opencv_has_the_pixel_limit(tmp_path):
    import os
    import subprocess
    import sys
    import tempfile

    before = set(os.listdir(tempfile.gettempdir()))
    picture = np.random.default_rng(2).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    for suffix in (".jpg", ".png", ".webp", ".bmp", ".tiff"):
        decode_image(_encode(picture, suffix))
    for hostile in (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8 +X 8\n" + b"\x01" * 256, b"\x00" * 64):
        with pytest.raises(ImageDecodeError):
            decode_image(hostile)
    assert not [name for name in set(os.listdir(tempfile.gettempdir())) - before if "opencv" in name.lower()]
    script = "import os, fer_core; print(os.environ['OPENCV_IO_MAX_IMAGE_PIXELS'])"
    limit = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"})
    assert int(limit.stdout) == 50_000_000
