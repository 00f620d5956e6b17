import numpy as np
import pytest

from fer_core.inference.detect import Box, DetectorConfig
from fer_core.inference.draw import draw_results
from fer_core.inference.framing import FaceFraming
from fer_core.inference.pipeline import Analyzer, FaceResult, analyze
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import preprocess_faces
from helpers import face_scene


@pytest.fixture(scope="module")
def analyzer(tiny_model):
    return Analyzer(Predictor.load(tiny_model))


def test_no_face_image_gives_empty_list(analyzer):
    assert analyzer.analyze(np.zeros((480, 640, 3), np.uint8)) == []
    assert analyze(np.zeros((240, 320, 3), np.uint8), analyzer=analyzer) == []


def test_classify_boxes_gives_results_consistent_with_the_predictor(analyzer):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    boxes = [Box(10, 20, 60, 60), Box(150, 40, 90, 100)]
    # The framing that crops exactly the box, and then the square one YuNet's boxes get by default.
    exact = Analyzer(analyzer.predictor, DetectorConfig(framing=FaceFraming()), tta="none")
    square = Analyzer(analyzer.predictor, DetectorConfig(framing=FaceFraming(square=True)), tta="none")
    results = exact.classify(image, boxes)
    squared = square.classify(image, boxes)
    assert squared[0].scores == results[0].scores  # a square box is its own square crop
    expected_square = analyzer.predictor.predict_proba(preprocess_faces([image[40:140, 145:245]]))
    np.testing.assert_allclose(list(squared[1].scores.values()), expected_square[0], atol=1e-6)
    crops = [image[20:80, 10:70], image[40:140, 150:240]]
    expected = analyzer.predictor.predict_proba(preprocess_faces(crops))
    assert [r.box for r in results] == boxes
    for result, p in zip(results, expected, strict=True):
        assert isinstance(result, FaceResult)
        assert list(result.scores) == list(analyzer.labels)
        np.testing.assert_allclose(list(result.scores.values()), p, atol=1e-6)
        assert result.emotion == analyzer.labels[int(np.argmax(p))]
        assert result.confidence == pytest.approx(float(p.max()))
        assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert results[0].to_dict()["box"] == [10, 20, 60, 60]


def test_analyze_real_faces(analyzer, fer_data_dir):
    scene, pasted = face_scene(fer_data_dir, n_faces=3, seed=0)
    results = analyzer.analyze(scene)
    assert 1 <= len(results) <= 3
    for r in results:
        assert r.emotion in analyzer.labels and 0 < r.confidence <= 1
    # Same faces through a different detection setting give the same boxes back in original pixels.
    again = analyze(scene, DetectorConfig(max_side=320), analyzer=analyzer)
    assert len(again) >= 1


def test_draw_results_returns_an_annotated_copy():
    image = np.zeros((200, 200, 3), np.uint8)
    results = [FaceResult(Box(50, 60, 80, 80), "happy", 0.9, {"happy": 0.9})]
    drawn = draw_results(image, results, numbered=True)
    assert drawn.shape == image.shape and drawn is not image
    assert image.sum() == 0 and drawn.sum() > 0
    assert drawn[60, 50:130].any()  # the box's top edge
    assert draw_results(np.zeros((50, 50), np.uint8), results).shape == (50, 50, 3)
