"""python -m fer_core {train,evaluate,analyze,video,ship,ensemble}: the command line over the library."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path

from fer_core.inference.tta import TTA_MODES  # numpy and OpenCV only: keeps --help fast


def _quiet_tensorflow() -> None:
    """The command line's stderr carries its own messages only. TensorFlow (loaded by train, ship, ensemble and by
    evaluate on a model with no converted file) logs from C++ whatever level the caller asked for, and from Python
    through absl and warnings, so all three are silenced before it can load. Done by main(), not on import, so that
    importing this module changes nothing for a program that uses the library."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(keras|tensorflow|absl|google)(\.|$)")


def _add_train(sub) -> None:
    from fer_core.training.settings import add_arguments

    p = sub.add_parser("train", help="train a model and write its run files",
                       description="Train a model on FER2013 (image folders or fer2013.csv). The run folder gets "
                                   "settings.json, history.csv, model.keras (best on validation), evaluation.json, "
                                   "evaluation_mirror.json and checkpoint/ for --resume.")
    add_arguments(p)
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument("--stop-after", type=int, metavar="EPOCH",
                   help="end this part after this epoch (the schedule still spans --epochs); go on with --resume")
    p.add_argument("--progress", choices=["bar", "epoch", "none"], default="bar" if sys.stderr.isatty() else "epoch",
                   help="a progress bar per epoch, one line per epoch, or silence")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score a model on a labelled split",
                       description="Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix "
                                   "(rows = true class).")
    p.add_argument("--data", required=True, help="dataset folder (with test/ or bare class folders) or fer2013.csv")
    p.add_argument("--split", default="test", help="train, test or private (default: %(default)s)")
    p.add_argument("--model", help="a .keras file (default: the shipped model)")
    _add_tta_options(p)
    p.add_argument("--json", help="write the metrics to this JSON file")
    p.add_argument("--rescore", action="store_true",
                   help="instead of one report, rewrite every TTA mode's evaluation file and the model card beside "
                        "--model, on the split it was validated on (keeps its recorded training time)")
    p.add_argument("--raw", metavar="DIR", help="scorecard: also score the split's faces in original pixels from "
                   "this folder (same layout, e.g. ../shared/data/fer2013_raw)")
    p.add_argument("--ferplus", metavar="CSV", help="scorecard: also score against the FER+ majority label "
                   "(default: DATA/ferplus.csv when it exists and a scorecard is asked for)")
    p.add_argument("--e2e", metavar="DIR", help="scorecard: also detect, crop and classify the largest face of each "
                   "image listed in DIR/labels.csv (file,label); an image with no face found counts as wrong")
    p.add_argument("--scene", metavar="DIR", help="scorecard: also paste the split's faces from this folder (same "
                   "layout, e.g. ../shared/data/fer2013_raw) into scenes at random sizes, angles and places, then "
                   "detect, align and classify them; reports the detection rate and the share of the direct-crop "
                   "accuracy kept")
    _add_detector_options(p)
    p.add_argument("--scorecard", action="store_true",
                   help="report every measure the data allows in one JSON "
                        "(implied by --raw, --ferplus, --e2e, --scene)")
    p.add_argument("--save", action="store_true",
                   help="with a scorecard: write it beside --model as scorecard.json and rewrite the model card")


def _add_detector_options(p) -> None:
    from fer_core.inference.detect import DEFAULT_METHOD, METHODS

    p.add_argument("--detector", choices=METHODS, default=None,
                   help=f"face detector: yunet (a small CNN) or haar (OpenCV's cascade); default: {DEFAULT_METHOD}")
    p.add_argument("--score-threshold", type=float, metavar="S",
                   help="YuNet: keep faces scored at least S, in [0, 1] (default: 0.6); in a photo where none "
                        "reaches S, those scored at least 0.3 are kept unless --no-retry")
    p.add_argument("--no-retry", dest="retry", action="store_false", default=None,
                   help="YuNet: keep only faces that reach the score threshold, even when that leaves none")
    p.add_argument("--no-align", dest="align", action="store_false", default=None,
                   help="crop faces from their boxes instead of aligning YuNet's landmarks to FER2013's pose")


# DetectorConfig fields a command's flags may set; a flag left out keeps the command's own default.
DETECTOR_FLAGS = ("method", "score_threshold", "align", "scale_factor", "min_neighbors", "min_face", "max_side")


