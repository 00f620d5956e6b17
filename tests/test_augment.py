import numpy as np

from fer_core.training.augment import augment_batch, flip_batch


def _faces(n=64):
    return np.random.default_rng(3).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def test_flip_batch_mirrors_some_faces_and_leaves_the_rest_untouched():
    faces = _faces()
    out = flip_batch(faces, np.random.default_rng(0))
    mirrored = (out == faces[:, :, ::-1]).all(axis=(1, 2))
    unchanged = (out == faces).all(axis=(1, 2))
    assert np.all(mirrored ^ unchanged)
    assert 10 < mirrored.sum() < 54
    assert out.dtype == np.uint8 and out.shape == faces.shape


def test_flip_batch_is_seeded_and_does_not_write_into_its_input():
    faces = _faces()
    before = faces.copy()
    a = flip_batch(faces, np.random.default_rng(5))
    b = flip_batch(faces, np.random.default_rng(5))
    assert np.array_equal(a, b) and np.array_equal(faces, before)


def test_augment_batch_changes_faces_beyond_mirroring():
    faces = _faces(16)
    out = augment_batch(faces, np.random.default_rng(0))
    assert not ((out == faces).all(axis=(1, 2)) | (out == faces[:, :, ::-1]).all(axis=(1, 2))).any()
