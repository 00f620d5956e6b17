"""The ImageNet MobileNetV2 rebuilt in Keras against torchvision's forward pass of the same checkpoint.

The reference below is torchvision's MobileNetV2 written out in numpy on the checkpoint's own NCHW/OIHW tensors
(symmetric padding, batch norm with epsilon 1e-5, ReLU6), independent of the Keras layout and of the transposes in
`load_torchvision_weights`.
"""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from numpy_convnet import SIZE, assert_face_probabilities, assert_imagenet_logits_match, batch_norm, conv  # noqa: E402

from fer_core.training.pretrained import (  # noqa: E402
    imagenet_classifier,
    load_torchvision_weights,
    mobilenet_v2_faces,
    rgb_backbone_input,
    weights_path,
)
from fer_core.training.torch_weights import LEGACY_MAGIC, read_state_dict  # noqa: E402

TORCHVISION_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                        (6, 320, 1, 1)]


@pytest.fixture(scope="module")
def state() -> dict[str, np.ndarray]:
    return read_state_dict(weights_path())


def _bn(x: np.ndarray, state: dict[str, np.ndarray], key: str) -> np.ndarray:
    return batch_norm(x, state, key, 1e-5)


def _conv_bn_relu(x, state, key, stride=1, depthwise=False):
    return np.clip(_bn(conv(x, state[f"{key}.0.weight"], stride, depthwise), state, f"{key}.1"), 0, 6)


def torchvision_logits(image_chw: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
    x = _conv_bn_relu(image_chw.astype(np.float64), state, "features.0", stride=2)
    channels, index = 32, 1
    for expansion, out_channels, repeats, first_stride in TORCHVISION_SETTINGS:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            key, h, part = f"features.{index}.conv", x, 0
            if expansion != 1:
                h = _conv_bn_relu(h, state, f"{key}.0")
                part = 1
            h = _conv_bn_relu(h, state, f"{key}.{part}", stride=stride, depthwise=True)
            h = _bn(conv(h, state[f"{key}.{part + 1}.weight"], 1, False), state, f"{key}.{part + 2}")
            x = x + h if stride == 1 and channels == out_channels else h
            channels, index = out_channels, index + 1
    x = _conv_bn_relu(x, state, f"features.{index}")
    pooled = x.mean(axis=(1, 2))
    return state["classifier.1.weight"] @ pooled + state["classifier.1.bias"]


def test_checkpoint_reads_without_torch_into_torchvision_shapes(state) -> None:
    assert len([k for k in state if not k.endswith("num_batches_tracked")]) == 262
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert state["features.1.conv.0.0.weight"].dtype == np.float32


def test_keras_network_gives_torchvisions_imagenet_logits(state) -> None:
    model = imagenet_classifier(SIZE)
    assert load_torchvision_weights(model, state) == 2 * 52 + 1
    assert_imagenet_logits_match(model, lambda image: torchvision_logits(image, state))


def test_face_model_takes_the_products_input_and_starts_from_imagenet(state) -> None:
    model = mobilenet_v2_faces(7)
    first_conv = model.get_layer("features_0__conv").get_weights()[0]
    np.testing.assert_array_equal(first_conv, state["features.0.0.weight"].transpose(2, 3, 1, 0))
    assert_face_probabilities(model)


@pytest.mark.parametrize("size", [96, 64, 48])
def test_the_backbone_sees_the_face_whole_at_its_size(size: int) -> None:
    """A left-to-right ramp stays a ramp, end to end, at every backbone size, 64 px's up-then-average included."""
    faces = keras.Input((48, 48, 1))
    resize = keras.Model(faces, rgb_backbone_input(faces, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), size))
    ramp = np.tile(np.linspace(0, 1, 48, dtype=np.float32), (48, 1))[None, :, :, None]
    rgb = np.asarray(resize(ramp))
    assert rgb.shape == (1, size, size, 3)
    np.testing.assert_allclose(rgb[..., 0], rgb[..., 2])
    row = rgb[0, size // 2, :, 0]
    assert np.all(np.diff(row) >= -1e-6) and row[0] < 0.02 and row[-1] > 0.98
    np.testing.assert_allclose(rgb[0, :, :, 0], np.tile(row, (size, 1)), atol=1e-6)


@pytest.mark.parametrize("size", [96, 64])
def test_the_converted_face_model_gives_kerass_probabilities_at_every_batch_size(state, size: int) -> None:
    """A batch norm left in training mode by the export would normalise by each batch's statistics and update its
    own on every call: the answers would then depend on the batch and drift from call to call."""
    from fer_core.inference import tflite

    model = mobilenet_v2_faces(7, size=size)
    # Batch-norm statistics unlike ImageNet's, as fine-tuning leaves them, so that a training-mode export shows.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([gamma, beta, mean + 0.5, variance * 3.0])
    runner = tflite.TFLiteRunner(tflite.convert(model))
    faces = np.random.default_rng(1).uniform(0, 1, (40, 48, 48, 1)).astype(np.float32)
    expected = np.asarray(model(faces, training=False))
    for batch in (1, 7, 40, 1, 40):
        got = np.concatenate([runner(faces[i:i + batch]) for i in range(0, len(faces), batch)])
        np.testing.assert_allclose(got, expected, atol=2e-4)


def test_a_checkpoint_that_names_other_code_is_refused(tmp_path) -> None:
    class RunsCode:
        def __reduce__(self):
            return (print, ("never printed",))

    path = tmp_path / "hostile.pth"
    with path.open("wb") as file:
        for part in (LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(part, file, protocol=2)
        pickle.dump({"weight": RunsCode()}, file, protocol=2)
        pickle.dump([], file, protocol=2)
        file.write(struct.pack("<q", 0))
    with pytest.raises(pickle.UnpicklingError, match=r"builtin_*\.print, which is not a tensor"):
        read_state_dict(path)
