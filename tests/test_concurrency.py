"""The shared Predictor and the per-thread Haar cascades give the same answers under parallel calls."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from helpers import face_scene


def test_parallel_classification_matches_serial(tiny_model):
    predictor = Predictor.load(tiny_model)
    rng = np.random.default_rng(0)
    batches = [rng.random((int(rng.integers(1, 20)), 48, 48, 1), dtype=np.float32) for _ in range(24)]
    serial = [predictor.predict_proba(b) for b in batches]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(predictor.predict_proba, batches))
    for s, p in zip(serial, parallel, strict=True):
        np.testing.assert_allclose(p, s, atol=1e-6)


def test_parallel_analyze_matches_serial(tiny_model, fer_data_dir):
    analyzer = Analyzer(Predictor.load(tiny_model))
    scenes = [face_scene(fer_data_dir, n_faces=3, seed=seed)[0] for seed in range(6)]
    serial = [analyzer.analyze(scene) for scene in scenes]
    assert sum(map(len, serial)) >= 6
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(analyzer.analyze, scenes * 3))
    for i, results in enumerate(parallel):
        expected = serial[i % len(scenes)]
        assert [r.box for r in results] == [r.box for r in expected]
        for got, want in zip(results, expected, strict=True):
            assert got.emotion == want.emotion
            np.testing.assert_allclose(list(got.scores.values()), list(want.scores.values()), atol=1e-6)
