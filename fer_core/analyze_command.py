"""The `analyze` command: many images through one Analyzer (or a Ray cluster), reported as JSON, CSV or lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fer_core.inference.detect import DetectorConfig
from fer_core.inference.files import ImageRecord, analyze_files, annotated_paths, expand_inputs, records_to_csv
from fer_core.inference.outputs import check_inputs_survive, write_atomically
from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from fer_core.runs.registry import default_model_path


def run_analyze(args, detector: DetectorConfig) -> int:
    paths = expand_inputs(args.inputs)
    if not paths:
        print("error: no image files found in the given inputs", file=sys.stderr)
        return 1
    annotated_dir = Path(args.annotated) if args.annotated else None
    check_inputs_survive(paths, [*annotated_paths(paths, annotated_dir), args.csv,
                                 None if args.json == "-" else args.json])
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

        records = analyze_files_on_ray(paths, model_path, detector, args.tta,
                                       annotated_dir, args.address, args.workers, on_error=report,
                                       progress=progress if show_progress else None)
    else:
        analyzer = Analyzer(predictor, detector, tta=args.tta)
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
