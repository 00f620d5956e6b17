"""The composed per-image path: detect -> crop -> preprocess -> classify -> FaceResult; plus drawing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from .boxes import Box, Detection
from .detect import DetectorConfig, detect
from .framing import crop_face
from .predictor import Predictor
from .preprocess import preprocess_faces
from .tta import tta_mode


@dataclass(frozen=True)
class FaceResult:
    """One face: its box (fer_core.boxes units), top emotion, its probability, all probabilities;
    face_id is the tracking id on the camera and video paths (None for single photos); detection is what the
    detector returned for it (score, and landmarks from YuNet), None for a box given by the caller or tracked."""

    box: Box
    emotion: str
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    face_id: int | None = None
    detection: Detection | None = None

    def to_dict(self) -> dict:
        record = {"box": list(self.box), "emotion": self.emotion, "confidence": self.confidence,
                  "scores": dict(self.scores)}
        if self.face_id is not None:
            record["face_id"] = self.face_id
        if self.detection is not None:
            record["detector_score"] = self.detection.score
            if self.detection.landmarks is not None:
                record["landmarks"] = [list(point) for point in self.detection.landmarks]
        return record


def results_from_probabilities(faces, probabilities: np.ndarray, labels) -> list[FaceResult]:
    """faces: Detections or boxes, in the order of the probability rows."""
    results = []
    for face, p in zip(faces, probabilities, strict=True):
        top = int(np.argmax(p))
        scores = {name: float(v) for name, v in zip(labels, p, strict=True)}
        detection = face if isinstance(face, Detection) else None
        box = face.box if detection else Box(*face)
        results.append(FaceResult(box, labels[top], float(p[top]), scores, detection=detection))
    return results


class Analyzer:
    """A predictor plus detection settings; analyze(image) is stateless and thread-safe.

    tta: the test-time augmentation mode (fer_core.tta); None follows the model (Predictor.tta_default), the mode
    that scored best on its validation split.
    """

    def __init__(self, predictor: Predictor | None = None, detector: DetectorConfig = DetectorConfig(),
                 tta: str | bool | None = None):
        self.predictor = predictor or Predictor.load()
        self.detector = detector
        self.tta = self.predictor.tta_default if tta is None else tta_mode(tta)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.predictor.labels

    def classify(self, image: np.ndarray, faces, channel_order: str = "bgr") -> list[FaceResult]:
        """Classify given faces of an image (Detections, or boxes) in one batch, each cropped with the detector's
        framing (fer_core.framing)."""
        framing = self.detector.crop_framing
        crops = [crop_face(image, face, framing) for face in faces]
        probabilities = self.predictor.predict_proba(preprocess_faces(crops, channel_order), tta=self.tta)
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


EMOTION_COLORS_BGR = {
    "angry": (40, 40, 220), "disgust": (40, 140, 40), "fear": (160, 60, 160), "happy": (0, 200, 255),
    "sad": (200, 120, 40), "surprise": (220, 200, 0), "neutral": (180, 180, 180),
}


def draw_results(image: np.ndarray, results: list[FaceResult], numbered: bool = False, show_scores: bool = False,
                 min_confidence: float = 0.0) -> np.ndarray:
    """A copy of a BGR image with each face boxed and labelled with its emotion and confidence.

    numbered: prefix labels with #1, #2, ... (ids are used instead when faces carry a face_id);
    show_scores: draw a bar per class under each box; min_confidence: faces below it get a grey box and "?".
    """
    canvas = image.copy()
    if canvas.ndim == 2:
        canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    font_scale = max(0.4, max(canvas.shape[:2]) / 1400)
    for number, result in enumerate(results, start=1):
        x, y, w, h = result.box
        sure = result.confidence >= min_confidence
        color = EMOTION_COLORS_BGR.get(result.emotion, (0, 255, 0)) if sure else (128, 128, 128)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), color, thickness)
        label = f"{result.emotion} {result.confidence:.0%}" if sure else "?"
        if result.face_id is not None:
            label = f"{result.face_id}: {label}"
        elif numbered:
            label = f"#{number} {label}"
        _put_label(canvas, label, x, y, h, color, font_scale, thickness)
        if show_scores:
            _draw_score_bars(canvas, result, x, y + h + 2, max(w, 60), font_scale * 0.8)
    return canvas


def _put_label(canvas, label, x, y, h, color, font_scale, thickness) -> None:
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
    top = y - th - base - 2 if y - th - base - 2 >= 0 else y + h
    cv2.rectangle(canvas, (x, top), (x + tw + 4, top + th + base + 2), color, cv2.FILLED)
    cv2.putText(canvas, label, (x + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness,
                cv2.LINE_AA)


def _draw_score_bars(canvas, result: FaceResult, x: int, y: int, width: int, font_scale: float) -> None:
    row = max(8, int(22 * font_scale))
    for i, (name, p) in enumerate(result.scores.items()):
        top = y + i * row
        if top + row > canvas.shape[0]:
            break
        cv2.rectangle(canvas, (x, top), (x + int(width * p), top + row - 2),
                      EMOTION_COLORS_BGR.get(name, (0, 255, 0)), cv2.FILLED)
        cv2.putText(canvas, f"{name[:3]} {p:.0%}", (x + 2, top + row - 4), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
