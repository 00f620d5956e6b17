"""Why the model said what it said: Grad-CAM on the last convolution (each member's, for an ensemble; TensorFlow
backend), occlusion otherwise.

Grad-CAM loads the Keras model and TensorFlow on first use; a Predictor that runs a converted model has neither
until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import INPUT_SIZE, preprocess_face
from fer_core.machine import ONEDNN_MAY_BE_ON

if TYPE_CHECKING:
    import keras


def last_conv_layer(model: keras.Model) -> keras.layers.Layer | None:
    """The last layer whose output still has a spatial grid (H, W > 1), as Grad-CAM needs."""
    import keras

    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None) is not None and layer.output.shape
        if isinstance(layer, keras.layers.Conv2D | keras.layers.SeparableConv2D) and shape and len(shape) == 4 \
                and shape[1] > 1 and shape[2] > 1:
            return layer
    return None


def cam_networks(model: keras.Model) -> list[tuple[keras.Model, float]]:
    """The networks whose last convolution Grad-CAM reads, each with its share of the model's output: the model
    itself, or the members an ensemble (fer_core.training.ensemble) averages, searched through ensembles of
    ensembles; [] when one of them has no spatial convolution."""
    import keras

    if last_conv_layer(model) is not None:
        return [(model, 1.0)]
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    found: list[tuple[keras.Model, float]] = []
    for member in members:
        inner = cam_networks(member)
        if not inner:
            return []
        share = _member_share(model, member, len(members))
        found += [(network, share * part) for network, part in inner]
    return found


def _member_share(ensemble: keras.Model, member: keras.Model, members: int) -> float:
    """A member's weight in the ensemble's output: the scale of its `weight_<i>` layer in a weighted ensemble
    (`average_models` names member i `member_<i>`), an equal share otherwise."""
    import keras

    index = member.name.rsplit("_", 1)[-1]
    scale = next((layer.scale for layer in ensemble.layers
                  if isinstance(layer, keras.layers.Rescaling) and layer.name == f"weight_{index}"), None)
    return float(scale) if scale is not None else 1.0 / members


def grad_cam(model: keras.Model, face: np.ndarray, target: int) -> np.ndarray:
    """A (48, 48) map in [0, 1] of where the last convolution's evidence for class `target` lies.

    For an ensemble, the evidence is that for the (weighted) mean probability, taken at each member's last
    convolution and summed on the 48x48 grid before the ReLU, so members that disagree about a region cancel out
    there."""
    import keras
    import tensorflow as tf

    networks = cam_networks(model)
    if not networks:
        raise ValueError(f"{model.name} has no convolution with a spatial grid left for Grad-CAM to read")
    probes = [keras.Model(net.inputs, [_spatial_output(net), net.output]) for net, _ in networks]
    with tf.GradientTape() as tape:
        outputs = [probe([face[None]], training=False) for probe in probes]
        features = [f for f, _ in outputs]
        score = tf.add_n([share * p[:, target] for (_, share), (_, p) in zip(networks, outputs, strict=True)])
    cam = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
    for feature, grads in zip(features, tape.gradient(score, features), strict=True):
        weights = tf.reduce_mean(grads[0], axis=(0, 1))
        cam += cv2.resize(tf.reduce_sum(feature[0] * weights, axis=-1).numpy(), (INPUT_SIZE, INPUT_SIZE),
                          interpolation=cv2.INTER_CUBIC)
    return _normalise(np.maximum(cam, 0))


def occlusion(predictor: Predictor, face: np.ndarray, target: int, patch: int = 8, stride: int = 4) -> np.ndarray:
    """A (48, 48) map in [0, 1]: how much hiding each patch lowers the probability of class `target`."""
    base = predictor.predict_proba(face[None])[0, target]
    positions = [(y, x) for y in range(0, INPUT_SIZE - patch + 1, stride)
                 for x in range(0, INPUT_SIZE - patch + 1, stride)]
    batch = np.repeat(face[None], len(positions), axis=0)
    for i, (y, x) in enumerate(positions):
        batch[i, y:y + patch, x:x + patch] = 0.5
    drops = base - predictor.predict_proba(batch)[:, target]
    heat = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
    counts = np.zeros_like(heat)
    for drop, (y, x) in zip(drops, positions, strict=True):
        heat[y:y + patch, x:x + patch] += drop
        counts[y:y + patch, x:x + patch] += 1
    return _normalise(np.maximum(heat / np.maximum(counts, 1), 0))


def _spatial_output(network: keras.Model) -> keras.KerasTensor:
    layer = last_conv_layer(network)
    assert layer is not None, "cam_networks returns only networks with a spatial convolution"
    return layer.output


def _normalise(heat: np.ndarray) -> np.ndarray:
    heat = heat.astype(np.float32)
    top = float(heat.max())
    return heat / top if top > 0 else heat


def saliency(predictor: Predictor, crop: np.ndarray, emotion: str, channel_order: str = "bgr") -> np.ndarray:
    """Saliency of a face crop (any size, BGR/RGB/gray uint8) for `emotion`, as a float map of the crop's shape."""
    target = predictor.labels.index(emotion)
    face = preprocess_face(crop, channel_order)
    if _gradients_are_safe() and cam_networks(predictor.model):
        heat = grad_cam(predictor.model, face, target)
    else:
        heat = occlusion(predictor, face, target)
    return cv2.resize(heat, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)


def _gradients_are_safe() -> bool:
    """Grad-CAM needs TensorFlow's eager gradients: the tensorflow backend, and oneDNN's custom operations off
    (fer_core turns them off unless TensorFlow was loaded before it; with them on, on AVX-512 CPUs, the gradients
    of a convolution crash the process)."""
    import keras

    return keras.backend.backend() == "tensorflow" and not ONEDNN_MAY_BE_ON


def overlay(crop: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The heat map in a colour scale blended over a BGR (or gray) crop."""
    base = crop if crop.ndim == 3 else cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
    colours = cv2.applyColorMap((255 * np.clip(heat, 0, 1)).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.addWeighted(base[:, :, :3], 1 - alpha, colours, alpha, 0)
