"""The model card of a training run (model_card.md), written from the run's own files."""

from __future__ import annotations

from pathlib import Path

from fer_core.inference.tta import TTA_LABELS, default_tta_mode, view_count
from fer_core.runs import folder as run_folder
from fer_core.runs import registry
from fer_core.runs.folder import architecture_line, member_runs, read_run, targets_line
from fer_core.training.settings import command_arguments


def _starting_run(settings: dict):
    """The run whose model `--init-from` named, if its folder (with settings.json) is at hand, else None."""
    return _run_of(settings.get("init_from"))


def _run_of(model_path: str | None):
    """The run folder (with settings.json) that wrote model_path, if it is at hand, else None."""
    if not model_path:
        return None
    folder = Path(model_path).parent
    # A run that was not shipped keeps its records (no weights) under experiments/, by name.
    candidates = [folder if folder.is_absolute() else base / folder for base in (Path.cwd(), registry.REPO_ROOT)]
    for candidate in [*candidates, registry.EXPERIMENTS_DIR / folder.name]:
        if (candidate / run_folder.SETTINGS_FILE).is_file():
            return read_run(candidate)
    return None


def _lineage(run) -> list:
    """The runs whose weights this one grew from (followed through --init-from), oldest first, then the run."""
    chain, seen = [run], {run.folder.resolve()}
    while (start := _starting_run(chain[0].settings)) is not None and start.folder.resolve() not in seen:
        seen.add(start.folder.resolve())
        chain.insert(0, start)
    return chain


def _from_scratch(run) -> str:
    """The training hours of a run's whole lineage, when it grew from others."""
    chain = _lineage(run)
    if len(chain) == 1:
        return ""
    return f"; {_training_hours(chain):.2f} h from scratch over its {len(chain)} runs (see Reproduce)"


def _training_hours(runs) -> float:
    return sum((run.evaluation or {}).get("train_seconds", 0) for run in runs) / 3600


def _lineage_commands(run, out: str) -> list[str]:
    """Train commands from scratch to this run: each warm restart starts from the run folder the step before wrote,
    so the steps need no shipped model."""
    chain, commands = _lineage(run), []
    for before, step in zip([None, *chain[:-1]], chain, strict=True):
        settings = step.settings | ({"init_from": f"runs/{before.name}/{run_folder.MODEL_FILE}"} if before else {})
        teacher = _run_of(settings.get("teacher"))
        if teacher is not None:
            # A distilled run needs its teacher built first, under the name its --teacher gives.
            commands += _commands_of(teacher, f"runs/{teacher.name}")
            settings = settings | {"teacher": f"runs/{teacher.name}/{run_folder.MODEL_FILE}"}
        commands += _train_commands(settings, out if step is run else f"runs/{step.name}")
    return commands


def _commands_of(run, out: str) -> list[str]:
    return _ensemble_commands(run, out) if run.is_ensemble else _lineage_commands(run, out)


def _train_commands(settings: dict, out: str) -> list[str]:
    """One train command, or one per part where a resume changed --epochs (see training._schedule_changes)."""
    commands, resume = [], ""
    for change in settings.get("schedule_changes", []):
        commands.append(_command(settings | {"epochs": change["epochs_before"]}, out,
                                 f"{resume}--stop-after {change['after_epoch']}"))
        resume = "--resume "
    return [*commands, _command(settings, out, resume.strip())]


def _command(settings: dict, out: str, extra: str = "") -> str:
    first, *rest = command_arguments(settings | {"out": out})
    # A run trained on another Keras backend names it: the same recipe on TensorFlow draws other random numbers.
    backend = settings.get("keras_backend")
    prefix = f"KERAS_BACKEND={backend} " if backend and backend != "tensorflow" else ""
    lines = [f"{prefix}python -m fer_core train " + first, *rest]
    return " \\\n    ".join([*lines, extra] if extra else lines)


