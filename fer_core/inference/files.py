"""The `analyze` command: many images or folders in, one JSON object per image out, bad files reported."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from fer_core.inference.detect import DetectorConfig
from fer_core.inference.draw import draw_results
from fer_core.inference.imageio import IMAGE_SUFFIXES, ImageDecodeError, read_image
from fer_core.inference.pipeline import Analyzer, FaceResult
from fer_core.inference.predictor import Predictor
from fer_core.inference.rows import FACE_COLUMNS, face_rows, rows_to_csv


def expand_inputs(inputs) -> list[Path]:
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

    def to_dict(self) -> dict:
        """The JSON object `analyze --json` writes per image."""
        return {"image": self.image, "faces": [face.to_dict() for face in self.faces], "error": self.error}


def analyze_files(paths, analyzer: Analyzer, annotated_dir: Path | None = None, on_error=None,
                  progress=None) -> list[ImageRecord]:
    """One record per path; on_error(path, message) is called for each failure and progress(done, total) after
    each file."""
    records = []
    used_names: set[str] = set()
    for done, path in enumerate(paths, start=1):
        try:
            image = read_image(path)
            results = analyzer.analyze(image)
            records.append(ImageRecord(str(path), results))
            if annotated_dir is not None:
                name = _unique_name(Path(path).stem, used_names)
                cv2.imwrite(str(annotated_dir / f"{name}.png"), draw_results(image, results, numbered=True))
        except ImageDecodeError as exc:
            records.append(ImageRecord(str(path), error=str(exc)))
            if on_error:
                on_error(path, str(exc))
        if progress:
            progress(done, len(paths))
    return records


def records_to_csv(records: list[ImageRecord], labels) -> str:
    """One row per face of every readable image, in the columns of fer_core.inference.rows.face_rows."""
    rows = [row for record in records for row in face_rows(record.faces, labels, {"image": record.image})]
    return rows_to_csv(rows, ["image", *FACE_COLUMNS, *labels])


def _unique_name(stem: str, used: set[str]) -> str:
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}_{n}"
    used.add(name)
    return name


def run_analyze(args) -> int:
    overrides = {k: v for k, v in {
        "scale_factor": args.scale_factor, "min_neighbors": args.min_neighbors,
        "min_face": args.min_face, "max_side": args.max_side, "method": args.detector,
        "score_threshold": args.score_threshold}.items() if v is not None}
    detector = DetectorConfig(**overrides)
    analyzer = Analyzer(Predictor.load(args.model), detector, tta=args.tta)
    annotated_dir = Path(args.annotated) if args.annotated else None
    if annotated_dir:
        annotated_dir.mkdir(parents=True, exist_ok=True)
    paths = expand_inputs(args.inputs)
    if not paths:
        print("error: no image files found in the given inputs", file=sys.stderr)
        return 1

    def report(path, message):
        print(f"{path}: {message}", file=sys.stderr)

    show_progress = sys.stderr.isatty() if args.progress is None else args.progress

    def progress(done, total):
        print(f"\r{done}/{total} images ({100 * done // total}%)", end="\n" if done == total else "",
              file=sys.stderr, flush=True)

    records = analyze_files(paths, analyzer, annotated_dir, on_error=report,
                            progress=progress if show_progress else None)
    if args.csv:
        Path(args.csv).write_text(records_to_csv(records, analyzer.labels))
    text = json.dumps([record.to_dict() for record in records], indent=2)
    if args.json == "-":
        print(text)
    elif args.json:
        Path(args.json).write_text(text)
    elif not args.csv:
        for record in records:
            if record.error is None:
                faces = ", ".join(f"{f.emotion} {f.confidence:.0%}" for f in record.faces) or "no faces"
                print(f"{record.image}: {faces}")
    return 1 if any(record.error for record in records) else 0
