"""FER2013 faces pasted into larger scenes at a known pose, to measure detection and alignment against FER2013's own
framing: the face detected, aligned and classified in a scene should score what the 48x48 face scores directly.

A scene is a square of mid-grey with one face upscaled into it (rotated, scaled and shifted for the scene measure).
Pose units: `face_to_scene` maps face units ((0, 0) the face's top-left corner, (1, 1) its bottom-right) to scene
pixels, so a point of the face's 48x48 frame at face units (u, v) lands at face_to_scene @ (u, v, 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

SCENE_SIDE = 384
BACKGROUND = 128  # a flat mid-grey: padding by repeating or mirroring the face's edges adds face-like structure


@dataclass(frozen=True)
class ScenePose:
    """face_px: the face's side in the scene, pixels; angle: degrees, counter-clockwise as the image shows it;
    centre: the face's centre in scene pixels."""

    face_px: float
    angle: float
    centre: tuple[float, float]

    def face_to_scene(self) -> np.ndarray:
        """The 2x3 similarity from face units to scene pixels."""
        theta = math.radians(self.angle)
        a, b = self.face_px * math.cos(theta), self.face_px * math.sin(theta)
        # Counter-clockwise on screen, where y points down: x' = a x + b y, y' = -b x + a y.
        linear = np.array([[a, b], [-b, a]])
        offset = np.asarray(self.centre) - linear @ np.array([0.5, 0.5])
        return np.hstack([linear, offset[:, None]])


def paste_face(face: np.ndarray, pose: ScenePose, side: int = SCENE_SIDE) -> np.ndarray:
    """A gray uint8 side x side scene holding `face` (gray uint8, any size) at `pose`, as BGR (what detectors read)."""
    height, width = face.shape[:2]
    to_unit = np.array([[1.0 / width, 0, 0], [0, 1.0 / height, 0], [0, 0, 1]])
    matrix = pose.face_to_scene() @ to_unit
    scene = cv2.warpAffine(face, matrix, (side, side), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=BACKGROUND)
    return cv2.cvtColor(scene, cv2.COLOR_GRAY2BGR)


def random_pose(rng: np.random.Generator, side: int = SCENE_SIDE, face_px=(144.0, 240.0),
                max_angle: float = 15.0) -> ScenePose:
    """A face of 3 to 5 times FER2013's 48 px, turned by up to max_angle degrees, anywhere it fits whole."""
    size = float(rng.uniform(*face_px))
    angle = float(rng.uniform(-max_angle, max_angle))
    # The rotated square's half-extent, so the whole face stays inside the scene.
    half = size / 2 * (abs(math.cos(math.radians(angle))) + abs(math.sin(math.radians(angle))))
    centre = (float(rng.uniform(half, side - half)), float(rng.uniform(half, side - half)))
    return ScenePose(size, angle, centre)


def centred_pose(face_px: float = 192.0, side: int = SCENE_SIDE) -> ScenePose:
    """A face upright in the middle of the scene (4x FER2013's 48 px by default): the measuring pose."""
    return ScenePose(face_px, 0.0, (side / 2, side / 2))


def scene_faces(dataset, seed: int = 0, max_angle: float = 15.0):
    """(scene, pose) for each face of a dataset, one random pose each (random_pose), the same for the same seed."""
    rng = np.random.default_rng(seed)
    for face in dataset.images:
        pose = random_pose(rng, max_angle=max_angle)
        yield paste_face(face, pose), pose