def _inference_line(evaluations: dict[str, dict], default: str, machine, set_when_shipped: bool = False) -> str:
    uses = f"`analyze` and `evaluate` use {TTA_LABELS[default]} ({view_count(default)} views per face) by default"
    chosen = (f"{uses}, chosen when shipped (`ship --tta {default}`) by what users see" if set_when_shipped else
              f"{uses}: it scored best" if default != "none" else
              "`analyze` and `evaluate` use no TTA by default: no mode beat the plain network")
    costs = [f"{TTA_LABELS[mode]} {ev['inference']['batch1_ms']:.2f} ms at batch 1 and "
             f"{ev['inference']['batch32_faces_per_s']:,.0f} faces/s at batch 32"
             for mode, ev in evaluations.items() if ev.get("inference")]
    if not costs:
        return f"{chosen}."
    engine = next(ev["inference"]["engine"] for ev in evaluations.values() if ev.get("inference"))
    return (f"Inference cost per face ({engine} engine, {machine}): {'; '.join(costs)}. {chosen}; the live camera "
            "runs one pass per face.")


def _cpu_time(history: list[dict]) -> str:
    """Core-hours of CPU over the epochs that recorded it (runs from before the column have none)."""
    recorded = [row["cpu_seconds"] for row in history if row.get("cpu_seconds")]
    if not recorded:
        return ""
    share = "" if len(recorded) == len(history) else f" over the {len(recorded)} epochs that recorded it"
    return f", {sum(recorded) / 3600:.2f} core-hours of CPU{share}"


def _ensemble_cpu_time(runs) -> str:
    """The members' core-hours together, and how many epochs of how many had no CPU time recorded."""
    rows = [row for run in runs for row in run.history]
    recorded = [row["cpu_seconds"] for row in rows if row.get("cpu_seconds")]
    if not recorded:
        return ""
    missing = len(rows) - len(recorded)
    share = f" (over the {len(recorded)} of {len(rows)} epochs that recorded it)" if missing else ""
    return f"; {sum(recorded) / 3600:.2f} core-hours of CPU{share}"


def _epoch_time(history: list[dict]) -> str:
    # The median, because the total also counts any time the job was paused or shared the machine.
    seconds = sorted(row["seconds"] for row in history if row.get("seconds"))
    return f" (median epoch {seconds[len(seconds) // 2]:.0f} s)" if seconds else ""


def _changes_note(settings: dict) -> str:
    notes = [f"epochs to {c['after_epoch']} ran on a {c['epochs_before']}-epoch schedule"
             for c in settings.get("schedule_changes", [])]
    return f" ({'; '.join(notes)}; the rest on the {settings.get('epochs')}-epoch one)" if notes else ""


def _kept_model(run) -> str:
    """Which candidate became model.keras: the best epoch, or the weight average (SWA) at some epoch."""
    swa_start = run.settings.get("swa_start")
    if not swa_start:
        return "best epoch kept by validation accuracy"
    best_epoch = max(run.history, key=lambda r: r.get("val_accuracy") or -1.0, default=None)
    best_swa = max(run.history, key=lambda r: r.get("swa_val_accuracy") or -1.0, default=None)
    rule = ("each epoch and the running average of the weights from epoch "
            f"{swa_start} on (SWA, batch norm recalibrated on training faces) compete by validation accuracy")
    if best_swa and (best_swa.get("swa_val_accuracy") or -1.0) > ((best_epoch or {}).get("val_accuracy") or -1.0):
        return f"{rule}; kept: the average of epochs {swa_start}-{int(best_swa['epoch'])}"
    return f"{rule}; kept: epoch {int(best_epoch['epoch'])}" if best_epoch else rule


def _rate(settings: dict) -> str:
    if settings.get("schedule") == "constant":
        return f"a constant lr {settings.get('learning_rate')}"
    return (f"peak lr {settings.get('learning_rate')} with {settings.get('schedule')} schedule "
            f"({settings.get('warmup_epochs')} warm-up)")


