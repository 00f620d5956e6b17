import json

import numpy as np
import pytest

from fer_core.errors import ModelLoadError
from fer_core.inference import yunet
from fer_core.inference.boxes import same_face
from fer_core.inference.detect import Box, DetectorConfig, detect, detect_faces, expand_box
from helpers import REPO_ROOT, face_scene

METHODS = ["yunet", "haar"]


def _overlap(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / float(aw * ah + bw * bh - inter)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("image", [
    np.zeros((480, 640, 3), np.uint8),
    np.full((480, 640, 3), 255, np.uint8),
    np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
    np.zeros((1, 1, 3), np.uint8),
    np.zeros((1, 65), np.uint8),  # YuNet returns infinite boxes for it (found by test_properties)
])
def test_no_face_gives_no_boxes(image, method):
    assert detect_faces(image, DetectorConfig(method=method)) == []


def test_expand_box_grows_and_clips():
    assert expand_box(Box(10, 10, 20, 20), 0.25, 100, 100) == Box(5, 5, 30, 30)
    assert expand_box(Box(0, 0, 20, 20), 0.5, 25, 25) == Box(0, 0, 25, 25)
    assert expand_box(Box(90, 90, 20, 20), 0.0, 100, 100) == Box(90, 90, 10, 10)


@pytest.mark.parametrize("method", METHODS)
def test_real_faces_are_found_where_they_were_pasted(fer_data_dir, method):
    found_total, pasted_total = 0, 0
    for seed in range(4):
        scene, pasted = face_scene(fer_data_dir, n_faces=3, face_px=150, seed=seed)
        boxes = detect_faces(scene, DetectorConfig(method=method, max_side=None))
        for box in boxes:
            assert max(_overlap(box, p) for p in pasted) > 0.3, f"box {box} is on no pasted face"
        found_total += sum(any(_overlap(b, p) > 0.3 for b in boxes) for p in pasted)
        pasted_total += len(pasted)
    # Haar finds about two thirds of FER2013 faces (many are tight crops, tilted or half-profile).
    assert found_total >= 0.5 * pasted_total, f"found {found_total} of {pasted_total} real faces"


@pytest.mark.parametrize("method", METHODS)
def test_downscaled_detection_maps_boxes_to_original_pixels(fer_data_dir, method):
    scene, pasted = face_scene(fer_data_dir, n_faces=2, face_px=200, size=(720, 1280), seed=1)
    full = detect_faces(scene, DetectorConfig(method=method, max_side=None))
    small = detect_faces(scene, DetectorConfig(method=method, max_side=480))
    assert full and small
    for box in small:
        assert max(_overlap(box, p) for p in pasted) > 0.5
        assert 0 <= box.x and box.x + box.w <= 1280 and 0 <= box.y and box.y + box.h <= 720


@pytest.mark.parametrize("method", METHODS)
def test_margin_and_min_face(fer_data_dir, method):
    scene, _ = face_scene(fer_data_dir, n_faces=3, face_px=150, seed=0)
    plain = detect_faces(scene, DetectorConfig(method=method))
    assert plain
    grown = detect_faces(scene, DetectorConfig(method=method, margin=0.2))
    assert len(grown) == len(plain)
    for p, g in zip(plain, grown, strict=True):
        assert g.x < p.x and g.y < p.y and g.x + g.w > p.x + p.w and g.y + g.h > p.y + p.h
    assert detect_faces(scene, DetectorConfig(method=method, min_face=400)) == []


def test_real_photos_beside_the_dataset(fer_data_dir):
    """The shared photos (next to FER2013): one face in the portrait, most of the five in the group."""
    import cv2

    photos = fer_data_dir.parent / "photos"
    assert photos.is_dir(), f"no photos folder at {photos}"
    image = cv2.imread(str(photos / "photo_5.jpg"))
    # The portrait's one real face is ~230 px; full-resolution Haar also fires once on a small patch of the
    # laptop below it (see benchmarks/detection_sweep.py), so only the large box is asserted.
    large = [b for b in detect_faces(image, DetectorConfig(method="haar")) if b.w >= 150]
    assert len(large) == 1
    assert 450 < large[0].x + large[0].w / 2 < 700 and large[0].y < 300  # her face, upper middle of the photo
    assert len(detect_faces(cv2.imread(str(photos / "photo_21.jpg")), DetectorConfig(method="haar"))) >= 4


def test_yunet_gives_a_score_and_five_landmarks_inside_each_face(fer_data_dir):
    scene, pasted = face_scene(fer_data_dir, n_faces=3, face_px=150, seed=0)
    found = detect(scene, DetectorConfig(method="yunet"))
    assert found
    for detection in found:
        x, y, w, h = detection.box
        assert 0.6 <= detection.score <= 1.0 and len(detection.landmarks) == 5
        right_eye, left_eye, nose, right_mouth, left_mouth = detection.landmarks
        assert all(x - 0.1 * w <= px <= x + 1.1 * w and y - 0.1 * h <= py <= y + 1.1 * h
                   for px, py in detection.landmarks)
        # Upright faces: the eyes above the nose above the mouth; the person's right eye on the image's left.
        assert max(right_eye[1], left_eye[1]) < nose[1] < min(right_mouth[1], left_mouth[1])
        assert right_eye[0] < left_eye[0] and right_mouth[0] < left_mouth[0]


def test_haar_scores_are_neighbour_counts_at_least_its_minimum(fer_data_dir):
    scene, _ = face_scene(fer_data_dir, n_faces=3, face_px=150, seed=0)
    found = detect(scene, DetectorConfig(method="haar", min_neighbors=5))
    assert found and all(d.score >= 5 and d.landmarks is None for d in found)


def test_a_higher_score_threshold_keeps_fewer_yunet_faces(fer_data_dir):
    scene, _ = face_scene(fer_data_dir, n_faces=3, face_px=150, seed=2)
    loose = detect(scene, DetectorConfig(method="yunet", score_threshold=0.3))
    assert all(d.score >= 0.3 for d in loose)
    strict = detect(scene, DetectorConfig(method="yunet", score_threshold=0.99, retry_threshold=None))
    assert len(strict) <= len(loose) and all(d.score >= 0.99 for d in strict)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown detector"):
        DetectorConfig(method="mtcnn")


def test_missing_or_broken_yunet_file_is_a_model_load_error(tmp_path, monkeypatch):
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ModelLoadError, match="not found"):
        yunet.detect_yunet(image, model=tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx graph" * 10)
    with pytest.raises(ModelLoadError, match="not a YuNet ONNX model"):
        yunet.detect_yunet(image, model=broken)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(yunet.MODEL_FILE.read_bytes()[:5000])
    with pytest.raises(ModelLoadError):
        yunet.detect_yunet(image, model=truncated)
    # detect() reports the same error when the shipped file is gone.
    monkeypatch.setattr(yunet, "MODEL_FILE", tmp_path / "absent.onnx")
    with pytest.raises(ModelLoadError):
        detect(image, DetectorConfig(method="yunet"))


def test_yunet_ships_with_its_license_and_source():
    folder = REPO_ROOT / "models" / "yunet"
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert "ShiqiYu/libfacedetection.train" in (folder / "README.md").read_text()
    assert yunet.MODEL_FILE.parent == folder and yunet.MODEL_FILE.stat().st_size == 232_589


def _photo_labels():
    return json.loads((REPO_ROOT / "benchmarks" / "photo_faces.json").read_text())["faces"]


@pytest.mark.parametrize(("method", "min_recall", "max_false"), [("yunet", 0.95, 2), ("haar", 0.75, 15)])
def test_both_detectors_on_the_real_photos(fer_data_dir, method, min_recall, max_false):
    """Against the hand-checked boxes of benchmarks/photo_faces.json: most faces found, few boxes on no face,
    and no face boxed twice."""
    import cv2

    photos = fer_data_dir.parent / "photos"
    found_faces, labelled, false_boxes = 0, 0, 0
    for name, faces in _photo_labels().items():
        boxes = detect_faces(cv2.imread(str(photos / name)), DetectorConfig(method=method))
        truth = [Box(*f) for f in faces]
        matched = [sum(same_face(b, t) for b in boxes) for t in truth]
        assert max(matched, default=0) <= 1, f"{method} boxed a face of {name} twice"
        found_faces += sum(m > 0 for m in matched)
        labelled += len(truth)
        false_boxes += sum(not any(same_face(b, t) for t in truth) for b in boxes)
    assert found_faces >= min_recall * labelled, f"{method} found {found_faces} of {labelled} faces"
    assert false_boxes <= max_false, f"{method} drew {false_boxes} boxes on no labelled face"


def test_an_image_with_no_confident_face_keeps_its_less_confident_ones(monkeypatch):
    from fer_core.inference import detect as detect_module
    from fer_core.inference.boxes import Detection

    scores = {"found": [0.9, 0.45, 0.2]}
    asked = []

    def fake_yunet(image, threshold):
        asked.append(threshold)
        return [Detection(Box(100 * i, 10, 60, 70), s) for i, s in enumerate(scores["found"]) if s >= threshold]

    monkeypatch.setattr(detect_module, "detect_yunet", fake_yunet)
    image = np.zeros((200, 400, 3), np.uint8)
    # One confident face: the less confident ones stay out, as without a retry threshold.
    assert [d.score for d in detect(image, DetectorConfig())] == [0.9]
    assert asked == [0.3]  # one YuNet pass at the lower of the two thresholds
    # None confident: those above the retry threshold are kept; with the retry off (the camera's), none.
    scores["found"] = [0.5, 0.45, 0.2]
    assert [d.score for d in detect(image, DetectorConfig())] == [0.5, 0.45]
    assert detect(image, DetectorConfig(retry_threshold=None)) == []
    # A retry threshold above the score threshold changes nothing.
    assert [d.score for d in detect(image, DetectorConfig(score_threshold=0.4, retry_threshold=0.7))] == [0.5, 0.45]
