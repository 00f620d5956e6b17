import numpy as np

from fer_core.training.augment import augment_batch, flip_batch, mix_batch


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


def _flat_faces_and_targets(n=32):
    """Face i is uniformly i / n; its target is one-hot on class i, so that every pair can be told apart."""
    values = np.arange(n, dtype=np.float32) / n
    x = np.broadcast_to(values[:, None, None, None], (n, 48, 48, 1)).copy()
    return values, x, np.eye(n, dtype=np.float32)


def test_mixup_blends_faces_and_targets_by_the_same_weight():
    values, x, y = _flat_faces_and_targets()
    mixed, targets = mix_batch(x, y, np.random.default_rng(1), mixup_alpha=0.4)
    assert mixed.shape == x.shape and targets.shape == y.shape
    assert np.allclose(targets.sum(axis=1), 1.0)
    blended = 0
    for i in range(len(x)):
        face = mixed[i, ..., 0]
        assert np.allclose(face, face[0, 0])  # a blend of two flat faces is flat
        own = targets[i, i]
        assert own >= 0.5 - 1e-6  # the face keeps the larger share
        others = np.flatnonzero(targets[i] * (np.arange(len(x)) != i) > 1e-7)
        if len(others):
            (j,) = others
            assert np.isclose(face[0, 0], own * values[i] + (1 - own) * values[j], atol=1e-5)
            blended += 1
        else:
            assert np.isclose(face[0, 0], values[i])  # paired with itself
    assert blended > len(x) // 2


def test_cutmix_pastes_a_box_and_mixes_targets_by_its_area():
    values, x, y = _flat_faces_and_targets()
    mixed, targets = mix_batch(x, y, np.random.default_rng(2), cutmix_prob=1.0)
    pasted = ~np.isclose(mixed[..., 0], values[:, None, None])
    share = pasted.reshape(len(x), -1).mean(axis=1)
    assert share.max() > 0
    assert np.allclose(targets.sum(axis=1), 1.0)
    for i in range(len(x)):
        if share[i] > 0:
            assert np.isclose(targets[i, i], 1 - share[i], atol=1e-6)
            rows, cols = np.nonzero(pasted[i])
            assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one rectangle
        else:
            assert np.isclose(targets[i, i], 1)  # paired with itself


def test_mixing_off_returns_the_batch_unchanged_and_is_seeded():
    _, x, y = _flat_faces_and_targets()
    same_x, same_y = mix_batch(x, y, np.random.default_rng(0))
    assert same_x is x and same_y is y
    a = mix_batch(x, y, np.random.default_rng(7), mixup_alpha=0.3, cutmix_prob=0.5)
    b = mix_batch(x, y, np.random.default_rng(7), mixup_alpha=0.3, cutmix_prob=0.5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
