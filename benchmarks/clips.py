"""Benchmark inputs built from the real photos in ../shared/data/photos: webcam-like clips and resized photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_core.inference.boxes import Box, same_face
from fer_core.inference.detect import DetectorConfig, detect_faces, expand_box

REFERENCE_HAAR = DetectorConfig(method="haar", scale_factor=1.1, min_neighbors=5, min_face=30, max_side=None)


def real_face_crops(photos: Path, margin: float = 0.25) -> list[np.ndarray]:
    """Face crops (with some context) cut from the real photos by full-resolution Haar, largest first."""
    crops = []
    for name in ("photo_5.jpg", "photo_13.jpg", "photo_23.jpg", "photo_21.jpg"):
        image = cv2.imread(str(photos / name))
        # A strict neighbour count so that no false detection ends up in the clips as a "face".
        for box in detect_faces(image, DetectorConfig(method="haar", min_neighbors=10, min_face=60, max_side=None)):
            x, y, w, h = expand_box(box, margin, image.shape[1], image.shape[0])
            if min(w, h) >= 60:
                crops.append(image[y:y + h, x:x + w])
    return sorted(crops, key=lambda c: -c.shape[0])


def _background(height: int, width: int) -> np.ndarray:
    ramp = np.linspace(60, 170, width, dtype=np.float32)[None, :, None]
    shade = np.linspace(0.8, 1.1, height, dtype=np.float32)[:, None, None]
    return np.clip(ramp * shade * np.array([1.0, 0.95, 0.9], np.float32), 0, 255).astype(np.uint8)


def face_clip(crops: list[np.ndarray], n_faces: int, n_frames: int, size=(480, 640), seed: int = 0):
    """n_frames BGR frames with n_faces real faces of 100-200 px drifting a little, like people in front of a webcam.

    Returns (frames, truth): truth[i] lists the (x, y, w, h) of each pasted face crop in frame i."""
    rng = np.random.default_rng(seed)
    height, width = size
    columns = min(n_faces, 3)
    rows = int(np.ceil(n_faces / columns))
    cell_w, cell_h = width // columns, height // rows
    faces = []
    for i in range(n_faces):
        side = int(rng.integers(100, 201)) if n_faces > 1 else 180
        side = min(side, cell_w - 12, cell_h - 12)
        face = cv2.resize(crops[i % len(crops)], (side, side), interpolation=cv2.INTER_AREA)
        cx, cy = (i % columns) * cell_w + cell_w // 2, (i // columns) * cell_h + cell_h // 2
        faces.append((face, cx, cy, rng.uniform(0, 2 * np.pi)))
    background = _background(height, width)
    frames, truth = [], []
    for t in range(n_frames):
        frame = background.copy()
        boxes = []
        for face, cx, cy, phase in faces:
            side = face.shape[0]
            dx, dy = int(5 * np.sin(t / 12 + phase)), int(4 * np.cos(t / 15 + phase))
            x0 = int(np.clip(cx - side // 2 + dx, 0, width - side))
            y0 = int(np.clip(cy - side // 2 + dy, 0, height - side))
            frame[y0:y0 + side, x0:x0 + side] = face
            boxes.append((x0, y0, side, side))
        frames.append(frame)
        truth.append(boxes)
    return frames, truth


def true_faces(found_boxes, truth_boxes) -> int:
    """How many pasted faces have a found box centred inside them (each counted once)."""
    hits = 0
    for x, y, w, h in truth_boxes:
        if any(x <= bx + bw / 2 <= x + w and y <= by + bh / 2 <= y + h for bx, by, bw, bh in found_boxes):
            hits += 1
    return hits


def match_faces(found_boxes, faces) -> int:
    """How many labelled faces a detector found (fer_core.inference.boxes.same_face); each box and face count once."""
    used, hits = set(), 0
    for face in faces:
        for i, box in enumerate(found_boxes):
            if i not in used and same_face(Box(*box), Box(*face)):
                used.add(i)
                hits += 1
                break
    return hits


def letterbox(image: np.ndarray, size=(480, 640)) -> np.ndarray:
    """The image scaled to fit size (height, width) and padded with black."""
    height, width = size
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    y0, x0 = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[y0:y0 + resized.shape[0], x0:x0 + resized.shape[1]] = resized
    return canvas
