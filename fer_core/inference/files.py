"""Many images to records: each read, analysed and optionally drawn, bad files reported in their record. The library
behind the `analyze` command (fer_core.analyze_command) and the Ray engine (fer_core.inference.ray_engine)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from fer_core.inference.draw import draw_results
from fer_core.inference.imageio import IMAGE_SUFFIXES, ImageDecodeError, read_image
from fer_core.inference.outputs import unique_name, write_atomically
from fer_core.inference.pipeline import Analyzer, FaceResult
from fer_core.inference.rows import FACE_COLUMNS, face_rows, rows_to_csv


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, and image files (by suffix) found recursively in folders, in sorted order."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            paths += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(item)
    return paths


@dataclass(frozen=True)
class ImageRecord:
    """One analysed image: its name and faces, or why it could not be read (then no faces)."""

    image: str
    faces: list[FaceResult] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object `analyze --json` writes per image."""
        return {"image": self.image, "faces": [face.to_dict() for face in self.faces], "error": self.error}


def analyze_file(path: str | os.PathLike[str], analyzer: Analyzer, annotated: Path | None = None) -> ImageRecord:
    """One image's record; its annotated copy written to `annotated` when given (whole or not at all)."""
    try:
        image = read_image(path)
    except ImageDecodeError as exc:
        return ImageRecord(str(path), error=str(exc))
    results = analyzer.analyze(image)
    if annotated is not None:
        _, png = cv2.imencode(".png", draw_results(image, results, numbered=True))
        write_atomically(annotated, png.tobytes())
    return ImageRecord(str(path), results)


def annotated_paths(paths: Sequence[str | os.PathLike[str]], annotated_dir: Path | None) -> list[Path | None]:
    """Where each image's annotated copy goes: <stem>.png, numbered when stems repeat."""
    if annotated_dir is None:
        return [None] * len(paths)
    used: set[str] = set()
    return [annotated_dir / f"{unique_name(Path(path).stem, used)}.png" for path in paths]


def analyze_files(paths: Sequence[str | os.PathLike[str]], analyzer: Analyzer, annotated_dir: Path | None = None,
                  on_error: Callable[[str | os.PathLike[str], str], None] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[ImageRecord]:
    """One record per path; on_error(path, message) is called for each failure and progress(done, total) after
    each file."""
    records = []
    for done, (path, annotated) in enumerate(zip(paths, annotated_paths(paths, annotated_dir), strict=True), 1):
        records.append(analyze_file(path, analyzer, annotated))
        if records[-1].error and on_error:
            on_error(path, records[-1].error)
        if progress:
            progress(done, len(paths))
    return records


def records_to_csv(records: Sequence[ImageRecord], labels: Sequence[str]) -> str:
    """One row per face of every readable image, in the columns of fer_core.inference.rows.face_rows."""
    rows = [row for record in records for row in face_rows(record.faces, labels, {"image": record.image})]
    return rows_to_csv(rows, ["image", *FACE_COLUMNS, *labels])