def _detector_overrides(args) -> dict:
    """The detector settings the command line gave (--detector names the method), for any command."""
    given = {name: getattr(args, "detector" if name == "method" else name, None) for name in DETECTOR_FLAGS}
    overrides = {name: value for name, value in given.items() if value is not None}
    if getattr(args, "retry", None) is False:
        overrides["retry_threshold"] = None
    return overrides


def _add_tta_options(p) -> None:
    p.add_argument("--tta", nargs="?", const="mirror", choices=TTA_MODES, default=None, metavar="MODE",
                   help="test-time augmentation: none, mirror (2 views; the mode a bare --tta picks) or multi "
                        "(18 views); default: the mode with the best validation accuracy recorded beside the model")
    p.add_argument("--no-tta", dest="tta", action="store_const", const="none", help="the same as --tta none")


def _add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="find faces in images and name their emotions",
                       description="Detect faces and classify their emotions in images or folders of images.")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("--json", help="write one object per image to this JSON file ('-' for stdout)")
    p.add_argument("--annotated", help="write annotated copies into this folder")
    p.add_argument("--csv", help="write one row per face (image, face, box, emotion, probabilities) to this CSV")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress on stderr (default: when stderr is a terminal)")
    p.add_argument("--model", help="a .keras file (default: the shipped model)")
    _add_detector_options(p)
    p.add_argument("--scale-factor", type=float, help="Haar scale factor")
    p.add_argument("--min-neighbors", type=int, help="Haar minimum neighbours")
    p.add_argument("--min-face", type=int, help="smallest face side in pixels of the original image")
    p.add_argument("--max-side", type=int, help="downscale so the longer side is at most this before detecting")
    _add_tta_options(p)
    _add_engine_options(p)


def _add_engine_options(p) -> None:
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process (default); ray: the files spread over a Ray cluster's workers")
    p.add_argument("--address", help="with --engine ray: the cluster to join (e.g. 10.0.0.5:6379, or auto); "
                   "default: a local Ray instance started for this run")
    p.add_argument("--workers", type=int, help="with --engine ray: how many workers (default: one per CPU)")


def _add_video(sub) -> None:
    p = sub.add_parser("video", help="analyse a video file: annotated video and per-frame CSV",
                       description="Track every face through a video (mp4, mov, webm, avi), label it with its "
                                   "smoothed emotion, and write an annotated H.264 MP4 and/or a per-frame CSV.")
    p.add_argument("inputs", nargs="+", metavar="input", help="video file(s)")
    p.add_argument("--out", help="annotated video to write (.mp4), for one input")
    p.add_argument("--csv", help="per-frame CSV to write: frame, time_s, face_id, box, emotion, probabilities; for "
                   "one input")
    p.add_argument("--out-dir", help="for any number of inputs: write <stem>.mp4 and <stem>.csv into this folder")
    p.add_argument("--every", type=int, default=1, help="analyse every Nth frame (default: every frame)")
    p.add_argument("--model", help="a .keras file (default: the shipped model)")
    _add_detector_options(p)
    _add_engine_options(p)


def _add_ship(sub) -> None:
    p = sub.add_parser("ship", help="copy a finished run into models/ for the app and the CLI",
                       description="Copy a run's settings, history and evaluations into models/<name>, save its best "
                                   "model without the optimizer state, and write its model card.")
    p.add_argument("run", help="the run folder written by train (with --in-place: a shipped model folder)")
    p.add_argument("--name", help="folder name under models/ (default: the run folder's name)")
    p.add_argument("--in-place", action="store_true",
                   help="rewrite an already shipped folder's model.tflite, inference.json and card from its "
                        "model.keras")
    p.add_argument("--models-dir", default=None, help="where shipped runs live (default: the repo's models/)")
    p.add_argument("--tta", choices=TTA_MODES, default=None,
                   help="the test-time augmentation analyze and evaluate use by default (default: the mode most "
                        "accurate on the run's PublicTest evaluations)")


def _add_ensemble(sub) -> None:
    p = sub.add_parser("ensemble", help="average several trained runs into one model",
                       description="Average the best models of several runs (or shipped model folders) into one "
                                   ".keras file, evaluate it with and without mirror TTA, and write it as a run "
                                   "folder that ship takes.")
    p.add_argument("runs", nargs="+", help="two or more run folders written by train (or folders under models/)")
    p.add_argument("--out", required=True, help="folder to write, e.g. runs/<name>")
    p.add_argument("--data", help="dataset to evaluate on (default: the first member's)")
    p.add_argument("--split", help="split to evaluate on (default: the first member's validation split)")
    weighting = p.add_mutually_exclusive_group()
    weighting.add_argument("--weights", type=_weight_list, metavar="W1,W2,...",
                           help="the members' shares of the mean, in their order (default: equal)")
    weighting.add_argument("--fit-weights", action="store_true",
                           help="choose the shares on the evaluation split (PublicTest): the lowest log-loss on a "
                                "0.05 grid, one view")


