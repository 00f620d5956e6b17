"""Face detection behind one interface: Haar (OpenCV's frontal cascade, the original design's detector) or YuNet
(fer_core.inference.yunet). Both run on a copy downscaled to max_side, return detections in original-image pixels, and
drop duplicate and nested boxes (fer_core.inference.boxes.suppress_duplicates). Both are thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import cv2
import numpy as np

from fer_core.errors import UsageError
from fer_core.inference.boxes import Box, Detection, suppress_duplicates
from fer_core.inference.framing import CROP_ZOOM, FaceFraming, zoomed_framing
from fer_core.inference.preprocess import to_bgr, to_gray
from fer_core.inference.yunet import detect_yunet

CASCADE_FILE = "haarcascade_frontalface_default.xml"
METHODS = ("yunet", "haar")
DEFAULT_METHOD = "yunet"
# The crop that turns each detector's box into FER2013's frame, for faces without landmarks (Haar's, and YuNet's when
# alignment is off or the landmarks are implausible): FER2013's training faces pasted into scenes and detected give
# median boxes from which these framings follow (`python -m benchmarks.fer2013_template`,
# benchmarks/results/fer2013_template.json): a FER2013 face is about a square of the box's longer side, centred on
# the box.
# The default crops show that frame CROP_ZOOM times larger, as aligned crops do.
FER2013_FRAMING = {"haar": FaceFraming(square=True, scale=1.04, shift_x=0.01, shift_y=0.01),
                   "yunet": FaceFraming(square=True, scale=0.98, shift_x=0.02, shift_y=-0.01)}
DEFAULT_FRAMING = {method: zoomed_framing(framing, CROP_ZOOM) for method, framing in FER2013_FRAMING.items()}

__all__ = ["Box", "Detection", "DetectorConfig", "detect", "detect_faces", "expand_box", "METHODS"]


@dataclass(frozen=True)
class DetectorConfig:
    method: str = DEFAULT_METHOD  # "yunet" or "haar"
    # Haar's photo settings: the sweep of benchmarks/detection_sweep.py over the shared photos (docs/performance.md).
    scale_factor: float = 1.1
    min_neighbors: int = 5
    score_threshold: float = 0.6  # YuNet: the lowest face score kept
    # YuNet: in an image where no face reaches score_threshold, keep those that reach this instead (None: never).
    # A photo is given because it shows someone (measured in experiments/face_alignment/README.md, "Detection"). Off
    # for camera and video frames, where a frame with nobody in it is common.
    retry_threshold: float | None = 0.3
    min_face: int = 20  # smallest face side, in pixels of the original image
    # Detect on a copy whose longer side is at most this (None: full size): the smallest that keeps every face that
    # full-resolution Haar finds on the shared photos (benchmarks/detection_sweep.py).
    max_side: int | None = 1280
    margin: float = 0.0  # grow each box by this fraction of its size on every side, then clip to the image
    framing: FaceFraming | None = None  # how a box becomes the classifier's crop; None: DEFAULT_FRAMING[method]
    # Warp faces with landmarks (YuNet) to FER2013's pose (fer_core.inference.align); the box framing serves the rest.
    align: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"unknown detector {self.method!r}; choose from {', '.join(METHODS)}")

    @property
    def crop_framing(self) -> FaceFraming:
        return self.framing or DEFAULT_FRAMING[self.method]


_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    # CascadeClassifier keeps per-call scratch state, so each thread gets its own instance.
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)  # type: ignore[attr-defined]  # cv2.data: no stub
        if cascade.empty():
            raise RuntimeError(f"OpenCV's {CASCADE_FILE} is missing; install opencv-python-headless<5")
        _local.cascade = cascade
    return cascade


def expand_box(box: Box, margin: float, width: int, height: int) -> Box:
    """Grow a box by margin * its size on each side and clip it to a width x height image."""
    dx, dy = int(round(box.w * margin)), int(round(box.h * margin))
    x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
    x1, y1 = min(width, box.x + box.w + dx), min(height, box.y + box.h + dy)
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def _haar(image: np.ndarray, config: DetectorConfig) -> list[Detection]:
    found, neighbours = _cascade().detectMultiScale2(
        cv2.equalizeHist(image), scaleFactor=config.scale_factor, minNeighbors=config.min_neighbors,
        minSize=(config.min_face, config.min_face))
    return [Detection(Box(*map(int, box)), float(n)) for box, n in zip(found, neighbours, strict=True)]


def _yunet(image: np.ndarray, config: DetectorConfig) -> list[Detection]:
    lowest = min(config.score_threshold, config.retry_threshold or config.score_threshold)
    # YuNet boxes are taller than wide; min_face bounds the longer side, as it bounds the side of square Haar boxes.
    found = [d for d in detect_yunet(image, lowest) if max(d.box.w, d.box.h) >= config.min_face]
    confident = [d for d in found if d.score >= config.score_threshold]
    return confident or found


def _rescaled(detection: Detection, scale: float, margin: float, width: int, height: int) -> Detection:
    box = Box(*(int(round(v / scale)) for v in detection.box))
    landmarks = (tuple((x / scale, y / scale) for x, y in detection.landmarks)
                 if detection.landmarks is not None else None)
    return Detection(expand_box(box, margin, width, height), detection.score, landmarks)


def detect(image: np.ndarray, config: DetectorConfig = DetectorConfig(), channel_order: str = "bgr") -> list[Detection]:
    """Faces in a uint8 image (gray, BGR/RGB or with alpha), without duplicates, sorted left to right."""
    # Haar reads gray pixels, YuNet colour ones.
    image = to_gray(image, channel_order) if config.method == "haar" else to_bgr(image, channel_order)
    height, width = image.shape[:2]
    scale = 1.0
    if config.max_side and max(height, width) > config.max_side:
        scale = config.max_side / max(height, width)
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    scaled = replace(config, min_face=max(1, int(config.min_face * scale)))
    found = (_haar if config.method == "haar" else _yunet)(image, scaled)
    detections = [_rescaled(d, scale, config.margin, width, height) for d in found]
    kept = suppress_duplicates([d for d in detections if d.box.w > 0 and d.box.h > 0])
    return sorted(kept, key=lambda d: (d.box.x, d.box.y))


def detect_faces(image: np.ndarray, config: DetectorConfig = DetectorConfig(), channel_order: str = "bgr") -> list[Box]:
    """The boxes of detect()."""
    return [d.box for d in detect(image, config, channel_order)]
