"""Drawing results onto images: boxes, labels and per-class bars, in one colour per emotion."""

from __future__ import annotations

import cv2
import numpy as np

from fer_core.inference.pipeline import FaceResult

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


def _put_label(canvas: np.ndarray, label: str, x: int, y: int, h: int, color: tuple[int, int, int],
               font_scale: float, thickness: int) -> None:
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
    top = y - th - base - 2 if y - th - base - 2 >= 0 else y + h
    cv2.rectangle(canvas, (x, top), (x + tw + 4, top + th + base + 2), color, cv2.FILLED)
    cv2.putText(canvas, label, (x + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness,
                cv2.LINE_AA)


def _draw_score_bars(canvas: np.ndarray, result: FaceResult, x: int, y: int, width: int, font_scale: float) -> None:
    row = max(8, int(22 * font_scale))
    for i, (name, p) in enumerate(result.scores.items()):
        top = y + i * row
        if top + row > canvas.shape[0]:
            break
        cv2.rectangle(canvas, (x, top), (x + int(width * p), top + row - 2),
                      EMOTION_COLORS_BGR.get(name, (0, 255, 0)), cv2.FILLED)
        cv2.putText(canvas, f"{name[:3]} {p:.0%}", (x + 2, top + row - 4), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
