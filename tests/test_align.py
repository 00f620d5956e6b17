import math

import cv2
import numpy as np
import pytest

from fer_core.inference.align import (
    FER2013_TEMPLATE,
    aligned_crop,
    alignment,
    face_crop,
    fit_similarity,
    zoomed,
)
from fer_core.inference.boxes import Box, Detection
from fer_core.inference.detect import DEFAULT_FRAMING, FER2013_FRAMING, DetectorConfig, detect
from fer_core.inference.framing import CROP_ZOOM, FaceFraming, crop_face
from fer_core.training.data import load_dataset
from fer_core.training.scenes import ScenePose, centred_pose, paste_face


def _dot_centres(gray: np.ndarray) -> np.ndarray:
    spots, _ = cv2.findContours((gray > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return np.array([c.reshape(-1, 2).mean(axis=0) for c in spots])


def _landmark_scene(pose: ScenePose, side: int = 400):
    """Five white dots where FER2013's template lands under `pose`, and the Detection a detector would give."""
    matrix = pose.face_to_scene()
    points = FER2013_TEMPLATE @ matrix[:, :2].T + matrix[:, 2]
    canvas = np.zeros((side, side), np.uint8)
    for x, y in points:
        cv2.circle(canvas, (round(x), round(y)), 3, 255, -1)
    corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]]) @ matrix[:, :2].T + matrix[:, 2]
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    box = Box(round(x0), round(y0), round(x1 - x0), round(y1 - y0))
    return canvas, Detection(box, 0.9, tuple(map(tuple, points)))


def test_the_fitted_similarity_is_the_one_that_made_the_points():
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = math.radians(23), 0.37, np.array([4.0, -9.0])
    linear = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    target = source @ linear.T + shift
    np.testing.assert_allclose(fit_similarity(source, target), np.hstack([linear, shift[:, None]]), atol=1e-9)


@pytest.mark.parametrize("pose", [ScenePose(160, 0.0, (200, 200)), ScenePose(120, 25.0, (150, 260)),
                                  ScenePose(230, -18.0, (230, 180))])
def test_a_turned_scaled_shifted_face_comes_back_at_the_template_pose(pose):
    canvas, detection = _landmark_scene(pose)
    fit = alignment(detection.landmarks)
    assert fit.misfit < 0.01
    assert fit.angle == pytest.approx(pose.angle, abs=1.0)
    assert fit.face_px == pytest.approx(pose.face_px, rel=0.03)
    for zoom in (1.0, CROP_ZOOM):
        crop = aligned_crop(canvas, detection, zoom)
        assert crop is not None and crop.shape[0] == crop.shape[1] == round(pose.face_px / zoom)
        found = _dot_centres(crop) / crop.shape[0]
        assert len(found) == 5
        # Each dot lies where the template, zoomed about the frame's centre, puts it (matched to the nearest
        # template point), within 1.5% of the side.
        template = 0.5 + (FER2013_TEMPLATE - 0.5) * zoom
        nearest = np.min(np.linalg.norm(found[:, None] - template[None], axis=2), axis=1)
        assert nearest.max() < 0.015


def test_implausible_landmarks_fall_back_to_the_box_framing():
    canvas, detection = _landmark_scene(ScenePose(160, 0.0, (200, 200)))
    framing = FaceFraming(square=True, scale=1.1)
    upside_down = Detection(detection.box, 0.9, tuple(reversed(detection.landmarks)))
    far_away = Detection(Box(0, 0, 40, 40), 0.9, detection.landmarks)  # landmarks outside the box
    squashed = Detection(detection.box, 0.9, tuple((x, 200.0) for x, _ in detection.landmarks))
    for bad in (upside_down, far_away, squashed):
        assert aligned_crop(canvas, bad) is None
        np.testing.assert_array_equal(face_crop(canvas, bad, framing), crop_face(canvas, bad, framing))
    # Boxes alone (Haar, or a caller's boxes) and align=False take the box framing too.
    np.testing.assert_array_equal(face_crop(canvas, detection.box, framing), crop_face(canvas, detection.box, framing))
    np.testing.assert_array_equal(face_crop(canvas, detection, framing, align=False),
                                  crop_face(canvas, detection, framing))
    assert face_crop(canvas, detection, framing).shape == (round(160 / CROP_ZOOM),) * 2


