import io

import cv2
import numpy as np
import pytest
from PIL import Image

from fer_core.imageio import ImageDecodeError, decode_image, read_image


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


def test_truncated_jpeg_and_missing_file(tmp_path):
    data = _encode(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8), ".jpg")
    with pytest.raises(ImageDecodeError):
        decode_image(data[:100])
    with pytest.raises(ImageDecodeError, match="cannot read"):
        read_image(tmp_path / "missing.jpg")