def _teacher(settings: dict) -> str:
    if not settings.get("teacher"):
        return ""
    mode = settings.get("teacher_tta", "none")
    views = f", averaged over its {view_count(mode)} {TTA_LABELS[mode]} views" if mode != "none" else ""
    cached = settings.get("teacher_targets_sha256")
    source = (f"computed once on the plain faces and cached as `{cached[:12]}`" if cached
              else "predicted on each augmented batch")
    return (f"; distilled from `{settings['teacher']}` (its probabilities{views}, {source}, weigh "
            f"{settings.get('distill')} in each target)")


def _augmentation(settings: dict) -> str:
    if not settings.get("augment", True):
        return "no augmentation (the faces as they are)"
    if settings.get("flip_only"):
        return "horizontal flips only (no rotation, zoom or shift)"
    mixing = "".join([f"; mixup {settings['mixup']:g}" if settings.get("mixup") else "",
                      f"; CutMix on {settings['cutmix']:.0%} of batches" if settings.get("cutmix") else ""])
    return (f"augmentation (flip, rotation up to {settings.get('max_rotation', 15.0):g} degrees, zoom up to "
            f"{settings.get('max_zoom', 0.15):.0%}, shift up to {settings.get('max_shift', 0.1):.0%}; random erasing "
            f"{settings.get('random_erasing')}{mixing})")


def _targets(settings: dict) -> str:
    if not settings.get("ferplus"):
        return targets_line(settings)
    weight = settings.get("ferplus_weight")
    return (f"{targets_line(settings)}: (1 - {weight}) x the label + {weight} x the vote distribution from "
            f"`{settings['ferplus']}`")


def _single_header(run) -> list[str]:
    s = run.settings
    hours = (run.evaluation or {}).get("train_seconds", 0) / 3600
    return [
        f"- Architecture: `{s.get('arch')}`, {s.get('parameters', 0):,} parameters, input 48x48 gray, "
        f"{len(s.get('classes', []))} classes ({', '.join(s.get('classes', []))})",
        f"- Data: FER2013 `train/` ({s.get('train_images', 0):,} faces) from `{s.get('data')}`, validated on "
        f"`{s.get('val_split')}/` ({s.get('val_images', 0):,} faces, PublicTest); {_kept_model(run)}",
        f"- Settings: {s.get('epochs')} epochs, batch {s.get('batch_size')}, {s.get('optimizer')} at "
        f"{_rate(s)}, targets {_targets(s)}, label smoothing {s.get('label_smoothing')}, "
        f"class weights {s.get('class_weights')}, "
        f"{_augmentation(s)}, seed {s.get('seed')}{_changes_note(s)}"
        + _teacher(s)
        + (f"; started from the weights of `{s['init_from']}` (a warm restart), so its training time adds to that "
           "model's" if s.get("init_from") else ""),
        f"- Training: {len(run.history)} epochs run, {hours:.2f} h wall-clock{_epoch_time(run.history)}"
        f"{_cpu_time(run.history)} on "
        f"{s.get('machine')}, Keras {s.get('keras_version')} on the {s.get('keras_backend')} backend"
        + _from_scratch(run),
    ]


