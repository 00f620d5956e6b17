"""Property-based checks: random bytes and arrays never raise anything but the typed errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fer_core.inference.detect import DetectorConfig, detect_faces
from fer_core.inference.imageio import ImageDecodeError, decode_image
from fer_core.inference.preprocess import preprocess_face

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

image_shapes = st.tuples(st.integers(1, 120), st.integers(1, 120)).flatmap(
    lambda hw: st.sampled_from([hw, (*hw, 1), (*hw, 3), (*hw, 4)]))
uint8_images = image_shapes.flatmap(lambda shape: arrays(np.uint8, shape))


@FAST
@given(st.binary(max_size=4096))
def test_decode_random_bytes(data):
    try:
        image = decode_image(data)
    except ImageDecodeError:
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@FAST
@given(st.binary(min_size=1, max_size=2048), st.sampled_from([b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"BM",
                                                               b"RIFF\x00\x00\x00\x00WEBP", b"II*\x00"]))
def test_decode_random_bytes_behind_real_magic_numbers(data, magic):
    try:
        image = decode_image(magic + data)
    except ImageDecodeError:
        return
    assert image.dtype == np.uint8 and image.shape[2] == 3


@FAST
@given(uint8_images, st.sampled_from(["bgr", "rgb"]))
def test_preprocess_any_uint8_image(image, order):
    face = preprocess_face(image, order)
    assert face.shape == (48, 48, 1) and face.dtype == np.float32
    assert 0.0 <= face.min() and face.max() <= 1.0


@FAST
@given(uint8_images, st.sampled_from([None, 64, 320]))
def test_detect_boxes_stay_inside_the_image(image, max_side):
    boxes = detect_faces(image, DetectorConfig(min_face=8, min_neighbors=1, max_side=max_side, margin=0.3))
    height, width = image.shape[:2]
    for x, y, w, h in boxes:
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= width and y + h <= height


@pytest.fixture(scope="module")
def analyzer(tiny_model):
    from fer_core.inference.pipeline import Analyzer
    from fer_core.inference.predictor import Predictor

    return Analyzer(Predictor.load(tiny_model), DetectorConfig(min_face=8, min_neighbors=1))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(image=uint8_images)
def test_analyze_any_image(analyzer, image):
    for result in analyzer.analyze(image):
        assert result.emotion in analyzer.labels
        assert abs(sum(result.scores.values()) - 1.0) < 1e-3