def test_tiny_and_huge_faces_keep_a_sensible_crop_size():
    small_canvas, small = _landmark_scene(ScenePose(30, 0.0, (60, 60)))
    assert aligned_crop(small_canvas, small).shape == (48, 48)
    big_canvas, big = _landmark_scene(ScenePose(700, 5.0, (400, 400)), side=800)
    assert aligned_crop(big_canvas, big).shape == (256, 256)
    np.testing.assert_allclose(zoomed(np.array([[1.0, 0, 0], [0, 1.0, 0]]), 2.0), [[2, 0, -0.5], [0, 2, -0.5]])


def test_the_box_framings_derive_from_the_measured_template():
    # Haar has no landmarks; its framing and YuNet's fallback come from benchmarks/fer2013_template.py and
    # centre the crop close to the box (FER2013's faces fill their boxes).
    for method in ("yunet", "haar"):
        framing = FER2013_FRAMING[method]
        assert framing.square and 0.9 <= framing.scale <= 1.1
        assert abs(framing.shift_x) < 0.05 and abs(framing.shift_y) < 0.05
        # The default shows the face CROP_ZOOM times larger, as aligned crops do.
        assert DEFAULT_FRAMING[method].scale == pytest.approx(framing.scale / CROP_ZOOM)


@pytest.fixture(scope="module")
def real_faces(fer_data_dir):
    test = load_dataset(fer_data_dir, "test")
    return test.images[np.linspace(0, len(test.images) - 1, 40).astype(int)]


def _face_to_aligned(face, pose):
    """For a face pasted at pose: the similarity from the face's own frame to the aligned frame, or None."""
    scene = paste_face(face, pose)
    found = detect(scene, DetectorConfig())
    if len(found) != 1 or found[0].landmarks is None or aligned_crop(scene, found[0]) is None:
        return None
    image_to_face = alignment(found[0].landmarks).image_to_face
    face_to_scene = pose.face_to_scene()
    return np.hstack([image_to_face[:, :2] @ face_to_scene[:, :2],
                      (image_to_face[:, :2] @ face_to_scene[:, 2] + image_to_face[:, 2])[:, None]])


def test_real_faces_turned_scaled_and_shifted_come_back_at_the_pose_they_have_upright(real_faces):
    """A FER2013 face pasted turned by 25 degrees, scaled and shifted is aligned as it is upright and centred:
    what is left is YuNet's landmark noise, not the pose."""
    angles, scales, shifts = [], [], []
    for i, face in enumerate(real_faces):
        pose = ScenePose(150 + 2 * i, 25.0 if i % 2 else -25.0, (170 + i, 210 - i))
        upright, turned = _face_to_aligned(face, centred_pose()), _face_to_aligned(face, pose)
        if upright is None or turned is None:
            continue
        angles.append(math.degrees(math.atan2(turned[1, 0], turned[0, 0]) - math.atan2(upright[1, 0], upright[0, 0])))
        scales.append(math.hypot(*turned[:, 0]) / math.hypot(*upright[:, 0]))
        centre = np.array([0.5, 0.5, 1.0])  # where the face frame's centre ends up
        shifts.append(float(np.hypot(*(turned @ centre - upright @ centre))))
    assert len(angles) >= 30, "YuNet should find and align most of these faces in both scenes"
    # Unaligned, the turned crops would be 25 degrees off; aligned, what is left is YuNet's landmark error, which
    # grows with the roll (about 6 degrees at 25, 3 at 15).
    assert np.median(np.abs(angles)) < 9 and np.percentile(np.abs(angles), 90) < 16
    print(f"residual: angle {np.median(np.abs(angles)):.1f} deg, scale {np.median(np.abs(np.log(scales))):.3f}, "
          f"centre {np.median(shifts):.3f} face units (medians)")
    assert np.median(np.abs(np.log(scales))) < 0.2
    assert np.median(shifts) < 0.12


def test_real_faces_upright_align_close_to_their_own_frame(real_faces):
    """The template is FER2013's median pose, so a FER2013 face pasted upright is aligned close to its own 48x48
    frame: typical faces need little turning, scaling or shifting."""
    transforms = [t for t in (_face_to_aligned(face, centred_pose()) for face in real_faces) if t is not None]
    assert len(transforms) >= 30
    angles = [abs(math.degrees(math.atan2(t[1, 0], t[0, 0]))) for t in transforms]
    scales = [abs(math.log(math.hypot(*t[:, 0]))) for t in transforms]
    shifts = [float(np.hypot(*(t @ np.array([0.5, 0.5, 1.0]) - 0.5))) for t in transforms]
    assert np.median(angles) < 5 and np.median(scales) < 0.15 and np.median(shifts) < 0.08
