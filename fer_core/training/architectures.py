"""Keras 3 architectures behind one builder; backend-neutral (tensorflow, jax or torch)."""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, regularizers

from fer_core.errors import UsageError
from fer_core.inference.preprocess import INPUT_SIZE
from fer_core.training.efficientnet_lite import efficientnet_lite0_faces
from fer_core.training.pretrained import mobilenet_v2_64_faces, mobilenet_v2_faces

INPUT_SHAPE = (INPUT_SIZE, INPUT_SIZE, 1)


def mini_xception(num_classes: int, l2: float = 0.01) -> keras.Model:
    """Arriaga et al. 2017 mini-Xception: residual depthwise-separable blocks, ~60k parameters."""
    reg = regularizers.L2(l2)
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    for _ in range(2):
        x = layers.Conv2D(8, 3, use_bias=False, kernel_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    for filters in (16, 32, 64, 128):
        residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
        residual = layers.BatchNormalization()(residual)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg,
                                   pointwise_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg,
                                   pointwise_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        x = layers.Add()([x, residual])
    x = layers.Conv2D(num_classes, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mini_xception")


def _vgg_stages(x, widths, stage_dropout: float = 0.0, conv_bias: bool = False):
    """Per width, two 3x3 conv-BN-ReLU and a 2x2 max-pool (then dropout, if any)."""
    for width in widths:
        for _ in range(2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=conv_bias)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(2)(x)
        if stage_dropout:
            x = layers.Dropout(stage_dropout)(x)
    return x


def vgg(num_classes: int, widths=(32, 64, 128, 256), dense: int = 256, dropout: float = 0.4,
        stem_stride: int = 1) -> keras.Model:
    """VGG-style CNN with batch norm: per stage two 3x3 conv-BN-ReLU and a 2x2 max-pool.

    stem_stride=2 adds a strided 3x3 stem (48 -> 24 px) before the stages: about 3x cheaper to train on a CPU."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    if stem_stride > 1:
        x = layers.Conv2D(widths[0], 3, strides=stem_stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    x = _vgg_stages(x, widths, stage_dropout=dropout / 2)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(dense, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(dropout)(x)
    # float32 under a bfloat16 training policy too: probabilities rounded to bfloat16's 8 bits would blur the loss.
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="vgg")


def vgg_fast(num_classes: int) -> keras.Model:
    return vgg(num_classes, stem_stride=2)


def vgg_fast_wide(num_classes: int) -> keras.Model:
    """vgg_fast at 1.5x the width (48-96-192-384): more capacity for the same 24 px stages, for more training time
    per epoch (experiments/training_cost/README.md)."""
    return vgg(num_classes, widths=(48, 96, 192, 384), dense=384, stem_stride=2)


def vgg_full5(num_classes: int) -> keras.Model:
    """Full 48 px resolution in five narrow stages (16-256 wide): about vgg_fast's inference cost, without its
    strided stem throwing away detail in the first layer."""
    return vgg(num_classes, widths=(16, 32, 64, 128, 256))


def vgg_khaireddin(num_classes: int) -> keras.Model:
    """The VGG of Khaireddin & Chen (2021; 73.3% on FER2013 from scratch): four full-resolution stages of two 3x3
    conv-BN-ReLU at 64-128-256-512 wide, each max-pooled, flattened into two 4096-wide dense layers with dropout 0.2.
    About 40M parameters (35.7M of them dense): here to measure what that shape costs per face and per epoch."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Flatten()(_vgg_stages(inputs, (64, 128, 256, 512), conv_bias=True))  # biased convs, as the paper's
    for _ in range(2):
        x = layers.Dense(4096)(x)
        x = layers.Dropout(0.2)(x)
        x = layers.Activation("relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="vgg_khaireddin")


ARCHITECTURES: dict[str, Callable[[int], keras.Model]] = {
    "mini_xception": mini_xception, "vgg": vgg, "vgg_fast": vgg_fast, "vgg_fast_wide": vgg_fast_wide,
    "vgg_full5": vgg_full5, "vgg_khaireddin": vgg_khaireddin, "mobilenet_v2": mobilenet_v2_faces,
    "mobilenet_v2_64": mobilenet_v2_64_faces, "efficientnet_lite0": efficientnet_lite0_faces}


def build_model(arch: str, num_classes: int = 7) -> keras.Model:
    try:
        builder = ARCHITECTURES[arch]
    except KeyError:
        raise UsageError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}") from None
    return builder(num_classes)
