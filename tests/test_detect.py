import numpy as np
import pytest

from conftest import face_scene
from fer_core.detect import Box, DetectorConfig, detect_faces, expand_box


def _overlap(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / float(aw * ah + bw * bh - inter)


@pytest.mark.parametrize("image", [
    np.zeros((480, 640, 3), np.uint8),
    np.full((480, 640, 3), 255, np.uint8),
    np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
    np.zeros((1, 1, 3), np.uint8),
])
def test_no_face_gives_no_boxes(image):
    assert detect_faces(image) == []


def test_expand_box_grows_and_clips():
    assert expand_box(Box(10, 10, 20, 20), 0.25, 100, 100) == Box(5, 5, 30, 30)
    assert expand_box(Box(0, 0, 20, 20), 0.5, 25, 25) == Box(0, 0, 25, 25)
    assert expand_box(Box(90, 90, 20, 20), 0.0, 100, 100) == Box(90, 90, 10, 10)


def test_real_faces_are_found_where_they_were_pasted(fer_data_dir):
    found_total, pasted_total = 0, 0
    for seed in range(4):
        scene, pasted = face_scene(fer_data_dir, n_faces=3, face_px=150, seed=seed)
        boxes = detect_faces(scene, DetectorConfig(max_side=None))
        for box in boxes:
            assert max(_overlap(box, p) for p in pasted) > 0.3, f"box {box} is on no pasted face"
        found_total += sum(any(_overlap(b, p) > 0.3 for b in boxes) for p in pasted)
        pasted_total += len(pasted)
    # Haar finds about two thirds of FER2013 faces (many are tight crops, tilted or half-profile).
    assert found_total >= 0.5 * pasted_total, f"found {found_total} of {pasted_total} real faces"


def test_downscaled_detection_maps_boxes_to_original_pixels(fer_data_dir):
    scene, pasted = face_scene(fer_data_dir, n_faces=2, face_px=200, size=(720, 1280), seed=1)
    full = detect_faces(scene, DetectorConfig(max_side=None))
    small = detect_faces(scene, DetectorConfig(max_side=480))
    assert full and small
    for box in small:
        assert max(_overlap(box, p) for p in pasted) > 0.5
        assert 0 <= box.x and box.x + box.w <= 1280 and 0 <= box.y and box.y + box.h <= 720


def test_margin_and_min_face(fer_data_dir):
    scene, _ = face_scene(fer_data_dir, n_faces=3, face_px=150, seed=0)
    plain = detect_faces(scene)
    assert plain
    grown = detect_faces(scene, DetectorConfig(margin=0.2))
    assert len(grown) == len(plain)
    for p, g in zip(plain, grown, strict=True):
        assert g.x < p.x and g.y < p.y and g.x + g.w > p.x + p.w and g.y + g.h > p.y + p.h
    assert detect_faces(scene, DetectorConfig(min_face=400)) == []


def test_real_photos_beside_the_dataset(fer_data_dir):
    """The shared photos (next to FER2013): one face in the portrait, most of the five in the group."""
    import cv2

    photos = fer_data_dir.parent / "photos"
    assert photos.is_dir(), f"no photos folder at {photos}"
    image = cv2.imread(str(photos / "photo_5.jpg"))
    # The portrait's one real face is ~230 px; full-resolution Haar also fires once on a small patch of the
    # laptop below it (see benchmarks/detection_sweep.py), so only the large box is asserted.
    large = [b for b in detect_faces(image) if b.w >= 150]
    assert len(large) == 1
    assert 450 < large[0].x + large[0].w / 2 < 700 and large[0].y < 300  # her face, upper middle of the photo
    assert len(detect_faces(cv2.imread(str(photos / "photo_21.jpg")))) >= 4
