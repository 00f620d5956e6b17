import cv2
import numpy as np
import pytest

from fer_core.inference.preprocess import preprocess_face, preprocess_faces, to_model_input


def _face(h=100, w=80):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_every_input_kind_gives_the_same_tensor():
    bgr = _face()
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (48, 48), interpolation=cv2.INTER_AREA)
    expected = cv2.equalizeHist(small).astype(np.float32)[..., None] / 255
    kinds = {
        "bgr": (bgr, "bgr"),
        "rgb": (bgr[:, :, ::-1].copy(), "rgb"),
        "bgra": (cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA), "bgr"),
        "rgba": (cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA), "rgb"),
        "gray": (gray, "bgr"),
        "gray_hw1": (gray[..., None], "bgr"),
    }
    for name, (image, order) in kinds.items():
        out = preprocess_face(image, channel_order=order)
        assert out.shape == (48, 48, 1) and out.dtype == np.float32, name
        np.testing.assert_allclose(out, expected, atol=1 / 255, err_msg=name)


@pytest.mark.parametrize("shape", [(10, 7), (48, 48), (300, 500), (1, 1)])
def test_any_size_maps_to_48x48_in_unit_range(shape):
    out = preprocess_face(np.full((*shape, 3), 255, np.uint8))
    assert out.shape == (48, 48, 1)
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out, 1.0)


def test_an_already_equalised_48x48_face_is_only_rescaled():
    face = np.arange(48 * 48, dtype=np.uint32).reshape(48, 48).astype(np.uint8)
    np.testing.assert_allclose(preprocess_face(face)[..., 0], face / np.float32(255), rtol=1e-6)
    np.testing.assert_array_equal(to_model_input(face[None])[0], preprocess_face(face))


def test_batch_and_rejections():
    assert preprocess_faces([]).shape == (0, 48, 48, 1)
    assert preprocess_faces([_face(), _face(30, 30)]).shape == (2, 48, 48, 1)
    with pytest.raises(TypeError):
        preprocess_face(np.zeros((48, 48), np.float32))
    with pytest.raises(ValueError):
        preprocess_face(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        preprocess_face(np.zeros((10, 10, 2), np.uint8))


def test_a_raw_face_and_its_equalised_copy_give_the_same_model_input():
    rng = np.random.default_rng(3)
    raw = np.clip(rng.normal(90, 12, (5, 48, 48)), 0, 255).astype(np.uint8)  # dim, low-contrast faces
    equalised = np.stack([cv2.equalizeHist(face) for face in raw])
    assert np.abs(raw.astype(int) - equalised).mean() > 40
    # Equalising an equalised face moves some pixels by one grey level (OpenCV rounds its mapping), no more.
    np.testing.assert_allclose(to_model_input(raw), to_model_input(equalised), rtol=0, atol=1.01 / 255)
    np.testing.assert_array_equal(preprocess_faces(list(raw)), to_model_input(raw))


def test_model_input_must_be_uint8():
    with pytest.raises(TypeError):
        to_model_input(np.zeros((2, 48, 48), np.float32))