def _weight_list(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="serve the analysis over HTTP (POST /v1/analyze; docs at /docs)",
                       description="An HTTP API over the same analysis as `analyze --json`: on uvicorn in this "
                                   "machine's processes, or on a Ray Serve cluster (docs/scale.md).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes, each with its own models")
    p.add_argument("--max-upload-mb", type=float, default=20.0,
                   help="largest request body in MB, refused while it streams in (default: 20)")
    p.add_argument("--slots", type=int, default=2, help="analyses at once per process or replica (default: 2)")
    p.add_argument("--queue", type=int, default=16,
                   help="requests that may wait for a slot; beyond them the answer is 503 (default: 16)")
    p.add_argument("--body-timeout", type=float, default=30.0, metavar="S",
                   help="a client gets 408 when its request body takes longer than S seconds, or pauses for "
                        "longer than 10 s or S, whichever is less (default: 30)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: uvicorn (default); ray: Ray Serve replicas")
    p.add_argument("--address", help="with --engine ray: the cluster to join (default: a local Ray instance)")
    p.add_argument("--replicas", type=int,
                   help="with --engine ray: a fixed number of replicas (default: autoscaled by load, 1 to 4)")


def build_parser(prog: str = "python -m fer_core") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Facial emotion recognition.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_evaluate(sub)
    _add_analyze(sub)
    _add_video(sub)
    _add_ship(sub)
    _add_ensemble(sub)
    _add_serve(sub)
    return parser


def run_train(args) -> int:
    from fer_core.training.settings import from_arguments
    from fer_core.training.train import train

    settings = from_arguments(args)
    verbose = {"bar": 1, "epoch": 2, "none": 0}[args.progress]
    from fer_core.training.evaluation import format_report

    evaluation = train(settings, resume=args.resume, verbose=verbose, stop_after=args.stop_after)
    if evaluation is None:
        print(f"stopped after epoch {args.stop_after} of {args.epochs}; continue with the same command and --resume")
    else:
        print(format_report(evaluation))
    return 0


def run_evaluate(args) -> int:
    from fer_core.inference.predictor import Predictor
    from fer_core.training.data import load_dataset
    from fer_core.training.evaluation import evaluate_dataset, format_report

    if args.rescore:
        return _rescore(args)
    if args.scorecard or args.raw or args.ferplus or args.e2e or args.scene or args.save:
        return _scorecard(args)
    predictor = Predictor.load(args.model)
    dataset = load_dataset(args.data, args.split, predictor.labels)
    if len(dataset.images) == 0:
        print(f"error: no labelled faces in the {args.split} split of {args.data}", file=sys.stderr)
        return 1
    tta = predictor.tta_default if args.tta is None else args.tta
    metrics = evaluate_dataset(predictor, dataset, tta=tta)
    print(format_report(metrics))
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2))
    return 0


