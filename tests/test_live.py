import numpy as np
import pytest

import fer_core.inference.live as live_module
from fer_core.inference.boxes import Box, Detection
from fer_core.inference.live import LiveAnalyzer, LiveSettings
from fer_core.inference.predictor import Predictor


@pytest.fixture()
def live(tiny_model):
    return LiveAnalyzer(Predictor.load(tiny_model), LiveSettings(detect_every=3))


def test_detects_every_nth_frame_and_tracks_between(live, monkeypatch):
    calls = []

    def fake_detect(frame, config):
        calls.append(len(calls))
        shift = 2 * len(calls)
        return [Detection(Box(20 + shift, 30, 80, 80), 1.0), Detection(Box(200 + shift, 40, 90, 90), 1.0)]

    monkeypatch.setattr(live_module, "detect", fake_detect)
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    outputs = [live.process(frame, timestamp=i / 30) for i in range(9)]
    assert len(calls) == 3  # frames 0, 3, 6
    assert all([r.face_id for r in out] == [1, 2] for out in outputs)
    for out in outputs:
        for r in out:
            assert r.emotion in live.labels and sum(r.scores.values()) == pytest.approx(1, abs=1e-4)


def test_no_faces_and_redetection_when_tracks_are_empty(live, monkeypatch):
    calls = []
    monkeypatch.setattr(live_module, "detect", lambda frame, config: calls.append(1) or [])
    frame = np.zeros((120, 160, 3), np.uint8)
    assert [live.process(frame, i / 30) for i in range(4)] == [[], [], [], []]
    assert len(calls) == 4  # nothing tracked, so every frame looks for faces


def test_settings_change_between_frames(live):
    from fer_core.inference.detect import DetectorConfig

    live.update_settings(detector=DetectorConfig(min_neighbors=2), detect_every=1)
    assert live.analyzer.detector.min_neighbors == 2 and live.settings.detect_every == 1


def test_real_faces_keep_their_ids_while_moving(tiny_model, fer_data_dir):
    from helpers import face_scene

    scene, _ = face_scene(fer_data_dir, n_faces=3, seed=0)
    live = LiveAnalyzer(Predictor.load(tiny_model))
    ids = []
    for i in range(12):
        frame = np.roll(scene, 2 * i, axis=1)  # the faces drift right by 2 px per frame
        ids.append(sorted(r.face_id for r in live.process(frame, i / 30)))
    assert ids[0] and all(frame_ids == ids[0] for frame_ids in ids)


def test_the_camera_model_follows_its_own_override_then_fer_model(monkeypatch, tiny_model):
    from fer_core.runs import registry
    monkeypatch.delenv("FER_MODEL", raising=False)
    monkeypatch.delenv("FER_LIVE_MODEL", raising=False)
    expected = registry.MODELS_DIR / (registry.CAMERA_MODEL or registry.DEFAULT_MODEL) / "model.keras"
    assert registry.camera_model_path() == expected
    monkeypatch.setenv("FER_MODEL", "/elsewhere/model.keras")
    assert str(registry.camera_model_path()) == "/elsewhere/model.keras"
    monkeypatch.setenv("FER_LIVE_MODEL", str(tiny_model))
    assert registry.camera_model_path() == tiny_model and str(registry.default_model_path()) == "/elsewhere/model.keras"
    assert LiveAnalyzer().analyzer.predictor.name == tiny_model.parent.name


def test_between_detections_a_face_is_cropped_as_it_was_last_detected(live, monkeypatch):
    """Each frame's crops come from the latest detections, landmarks included, so a face aligned on a detection
    frame stays aligned, not box-framed, on the frames tracked in between."""
    landmarks = ((40.0, 60.0), (80.0, 60.0), (60.0, 80.0), (45.0, 95.0), (75.0, 95.0))

    def fake_detect(frame, config):
        return [Detection(Box(20, 30, 80, 90), 0.9, landmarks)]

    classified = []
    original = live.analyzer.classify
    monkeypatch.setattr(live_module, "detect", fake_detect)
    monkeypatch.setattr(live.analyzer, "classify",
                        lambda frame, faces: classified.append(faces) or original(frame, faces))
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for i in range(6):
        live.process(frame, timestamp=i / 30)
    assert len(classified) == 6
    assert all(faces == [Detection(Box(20, 30, 80, 90), 0.9, landmarks)] for faces in classified)
    live.reset()
    assert live.last_detection == {}
