"""The crop transform from a detection to the classifier's face: square, scale, shift and eye levelling."""

import cv2
import numpy as np
import pytest

from fer_core.inference.boxes import Box, Detection
from fer_core.inference.framing import FaceFraming, crop_face, eye_angle


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)


def test_the_plain_framing_is_the_box_itself(image):
    crop = crop_face(image, Box(50, 40, 60, 80))
    np.testing.assert_array_equal(crop, image[40:120, 50:110])


def test_square_scale_and_shift(image):
    box = Box(100, 100, 60, 80)  # centre (130, 140)
    square = crop_face(image, box, FaceFraming(square=True))
    np.testing.assert_array_equal(square, image[100:180, 90:170])
    grown = crop_face(image, box, FaceFraming(square=True, scale=1.5))
    np.testing.assert_array_equal(grown, image[80:200, 70:190])
    lowered = crop_face(image, box, FaceFraming(square=True, shift_y=0.25))
    np.testing.assert_array_equal(lowered, image[120:200, 90:170])


def test_a_crop_past_the_edge_repeats_the_edge_pixels(image):
    crop = crop_face(image, Box(0, 0, 40, 40), FaceFraming(scale=1.5))
    assert crop.shape == (60, 60, 3)
    np.testing.assert_array_equal(crop[10:, 10:], image[:50, :50])
    np.testing.assert_array_equal(crop[0, 10:], image[0, :50])


def test_levelling_the_eyes_turns_a_tilted_face_upright():
    canvas = np.zeros((200, 200), np.uint8)
    # Two "eyes" on a line rising 30 degrees towards the image's right, about the point (100, 100).
    dx, dy = 30 * np.cos(np.pi / 6), 30 * np.sin(np.pi / 6)
    right_eye, left_eye = (100 - dx, 100 + dy), (100 + dx, 100 - dy)
    for x, y in (right_eye, left_eye):
        cv2.circle(canvas, (round(x), round(y)), 4, 255, -1)
    detection = Detection(Box(50, 50, 100, 100), 0.9, (right_eye, left_eye, (100, 120), (90, 140), (110, 140)))
    assert eye_angle(detection.landmarks) == pytest.approx(-30)
    level = crop_face(canvas, detection, FaceFraming(level_eyes=True))
    assert level.shape == (100, 100)
    spots, _ = cv2.findContours((level > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    centres = [c.reshape(-1, 2).mean(axis=0) for c in spots]
    assert len(centres) == 2 and abs(centres[0][1] - centres[1][1]) < 1.5
    assert abs(centres[0][0] - centres[1][0]) == pytest.approx(60, abs=2)  # still 60 px apart
    # Without landmarks (Haar) levelling does nothing.
    plain = crop_face(canvas, Box(50, 50, 100, 100), FaceFraming(level_eyes=True))
    np.testing.assert_array_equal(plain, canvas[50:150, 50:150])
