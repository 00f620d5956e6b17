"""The composed per-image path: detect -> crop -> preprocess -> classify -> FaceResult (drawing: draw.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fer_core.inference.align import face_crop
from fer_core.inference.boxes import Box, Detection
from fer_core.inference.detect import DetectorConfig, detect
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import preprocess_faces
from fer_core.inference.tta import tta_mode

# Faces of an image as the classifier takes them: detections (with landmarks, when the detector gives them) or boxes.
Faces = Sequence[Detection | Box]


@dataclass(frozen=True)
class FaceResult:
    """One face: its box (fer_core.inference.boxes units), top emotion, its probability, all probabilities;
    face_id is the tracking id on the camera and video paths (None for single photos); detection is what the
    detector returned for it (score, and landmarks from YuNet), None for a box given by the caller or tracked."""

    box: Box
    emotion: str
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    face_id: int | None = None
    detection: Detection | None = None

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"box": list(self.box), "emotion": self.emotion, "confidence": self.confidence,
                  "scores": dict(self.scores)}
        if self.face_id is not None:
            record["face_id"] = self.face_id
        if self.detection is not None:
            record["detector_score"] = self.detection.score
            if self.detection.landmarks is not None:
                record["landmarks"] = [list(point) for point in self.detection.landmarks]
        return record


def results_from_probabilities(faces: Faces, probabilities: np.ndarray, labels: Sequence[str],
                               face_ids: Sequence[int] | None = None) -> list[FaceResult]:
    """faces: Detections or boxes, in the order of the probability rows; face_ids: tracking ids, one per face."""
    results = []
    for i, (face, p) in enumerate(zip(faces, probabilities, strict=True)):
        top = int(np.argmax(p))
        scores = {name: float(v) for name, v in zip(labels, p, strict=True)}
        detection = face if isinstance(face, Detection) else None
        box = detection.box if detection is not None else Box(*face)
        face_id = None if face_ids is None else face_ids[i]
        results.append(FaceResult(box, labels[top], float(p[top]), scores, face_id, detection))
    return results


class Analyzer:
    """A predictor plus detection settings; analyze(image) is stateless and thread-safe.

    tta: the test-time augmentation mode (fer_core.inference.tta); None follows the model (Predictor.tta_default),
    the mode that scored best on its validation split.
    """

    def __init__(self, predictor: Predictor | None = None, detector: DetectorConfig = DetectorConfig(),
                 tta: str | bool | None = None):
        self.predictor = predictor or Predictor.load()
        self.detector = detector
        self.tta = self.predictor.tta_default if tta is None else tta_mode(tta)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.predictor.labels

    def face_crops(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        """The crops the model classifies for given faces of an image (Detections, or boxes), in the image's own
        channels: aligned to FER2013's pose from landmarks where the detector gave plausible ones, else framed from
        the box (fer_core.inference.align.face_crop)."""
        framing, align = self.detector.crop_framing, self.detector.align
        return [face_crop(image, face, framing, align) for face in faces]

    def face_inputs(self, image: np.ndarray, faces: Faces, channel_order: str = "bgr") -> np.ndarray:
        """The model's inputs for given faces of an image: face_crops, preprocessed."""
        return preprocess_faces(self.face_crops(image, faces), channel_order)

    def classify(self, image: np.ndarray, faces: Faces, channel_order: str = "bgr") -> list[FaceResult]:
        """Classify given faces of an image (Detections, or boxes) in one batch."""
        probabilities = self.predictor.predict_proba(self.face_inputs(image, faces, channel_order), tta=self.tta)
        return results_from_probabilities(faces, probabilities, self.labels)

    def analyze(self, image: np.ndarray, channel_order: str = "bgr") -> list[FaceResult]:
        return self.classify(image, detect(image, self.detector, channel_order), channel_order)


_default: Analyzer | None = None
_default_lock = threading.Lock()


def default_analyzer() -> Analyzer:
    """The analyzer over the shipped model, loaded once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Analyzer()
        return _default


def analyze(image: np.ndarray, detector: DetectorConfig | None = None, analyzer: Analyzer | None = None,
            channel_order: str = "bgr") -> list[FaceResult]:
    """Faces and their emotions in a BGR uint8 image (as OpenCV returns it)."""
    analyzer = analyzer or default_analyzer()
    if detector is not None and detector != analyzer.detector:
        analyzer = Analyzer(analyzer.predictor, detector, analyzer.tta)
    return analyzer.analyze(image, channel_order)
