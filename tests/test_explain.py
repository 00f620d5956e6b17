import keras
import numpy as np
import pytest

from fer_core.inference.explain import cam_networks, grad_cam, last_conv_layer, occlusion, overlay, saliency
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import preprocess_face
from fer_core.training.ensemble import average_models
from helpers import face_scene


@pytest.fixture(scope="module")
def predictor(tiny_model):
    return Predictor.load(tiny_model)


def _crop(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (90, 70, 3), dtype=np.uint8)


def test_heatmap_has_the_crop_shape_and_unit_range(predictor):
    heat = saliency(predictor, _crop(), "happy")
    assert heat.shape == (90, 70) and heat.dtype == np.float32
    assert 0.0 <= heat.min() and heat.max() <= 1.0
    assert overlay(_crop(), heat).shape == (90, 70, 3)


def test_grad_cam_uses_a_spatial_convolution_and_changes_with_the_target(predictor, fer_data_dir):
    assert last_conv_layer(predictor.model) is not None
    scene, boxes = face_scene(fer_data_dir, n_faces=1, seed=0)
    x, y, w, h = boxes[0]
    crop = scene[y:y + h, x:x + w]
    maps = [saliency(predictor, crop, emotion) for emotion in predictor.labels]
    assert all(m.shape == (h, w) for m in maps)
    assert max(float(np.abs(maps[0] - m).max()) for m in maps[1:]) > 0.05


def test_occlusion_changes_with_the_target(predictor):
    face = preprocess_face(_crop(1))
    a, b = occlusion(predictor, face, 3), occlusion(predictor, face, 4)
    assert a.shape == (48, 48) and not np.allclose(a, b)
    assert grad_cam(predictor.model, face, 3).shape == (48, 48)


def test_an_ensemble_gets_grad_cam_through_its_members(predictor, tiny_model):
    twice = average_models([predictor.model, keras.models.load_model(tiny_model, compile=False)])
    assert last_conv_layer(twice) is None and len(cam_networks(twice)) == 2
    face = preprocess_face(_crop(2))
    # Two copies of one network: the mean's evidence is that network's, so the normalised maps agree.
    np.testing.assert_allclose(grad_cam(twice, face, 3), grad_cam(predictor.model, face, 3), atol=1e-4)
    assert not np.allclose(grad_cam(twice, face, 3), grad_cam(twice, face, 4))


def test_grad_cam_follows_the_weights_through_an_ensemble_of_ensembles(predictor, tiny_model):
    network = predictor.model
    other = keras.models.clone_model(network)  # the same shape, freshly initialised weights
    pair = average_models([network, keras.models.load_model(tiny_model, compile=False)])
    nested = average_models([pair, other], weights=[0.6, 0.4])
    assert [round(share, 6) for _, share in cam_networks(nested)] == [0.3, 0.3, 0.4]
    face = preprocess_face(_crop(3))
    only_first = average_models([pair, other], weights=[1.0, 0.0])
    np.testing.assert_allclose(grad_cam(only_first, face, 3), grad_cam(network, face, 3), atol=1e-4)
    assert not np.allclose(grad_cam(nested, face, 3), grad_cam(network, face, 3), atol=1e-3)
