"""The one preprocessing path from a face crop to the model's input, shared by training and inference."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

INPUT_SIZE = 48  # FER2013 faces are 48x48 grayscale; every model takes (48, 48, 1).


def _channels(image: np.ndarray, channel_order: str) -> int:
    """The image's channel count (1 for gray) once it is known to be a uint8 image this package can read."""
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"unsupported image shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("empty image")
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels > 1 and channel_order not in ("bgr", "rgb"):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    return channels


def to_gray(image: np.ndarray, channel_order: str = "bgr") -> np.ndarray:
    """Gray uint8 (H, W) from gray, (H, W, 1), BGR/RGB or BGRA/RGBA uint8 input."""
    channels = _channels(image, channel_order)
    if channels == 1:
        return image if image.ndim == 2 else image[:, :, 0]
    code = {
        (3, "bgr"): cv2.COLOR_BGR2GRAY,
        (3, "rgb"): cv2.COLOR_RGB2GRAY,
        (4, "bgr"): cv2.COLOR_BGRA2GRAY,
        (4, "rgb"): cv2.COLOR_RGBA2GRAY,
    }[(channels, channel_order)]
    return cv2.cvtColor(image, code)


def to_bgr(image: np.ndarray, channel_order: str = "bgr") -> np.ndarray:
    """BGR uint8 (H, W, 3) from the same inputs as to_gray (what colour detectors take)."""
    channels = _channels(image, channel_order)
    if channels == 1:
        return cv2.cvtColor(image if image.ndim == 2 else image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return image if channel_order == "bgr" else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR if channel_order == "bgr" else cv2.COLOR_RGBA2BGR)


def to_gray48(image: np.ndarray, channel_order: str = "bgr") -> np.ndarray:
    """A face crop of any size and channel layout as a 48x48 gray uint8 image."""
    gray = to_gray(image, channel_order)
    if gray.shape == (INPUT_SIZE, INPUT_SIZE):
        return np.ascontiguousarray(gray)
    shrinking = gray.shape[0] > INPUT_SIZE or gray.shape[1] > INPUT_SIZE
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(gray, (INPUT_SIZE, INPUT_SIZE), interpolation=interpolation)


def equalise(faces: np.ndarray) -> np.ndarray:
    """Each (48, 48) uint8 face histogram-equalised on its own.

    The FER2013 copy the models learn from holds equalised faces, while a camera, a photo or a video gives raw ones;
    equalising every face here makes both look alike to the model. Equalising an equalised face changes it by at most
    one grey level (the levels' order and counts are kept; OpenCV rounds the mapping), so those pass through."""
    faces = np.asarray(faces, dtype=np.uint8)
    out = np.empty_like(faces)
    for i, face in enumerate(faces):
        out[i] = cv2.equalizeHist(np.ascontiguousarray(face))
    return out


def to_model_input(gray48: np.ndarray) -> np.ndarray:
    """(N, 48, 48) or (48, 48) uint8 faces -> float32 (N, 48, 48, 1) in [0, 1], each face equalised (equalise):
    the one step every path (training, evaluation, photos, camera, video) takes from pixels to the model."""
    faces = np.asarray(gray48)
    if faces.ndim == 2:
        faces = faces[None]
    if faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected (N, 48, 48) faces, got {faces.shape}")
    if faces.dtype != np.uint8:
        raise TypeError(f"expected uint8 faces, got {faces.dtype}")
    return (equalise(faces).astype(np.float32) * (1.0 / 255.0))[..., None]


def preprocess_face(crop: np.ndarray, channel_order: str = "bgr") -> np.ndarray:
    """One face crop (any size; gray, BGR, RGB, BGRA or RGBA uint8) -> float32 (48, 48, 1)."""
    face: np.ndarray = to_model_input(to_gray48(crop, channel_order))[0]
    return face


def preprocess_faces(crops: Sequence[np.ndarray], channel_order: str = "bgr") -> np.ndarray:
    """Many face crops -> float32 (N, 48, 48, 1); an empty list gives (0, 48, 48, 1)."""
    if len(crops) == 0:
        return np.zeros((0, INPUT_SIZE, INPUT_SIZE, 1), np.float32)
    return to_model_input(np.stack([to_gray48(c, channel_order) for c in crops]))
