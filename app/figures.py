"""The figures the pages state about the shipped models, each the one of the mode the model runs in."""

from __future__ import annotations

from fer_core import Analyzer
from fer_core.inference.live import LiveSettings
from fer_core.inference.tta import TTA_LABELS, default_evaluation, default_tta_mode, view_count
from fer_core.runs.folder import architecture_line, read_run
from fer_core.runs.registry import camera_model_path, default_model_path


def run_line(path, live: bool = False) -> str:
    """A shipped model's name and its PublicTest accuracy in the mode it runs in: the camera's test-time
    augmentation (LiveSettings.tta) there, else the model's default (tta.default_evaluation)."""
    run = read_run(path.parent)
    evaluation = (run.evaluations.get(LiveSettings().tta) if live
                  else default_evaluation(run.settings, run.evaluations))
    return f"**{run.name}**" + (f" ({evaluation['accuracy']:.1%} on PublicTest)" if evaluation else "")


def accuracy_sentence() -> str:
    """The default model's accuracy in one plain sentence, on faces as a camera delivers them where measured."""
    run = read_run(default_model_path().parent)
    raw = (run.scorecard or {}).get("raw")
    scene = (run.scorecard or {}).get("scene")
    if raw:
        found = (f" Put into larger pictures, turned and moved about, the same faces are found, aligned and read "
                 f"right **{scene['accuracy']:.0%}** of the time, {scene['of_direct']:.0%} of that."
                 if scene else "")
        return (f"On {raw['n']:,} faces it had not been trained on, in the pixels a camera delivers, the model "
                f"names the emotion that FER2013's annotators chose **{raw['accuracy']:.0%}** of the time; happy "
                "and surprised faces are easiest, disgust and fear hardest." + found)
    evaluation = default_evaluation(run.settings, run.evaluations)
    return "" if evaluation is None else (f"On FER2013's test faces the model is right **{evaluation['accuracy']:.0%}**"
                                          " of the time.")


def model_summary(analyzer: Analyzer | None = None) -> str:
    path = default_model_path()
    run = read_run(path.parent)
    lines = [f"**{run.name}**"]  # the folder's name: where it lies on the server is not the browser's business
    if run.settings:
        lines.append(f"- architecture: {architecture_line(run)}")
    default = default_tta_mode(run.settings, run.evaluations)
    shown = run.evaluations.get(default)
    if shown:
        lines.append(f"- PublicTest accuracy as photos run it ({TTA_LABELS[default]}, {view_count(default)} view(s) "
                     f"per face): {shown['accuracy']:.1%}, macro-F1 {shown['macro_f1']:.3f} ({shown['n']:,} faces)")
    for mode, evaluation in run.evaluations.items():
        if mode != default:
            lines.append(f"- also measured, {TTA_LABELS[mode]} ({view_count(mode)} view(s) per face): "
                         f"{evaluation['accuracy']:.1%}")
    if camera_model_path() != path:
        lines.append(f"- the live camera uses {run_line(camera_model_path(), live=True)}, light enough for every frame")
    if analyzer:
        engine = {"tflite": "LiteRT (XNNPACK)", "function": "compiled TensorFlow function"}
        lines.append(f"- inference: {engine.get(analyzer.predictor.engine, analyzer.predictor.engine)}; photos are "
                     f"analysed {'with ' + TTA_LABELS[analyzer.tta] if analyzer.tta != 'none' else 'without TTA'}")
    return "\n".join(lines)
