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
from fer_core.inference.outputs import unique_name, write_atomically
from fer_core.inference.pipeline import Analyzer, FaceResult
from fer_core.inference.predictor import Predictor
from fer_core.inference.rows import FACE_COLUMNS, face_rows, rows_to_csv
from fer_core.runs.registry import default_model_path


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


def analyze_file(path, analyzer: Analyzer, annotated: Path | None = None) -> ImageRecord:
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


def annotated_paths(paths, annotated_dir: Path | None) -> list[Path | None]:
    """Where each image's annotated copy goes: <stem>.png, numbered when stems repeat."""
    if annotated_dir is None:
        return [None] * len(paths)
    used: set[str] = set()
    return [annotated_dir / f"{unique_name(Path(path).stem, used)}.png" for path in paths]


def analyze_files(paths, analyzer: Analyzer, annotated_dir: Path | None = None, on_error=None,
                  progress=None) -> list[ImageRecord]:
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


def records_to_csv(records: list[ImageRecord], labels) -> str:
    """One row per face of every readable image, in the columns of fer_core.inference.rows.face_rows."""
    rows = [row for record in records for row in face_rows(record.faces, labels, {"image": record.image})]
    return rows_to_csv(rows, ["image", *FACE_COLUMNS, *labels])


def detector_from_args(args) -> DetectorConfig:
    overrides = {k: v for k, v in {
        "scale_factor": args.scale_factor, "min_neighbors": args.min_neighbors,
        "min_face": args.min_face, "max_side": args.max_side, "method": args.detector,
        "score_threshold": args.score_threshold, "align": args.align}.items() if v is not None}
    return DetectorConfig(**overrides)


def run_analyze(args) -> int:
    paths = expand_inputs(args.inputs)
    if not paths:
        print("error: no image files found in the given inputs", file=sys.stderr)
        return 1
    annotated_dir = Path(args.annotated) if args.annotated else None
    if annotated_dir:
        annotated_dir.mkdir(parents=True, exist_ok=True)

    def report(path, message):
        print(f"{path}: {message}", file=sys.stderr)

    def progress(done, total):
        print(f"\r{done}/{total} images ({100 * done // total}%)", end="\n" if done == total else "",
              file=sys.stderr, flush=True)

    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    model_path = Path(args.model or default_model_path()).resolve()
    predictor = Predictor.load(model_path)  # here too: a missing or broken model fails before any cluster starts
    if args.engine == "ray":
        from fer_core.inference.ray_engine import analyze_files_on_ray

        records = analyze_files_on_ray(paths, model_path, detector_from_args(args), args.tta,
                                       annotated_dir, args.address, args.workers, on_error=report,
                                       progress=progress if show_progress else None)
    else:
        analyzer = Analyzer(predictor, detector_from_args(args), tta=args.tta)
        records = analyze_files(paths, analyzer, annotated_dir, on_error=report,
                                progress=progress if show_progress else None)
    write_outputs(records, predictor.labels, args)
    return 1 if any(record.error for record in records) else 0


def write_outputs(records: list[ImageRecord], labels, args) -> None:
    """The CSV and the JSON (each whole or not at all), or one line per image on stdout."""
    if args.csv:
        write_atomically(args.csv, records_to_csv(records, labels))
    text = json.dumps([record.to_dict() for record in records], indent=2)
    if args.json == "-":
        print(text)
    elif args.json:
        write_atomically(args.json, text)
    elif not args.csv:
        for record in records:
            if record.error is None:
                faces = ", ".join(f"{f.emotion} {f.confidence:.0%}" for f in record.faces) or "no faces"
                print(f"{record.image}: {faces}")
