"""EfficientNet-Lite0 rebuilt in Keras against a numpy forward pass of the same PyTorch checkpoint.

The reference below follows the checkpoint's own modules on its NCHW/OIHW tensors (TensorFlow's "same" padding,
batch norm with epsilon 1e-3, ReLU6, no squeeze-and-excitation), independent of the Keras layout and of the
transposes in `load_checkpoint_weights`.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from numpy_convnet import SIZE, assert_face_probabilities, assert_imagenet_logits_match, batch_norm, conv  # noqa: E402

from fer_core.training.architectures import build_model  # noqa: E402
from fer_core.training.efficientnet_lite import (  # noqa: E402
    efficientnet_lite0_faces,
    imagenet_classifier,
    load_checkpoint_weights,
    weights_path,
)
from fer_core.training.torch_weights import read_state_dict  # noqa: E402

# (expansion, kernel, first stride, output channels, repeats): EfficientNet-Lite0 as Google's builder lists it.
LITE0_BLOCKS = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
                (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


@pytest.fixture(scope="module")
def state() -> dict[str, np.ndarray]:
    return read_state_dict(weights_path())


def _conv_bn(x, state, conv_key, bn_key, stride=1, depthwise=False, relu=True):
    x = batch_norm(conv(x, state[f"{conv_key}.weight"], stride, depthwise, tf_same=True), state, bn_key, 1e-3)
    return np.clip(x, 0, 6) if relu else x


def checkpoint_logits(image_chw: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
    x = _conv_bn(image_chw.astype(np.float64), state, "_conv_stem", "_bn0", stride=2)
    channels, index = 32, 0
    for expansion, kernel, first_stride, out_channels, repeats in LITE0_BLOCKS:
        for repeat in range(repeats):
            stride, key, h = (first_stride if repeat == 0 else 1), f"_blocks.{index}", x
            assert state[f"{key}._depthwise_conv.weight"].shape[-1] == kernel
            if expansion != 1:
                h = _conv_bn(h, state, f"{key}._expand_conv", f"{key}._bn0")
            h = _conv_bn(h, state, f"{key}._depthwise_conv", f"{key}._bn1", stride=stride, depthwise=True)
            h = _conv_bn(h, state, f"{key}._project_conv", f"{key}._bn2", relu=False)
            x = x + h if stride == 1 and channels == out_channels else h
            channels, index = out_channels, index + 1
    x = _conv_bn(x, state, "_conv_head", "_bn1")
    return state["_fc.weight"] @ x.mean(axis=(1, 2)) + state["_fc.bias"]


def test_checkpoint_holds_lite0s_sixteen_blocks(state) -> None:
    # 49 convolutions, each with a batch norm of four tensors, and the classifier's weight and bias.
    assert len([k for k in state if not k.endswith("num_batches_tracked")]) == 49 + 4 * 49 + 2
    assert max(int(k.split(".")[1]) for k in state if k.startswith("_blocks.")) == 15
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert not any("_se_" in k for k in state)


def test_keras_network_gives_the_checkpoints_imagenet_logits(state) -> None:
    model = imagenet_classifier(SIZE)
    # Every convolution and batch norm (stem, 16 blocks less the first's expansion, head) and the classifier.
    assert load_checkpoint_weights(model, state) == 2 * (1 + 16 * 3 - 1 + 1) + 1
    assert_imagenet_logits_match(model, lambda image: checkpoint_logits(image, state))


def test_face_model_is_an_architecture_that_starts_from_imagenet(state) -> None:
    model = build_model("efficientnet_lite0", 7)
    depthwise = model.get_layer("lite0-_blocks-5-_depthwise_conv").get_weights()[0]
    np.testing.assert_array_equal(depthwise, state["_blocks.5._depthwise_conv.weight"].transpose(2, 3, 0, 1))
    assert_face_probabilities(model)


def test_the_converted_face_model_gives_kerass_probabilities() -> None:
    from fer_core.inference import tflite

    model = efficientnet_lite0_faces(7)
    runner = tflite.TFLiteRunner(tflite.convert(model))
    faces = np.random.default_rng(1).uniform(0, 1, (9, 48, 48, 1)).astype(np.float32)
    expected = np.asarray(model(faces, training=False))
    for batch in (1, 9):
        got = np.concatenate([runner(faces[i:i + batch]) for i in range(0, len(faces), batch)])
        np.testing.assert_allclose(got, expected, atol=2e-4)
