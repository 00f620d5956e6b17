import numpy as np
import pytest

from fer_core.inference.tta import MULTI_GRID, TTA_MODES, best_tta_mode, tta_mode, tta_views, view_count


def _faces(n=3, seed=0):
    return np.random.default_rng(seed).random((n, 48, 48, 1), dtype=np.float32)


@pytest.mark.parametrize("mode", TTA_MODES)
def test_views_have_the_documented_count_and_start_with_the_faces(mode):
    faces = _faces()
    views = tta_views(faces, mode)
    assert views.shape == (view_count(mode), *faces.shape) and views.dtype == np.float32
    np.testing.assert_array_equal(views[0], faces)


def test_mirror_and_multi_views_are_the_documented_transforms():
    faces = _faces()
    np.testing.assert_array_equal(tta_views(faces, "mirror")[1], faces[:, :, ::-1])
    views = tta_views(faces, "multi")
    assert len(views) == 2 * len(MULTI_GRID) == 18
    np.testing.assert_array_equal(views[len(MULTI_GRID)], faces[:, :, ::-1])
    # A bright dot moves 2 px right in the (2, 0) view and stays put in the zoom and rotation centre.
    dot = np.zeros((1, 48, 48, 1), np.float32)
    dot[0, 20, 10, 0] = 1.0
    shifted = tta_views(dot, "multi")[MULTI_GRID.index((2, 0, 1.0, 0.0))]
    assert np.unravel_index(shifted[0, :, :, 0].argmax(), (48, 48)) == (20, 12)
    assert 0.0 <= views.min() and views.max() <= 1.0


def test_tta_mode_accepts_the_old_bools_and_refuses_unknown_modes():
    assert tta_mode(True) == "mirror" and tta_mode(False) == "none" and tta_mode("multi") == "multi"
    with pytest.raises(ValueError, match="unknown TTA mode"):
        tta_mode("crops")


@pytest.mark.parametrize(("accuracies", "expected"), [
    ({"none": 0.5, "mirror": 0.6, "multi": 0.7}, "multi"),
    ({"none": 0.5, "mirror": 0.6, "multi": 0.6}, "mirror"),  # a tie goes to the cheaper mode
    ({"none": 0.6609, "mirror": 0.6734, "multi": 0.6737}, "mirror"),  # one face more is not worth 9x the cost
    ({"none": 0.660, "mirror": 0.662, "multi": 0.670}, "multi"),
    ({"none": 0.6, "mirror": 0.6}, "none"),
    ({"none": 0.7, "multi": 0.6}, "none"),
    ({"mirror": 0.9}, "none"),  # nothing to compare with
    ({}, "none"),
])
def test_best_mode_is_the_most_accurate_unless_a_cheaper_one_is_as_good(accuracies, expected):
    evaluations = {"none": None, "mirror": None, "multi": None} | {m: {"accuracy": a} for m, a in accuracies.items()}
    assert best_tta_mode(evaluations) == expected