def _ensemble_header(run) -> list[str]:
    s = run.settings
    lines = [
        f"- Architecture: {architecture_line(run)}, input 48x48 gray, {len(s.get('classes', []))} classes "
        f"({', '.join(s.get('classes', []))}); one .keras file",
        f"- Data: every member trained on FER2013 `train/` ({s.get('train_images') or 0:,} faces) from "
        f"`{s.get('data')}` and kept its best epoch on `{s.get('val_split')}/` ({s.get('val_images', 0):,} faces, "
        "PublicTest)",
        "",
        "| member | architecture | parameters | epochs | PublicTest accuracy alone | training time |",
        "|---|---|---|---|---|---|",
    ]
    for member in member_runs(run):
        ms, ev = member.settings, member.evaluation or {}
        inner = member_runs(member)
        arch = f"`{ms.get('arch')}` of {', '.join(m.name for m in inner)}" if inner else f"`{ms.get('arch')}`"
        epochs = "see its members" if inner else len(member.history)
        lines.append(f"| {member.name} | {arch} | {ms.get('parameters', 0):,} | {epochs} "
                     f"| {ev.get('accuracy', float('nan')):.4f} | {ev.get('train_seconds', 0) / 3600:.2f} h"
                     f"{_epoch_time(member.history)}{_from_scratch(member)} |")
    # By name: a member copied into members/ and the same run reached through another member's --init-from.
    chains = {step.name: step for network in _networks(run) for step in _lineage(network)}
    lines += _member_weights_line(s)
    lines += ["", f"Training from scratch: {_training_hours(chains.values()):.2f} h over {len(chains)} distinct runs"
              f"{_ensemble_cpu_time(chains.values())} (members grown from one chain share its first runs; see "
              "Reproduce)."]
    lines += ["", "Each member's settings, history and card are in `members/<name>/`. Assembled with Keras "
              f"{s.get('keras_version')} on the {s.get('keras_backend')} backend, {s.get('machine')}."]
    return lines


SCORECARD_TITLES = {"original": "PublicTest, original labels", "raw": "PublicTest in raw pixels",
                    "ferplus": "PublicTest, FER+ majority label", "end_to_end": "end to end on full images",
                    "scene": "PublicTest faces in scenes, detected and aligned"}


def _scorecard(run) -> list[str]:
    """The section of what users see (fer_core.training.scorecard), when the model folder has one."""
    card = run.scorecard
    if not card:
        return []
    present = [m for m in SCORECARD_TITLES if m in card]
    lines = ["## What users see", "",
             f"Measured by `evaluate --scorecard` with test-time augmentation `{card['tta']}`.", "",
             "| measure | data | faces | accuracy | macro-F1 |", "|---|---|---|---|---|"]
    for m in present:
        note = (f" ({card[m]['unscored']} without a majority not scored)" if "unscored" in card[m] else "") + (
            f" (detector {card[m].get('detector', 'haar')}; no face found in {card[m]['no_face']})"
            if "no_face" in card[m] else "") + (
            f"; {card[m]['of_direct']:.1%} of the same faces' direct-crop accuracy, {card[m]['direct_accuracy']:.4f}"
            if "of_direct" in card[m] else "")
        lines.append(f"| {SCORECARD_TITLES[m]} | `{card[m].get('source', '')}` | {card[m]['n']}{note} | "
                     f"{card[m]['accuracy']:.4f} | {card[m]['macro_f1']:.4f} |")
    lines += ["", "Recall per class:", "", "| class | " + " | ".join(SCORECARD_TITLES[m] for m in present) + " |",
              "|---|" + "---|" * len(present)]
    for name in card["original"]["labels"]:
        lines.append(f"| {name} | " + " | ".join(f"{card[m]['per_class'][name]['recall']:.3f}" for m in present)
                     + " |")
    return [*lines, ""]


def _weighting_flags(settings: dict) -> str:
    if settings.get("member_weights_fitted_on"):
        return " --fit-weights"
    if settings.get("member_weights"):
        return f" --weights {','.join(f'{w:g}' for w in settings['member_weights'])}"
    return ""


def _member_weights_line(settings: dict) -> list[str]:
    weights = settings.get("member_weights")
    if not weights:
        return ["", "The members' probabilities are averaged with equal weights."]
    names = [m.get("name") for m in settings.get("members", [])]
    shares = ", ".join(f"{name} {weight:.2f}" for name, weight in zip(names, weights, strict=True))
    fitted = settings.get("member_weights_fitted_on")
    return ["", f"The members' probabilities are averaged with weights {shares}"
                + (f", fitted on {fitted}." if fitted else ", as given.")]


def _networks(run) -> list:
    """The trained networks an ensemble averages, through ensembles of ensembles."""
    return [network for member in member_runs(run)
            for network in (_networks(member) if member.is_ensemble else [member])]


