"""Convolution and batch norm in plain numpy on PyTorch's NCHW/OIHW tensors: the references that the ImageNet
weight conversions are checked against, independent of Keras's layouts and of the loaders' transposes."""

from __future__ import annotations

import numpy as np

SIZE = 64


def conv(x: np.ndarray, weight: np.ndarray, stride: int, depthwise: bool, tf_same: bool = False) -> np.ndarray:
    """One image's convolution, CHW in and out. Padding is PyTorch's symmetric k // 2, or with `tf_same`
    TensorFlow's "same": the total that keeps ceil(size / stride), the odd pixel at the bottom and right."""
    k = weight.shape[-1]
    if tf_same:
        size = x.shape[1]
        total = max((-(-size // stride) - 1) * stride + k - size, 0)
        before, after = total // 2, total - total // 2
    else:
        before = after = (k - 1) // 2
    x = np.pad(x, ((0, 0), (before, after), (before, after)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    if depthwise:
        return np.einsum("chwij,cij->chw", windows, weight[:, 0])
    return np.einsum("chwij,ocij->ohw", windows, weight)


def batch_norm(x: np.ndarray, state: dict[str, np.ndarray], key: str, epsilon: float) -> np.ndarray:
    scale = state[f"{key}.weight"] / np.sqrt(state[f"{key}.running_var"] + epsilon)
    mean, bias = state[f"{key}.running_mean"], state[f"{key}.bias"]
    return (x - mean[:, None, None]) * scale[:, None, None] + bias[:, None, None]


def sample_images() -> np.ndarray:
    """Three normalised RGB images (NHWC): smooth colour fields with an edge and a blob, as ImageNet inputs look."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    images = []
    for _ in range(3):
        a, b, c = rng.uniform(-1.5, 1.5, size=(3, 3))
        image = np.stack([a[i] * xx + b[i] * yy + c[i] * np.exp(-((xx - 0.5) ** 2 + (yy - 0.4) ** 2) * 20)
                          for i in range(3)], axis=-1)
        image[:, : SIZE // 3] += rng.uniform(-1, 1, size=3)
        images.append(image)
    return np.asarray(images, np.float32)


def assert_imagenet_logits_match(model, reference) -> None:
    """The Keras network's logits on `sample_images` against `reference(image_chw)`, the numpy forward pass."""
    images = sample_images()
    ours = np.asarray(model(images, training=False))
    for image, logits in zip(images, ours, strict=True):
        expected = reference(image.transpose(2, 0, 1))
        assert np.max(np.abs(logits - expected)) < 1e-3 * max(1.0, np.max(np.abs(expected)))
        assert list(np.argsort(logits)[-5:]) == list(np.argsort(expected)[-5:])
    # Different images get different ImageNet classes: the weights are a trained network's, not zeros.
    assert len({int(np.argmax(logits)) for logits in ours}) > 1


def assert_face_probabilities(model) -> None:
    """The face model takes the product's 48x48 grey faces and answers one distribution over 7 classes each."""
    assert model.input_shape == (None, 48, 48, 1)
    probabilities = np.asarray(model(np.random.default_rng(0).uniform(0, 1, (2, 48, 48, 1)).astype(np.float32)))
    assert probabilities.shape == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
