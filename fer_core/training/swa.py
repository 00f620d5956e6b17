"""Stochastic weight averaging (Izmailov et al. 2018): the mean of the weights an optimizer visits late in a run,
with batch-norm statistics re-measured for the averaged network. Backend-neutral: weights go through numpy.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from fer_core.inference.preprocess import to_model_input

CALIBRATION_FACES = 4096
_CHUNK = 512


class WeightAverage:
    """Running mean of a model's weight list; saved to and loaded from one .npz file so that --resume keeps it."""

    def __init__(self, mean: list[np.ndarray] | None = None, count: int = 0):
        self.mean, self.count = mean, count

    def add(self, weights: list[np.ndarray]) -> None:
        weights = [np.asarray(w, dtype=np.float64) for w in weights]
        self.count += 1
        if self.mean is None:
            self.mean = weights
        else:
            self.mean = [m + (w - m) / self.count for m, w in zip(self.mean, weights, strict=True)]

    def save(self, path: Path) -> None:
        np.savez(path, *(self.mean or []), count=self.count)

    @classmethod
    def load(cls, path: Path) -> WeightAverage:
        with np.load(path) as stored:
            count = int(stored["count"])
            mean = [stored[f"arr_{i}"] for i in range(len(stored.files) - 1)]
        return cls(mean, count)


def recalibrate_batch_norm(model: keras.Model, faces: np.ndarray) -> None:
    """Set every BatchNormalization layer's moving mean and variance to its input's statistics over `faces` (uint8,
    N x 48 x 48), layer by layer in graph order, each measured with the layers before it already recalibrated.

    Averaged weights make the running statistics recorded during training stale, so this is part of averaging."""
    x = to_model_input(faces)
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        probe = keras.Model(model.input, layer.input)
        # Zero-dimensional sums that broadcast to the layer's channels at the first chunk.
        total, total_sq = np.zeros(()), np.zeros(())
        count = 0
        for start in range(0, len(x), _CHUNK):
            a = np.asarray(keras.ops.convert_to_numpy(probe(x[start:start + _CHUNK], training=False)), np.float64)
            a = a.reshape(-1, a.shape[-1])
            total = total + a.sum(0)
            total_sq = total_sq + (a * a).sum(0)
            count += len(a)
        mean = total / count
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(np.maximum(total_sq / count - mean * mean, 0.0).astype(np.float32))


def calibration_faces(images: np.ndarray, seed: int, limit: int = CALIBRATION_FACES) -> np.ndarray:
    """A fixed, seeded sample of training faces (un-augmented) for recalibrate_batch_norm."""
    order = np.random.default_rng((seed, 7919)).permutation(len(images))
    return images[order[:limit]]


def averaged_model(template: keras.Model, average: WeightAverage, faces: np.ndarray) -> keras.Model:
    """A copy of template's architecture holding the averaged weights and recalibrated batch norm."""
    if average.mean is None:
        raise ValueError("no weights have been averaged yet")
    model = keras.models.clone_model(template)
    model.set_weights([m.astype(np.float32) for m in average.mean])
    recalibrate_batch_norm(model, faces)
    return model


def accuracy(model: keras.Model, x: np.ndarray, labels: np.ndarray) -> float:
    predicted = np.concatenate([
        np.argmax(keras.ops.convert_to_numpy(model(x[i:i + _CHUNK], training=False)), axis=-1)
        for i in range(0, len(x), _CHUNK)])
    return float(np.mean(predicted == labels))
