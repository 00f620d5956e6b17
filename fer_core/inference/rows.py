"""Plain tables from results: one row per face, CSV text, and a group summary."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fer_core.inference.pipeline import FaceResult

# The columns of every face table (photos, the analyze CSV, videos, the camera timeline) after its context columns
# and before one column per class.
FACE_COLUMNS = ("face", "x", "y", "w", "h", "emotion", "confidence")


def face_rows(results: Sequence[FaceResult], labels: Sequence[str], context: Mapping[str, Any] | None = None,
              id_column: str = "face") -> list[dict[str, Any]]:
    """One flat dict per face: the context's columns (an image name, or a frame and its time), the face (its
    tracking id, else its number), its box, emotion and confidence, then one column per class."""
    rows = []
    for number, r in enumerate(results, start=1):
        row = dict(context or {})
        row |= {id_column: r.face_id if r.face_id is not None else number, "x": r.box.x, "y": r.box.y, "w": r.box.w,
                "h": r.box.h, "emotion": r.emotion, "confidence": round(r.confidence, 4)}
        row |= {name: round(r.scores.get(name, 0.0), 4) for name in labels}
        rows.append(row)
    return rows


def rows_to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    buffer = io.StringIO()
    columns = columns or (list(rows[0]) if rows else [])
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def group_summary(results: Sequence[FaceResult], labels: Sequence[str]) -> dict[str, Any]:
    """How many faces show each top emotion, the mean probability per class, and the most common emotion."""
    counts = {name: 0 for name in labels}
    for r in results:
        counts[r.emotion] += 1
    table = [[r.scores.get(n, 0.0) for n in labels] for r in results]
    mean = np.mean(table, axis=0) if results else np.zeros(len(labels))
    dominant = max(counts, key=lambda n: (counts[n], mean[list(labels).index(n)])) if results else None
    return {"faces": len(results), "counts": counts, "mean_scores": dict(zip(labels, map(float, mean), strict=True)),
            "dominant": dominant}