def _ensemble_commands(run, out: str) -> list[str]:
    """Every command that builds this ensemble: its members' training (a member ensemble's own commands first),
    then the `ensemble` command itself."""
    steps = [step for member in member_runs(run) for step in _commands_of(member, f"runs/{member.name}")]
    return [*steps, f"python -m fer_core ensemble {' '.join(f'runs/{m.name}' for m in member_runs(run))} "
                    f"--out {out} --data {run.settings.get('data')}{_weighting_flags(run.settings)}"]


def _reproduce(run) -> list[str]:
    s, out = run.settings, f"models/{run.name}"
    trained = s.get("experiment", run.name)
    # Members grown from one chain, or a teacher and its student, share runs; each is trained once (dict keeps
    # first order).
    steps = list(dict.fromkeys(_commands_of(run, f"runs/{trained}")))
    name = f" --name {run.name}" if trained != run.name else ""
    name += f" --tta {s['tta_default']}" if s.get("tta_default") else ""
    steps.append(f"python -m fer_core ship runs/{trained}{name}   # -> {out}/, the model saved without its optimizer "
                 "state")
    for mode in run.evaluations or {"none": None, "mirror": None}:
        steps.append(f"python -m fer_core evaluate --data {s.get('data')} --split test --model {out}/model.keras "
                     f"--tta {mode}")
    return ["## Reproduce", "", "```bash", *steps, "```", ""]


def _weaknesses(run, per_class: dict) -> list[str]:
    weak = [name for name, m in per_class.items() if m["recall"] < 0.4]
    lines = [f"- Classes recognised less than 40% of the time: {', '.join(weak)}." if weak
             else "- No class below 40% recall."]
    if per_class:
        lowest = sorted(per_class.items(), key=lambda item: item[1]["recall"])[:2]
        lines.append("- Lowest recall: " + ", ".join(f"{name} {m['recall']:.1%} ({m['support']} test faces)"
                                                     for name, m in lowest) + ".")
    chosen = "the epoch kept" + (" and the members" if run.settings.get("arch") == run_folder.ENSEMBLE_ARCH else "")
    lines.append(f"- PublicTest chose {chosen}, so these figures are somewhat optimistic for faces it has not seen.")
    return lines


def model_card(run_dir) -> str:
    run = read_run(run_dir)
    s, evaluations = run.settings, run.evaluations
    header = _ensemble_header(run) if s.get("arch") == run_folder.ENSEMBLE_ARCH else _single_header(run)
    lines = [
        f"# Model card: {run.name}",
        "",
        *([f"- Trained as the experiment `{s['experiment']}`; Reproduce below lists every command from scratch"]
          if s.get("experiment") else []),
        *header,
        "",
        "## PublicTest results",
        "",
        "| test-time augmentation | views per face | accuracy | macro-F1 |",
        "|---|---|---|---|",
    ]
    for mode, ev in evaluations.items():
        lines.append(f"| {TTA_LABELS[mode]} | {view_count(mode)} | {ev['accuracy']:.4f} | {ev['macro_f1']:.4f} |")
    # Per-class figures describe the model as `analyze` and `evaluate` run it: in its default mode.
    default = default_tta_mode(s, evaluations)
    default_ev = evaluations.get(default, {})
    lines += [
        "",
        f"Per class ({TTA_LABELS[default]}, the default):",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for name, m in default_ev.get("per_class", {}).items():
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    lines += ["", _inference_line(evaluations, default, s.get("machine"), set_when_shipped="tta_default" in s)]
    lines += ["", "## Known weaknesses", "", *_weaknesses(run, default_ev.get("per_class", {}))]
    lines += [
        "- Trained on 48x48 grayscale FER2013 faces: frontal, mostly posed web images; expect lower accuracy on "
        "profiles, strong lighting, occlusions and very small faces.",
        "",
        *_scorecard(run),
        *_reproduce(run),
    ]
    return "\n".join(lines)


def write_model_card(run_dir) -> Path:
    path = Path(run_dir) / run_folder.CARD_FILE
    path.write_text(model_card(run_dir))
    return path