def _scorecard(args) -> int:
    from fer_core.inference.detect import DetectorConfig
    from fer_core.inference.pipeline import Analyzer
    from fer_core.inference.predictor import Predictor
    from fer_core.runs import folder as run_folder
    from fer_core.runs import registry
    from fer_core.training.model_card import write_model_card
    from fer_core.training.scorecard import format_scorecard, scorecard

    model = Path(args.model) if args.model else registry.default_model_path()
    predictor = Predictor.load(model)
    analyzer = Analyzer(predictor, DetectorConfig(**_detector_overrides(args)), args.tta)
    card = scorecard(predictor, args.data, args.split, tta=args.tta, raw=args.raw, ferplus_csv=args.ferplus,
                     e2e=args.e2e, analyzer=analyzer, scenes=args.scene)
    print(format_scorecard(card))
    text = json.dumps(card, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    if args.save:
        (model.parent / run_folder.SCORECARD_FILE).write_text(text)
        print(f"wrote {model.parent / run_folder.SCORECARD_FILE} and {write_model_card(model.parent)}")
    return 0


def _rescore(args) -> int:
    from fer_core.runs import registry
    from fer_core.runs.folder import read_run
    from fer_core.training.evaluation import rescore_model_folder
    from fer_core.training.model_card import write_model_card

    model = Path(args.model) if args.model else registry.default_model_path()
    rescore_model_folder(model, args.data)
    write_model_card(model.parent)
    evaluations = read_run(model.parent).evaluations
    for mode, evaluation in evaluations.items():
        print(f"{mode:>6}: accuracy {evaluation['accuracy']:.4f}  macro-F1 {evaluation['macro_f1']:.4f}")
    print(f"rewrote the evaluation files and model card in {model.parent}")
    return 0


def run_ship(args) -> int:
    from fer_core.runs import folder as run_folder
    from fer_core.runs import registry
    from fer_core.training.ship import ship_run

    run = Path(args.run)
    if args.in_place:
        from fer_core.training.model_card import write_model_card
        from fer_core.training.ship import set_tta_default, write_converted_model

        if args.tta:
            set_tta_default(run, args.tta)
        print(f"wrote {write_converted_model(run)} and {write_model_card(run)}")
        return 0
    dest = Path(args.models_dir or registry.MODELS_DIR) / (args.name or run.name)
    ship_run(run, dest, tta=args.tta)
    print(f"shipped {run} to {dest}; make it the default with FER_MODEL={dest / run_folder.MODEL_FILE} or "
          f"fer_core.runs.registry.DEFAULT_MODEL = {dest.name!r}")
    return 0


def run_ensemble(args) -> int:
    from fer_core.training.ensemble import build_ensemble
    from fer_core.training.evaluation import format_report

    print(format_report(build_ensemble(args.runs, args.out, data=args.data, split=args.split, weights=args.weights,
                                       fit=args.fit_weights)))
    return 0


def console_main() -> int:
    """The `fer-core` command that installing the package puts on PATH: the same CLI as python -m fer_core."""
    return main(prog="fer-core")


def main(argv=None, prog: str = "python -m fer_core") -> int:
    _quiet_tensorflow()
    args = build_parser(prog).parse_args(argv)
    from fer_core.errors import FerError

    handlers = {"train": run_train, "evaluate": run_evaluate, "analyze": _run_analyze, "video": run_video,
                "ship": run_ship, "ensemble": run_ensemble, "serve": run_serve}
    try:
        return handlers[args.command](args)
    except (FerError, OSError) as exc:  # the user's to put right; anything else is a bug and keeps its traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outputs are written whole or not at all, so nothing partial is left behind
        print("interrupted", file=sys.stderr)
        return 130


def run_serve(args) -> int:
    from fer_core.errors import UsageError
    from fer_core.server.config import ServerConfig
    from fer_core.server.launch import serve_ray, serve_uvicorn

    try:
        config = ServerConfig(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), analysis_slots=args.slots,
                              queue_limit=args.queue, body_seconds=args.body_timeout,
                              idle_body_seconds=min(ServerConfig.idle_body_seconds, args.body_timeout))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.engine == "ray":
        serve_ray(config, args.host, args.port, args.address, args.replicas)
    else:
        serve_uvicorn(config, args.host, args.port, args.workers)
    return 0


def _run_analyze(args) -> int:
    from fer_core.analyze_command import run_analyze
    from fer_core.inference.detect import DetectorConfig

    return run_analyze(args, DetectorConfig(**_detector_overrides(args)))


def run_video(args) -> int:
    from fer_core.inference.video import video_jobs

    jobs = video_jobs(args.inputs, args.out, args.csv, args.out_dir)  # ValueError: a one-line usage error
    if args.engine == "ray":
        from fer_core.inference.ray_engine import process_videos_on_ray

        summaries = process_videos_on_ray(jobs, args.model, args.every, _detector_overrides(args), args.address,
                                          args.workers)
    else:
        from fer_core.inference.predictor import Predictor

        predictor = Predictor.load(args.model)  # once for all the videos
        summaries = [_run_one_video(job, args, predictor) for job in jobs]
    for job, summary in zip(jobs, summaries, strict=True):
        print(f"{job.input}: {summary.frames} frames at {summary.fps:.2f} fps ({summary.width}x{summary.height}), "
              f"{len(summary.face_ids)} face id(s), {summary.frames / max(summary.seconds, 1e-9):.1f} frames/s "
              "processed" + (f", video codec {summary.codec}" if summary.codec else ""))
    return 0


def _run_one_video(job, args, predictor):
    from fer_core.inference.video import run_video_job

    def progress(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            shown = f"{done}/{total} frames ({100 * done // total}%)" if total else f"{done} frames"
            print(f"\r{shown}", end="", file=sys.stderr, flush=True)

    summary = run_video_job(job, args.every, None, _detector_overrides(args), progress=progress, predictor=predictor)
    print(file=sys.stderr)
    return summary
