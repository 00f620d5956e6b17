"""A training run's settings, each declared once with its command-line flag.

`train`'s arguments (fer_core.cli), the settings.json every run writes and the Reproduce commands of model cards
(fer_core.training.model_card) are all built from the fields below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


def _option(default, help: str, line: int | None = None, **argparse_extra):
    """A setting with its flag's help; `line` groups the flags every Reproduce command spells out, even at their
    default (others appear only when they differ from it); `with_setting` names a setting whose flag this one
    always follows."""
    return dataclasses.field(default=default, metadata={"help": help, "line": line, **argparse_extra})


@dataclass
class TrainSettings:
    data: str = _option(None, "dataset folder (train/ and test/ inside) or fer2013.csv", line=0, required=True)
    out: str = _option(None, "run folder to write", line=0, required=True)
    arch: str = _option("mini_xception", "mini_xception, vgg, vgg_fast, vgg_fast_wide, vgg_full5, vgg_khaireddin, or "
                        "mobilenet_v2 (96 px), mobilenet_v2_64 or efficientnet_lite0 (ImageNet-initialised)", line=1)
    epochs: int = _option(30, "total epochs, including any already done", line=1)
    batch_size: int = _option(64, "faces per batch", line=1)
    learning_rate: float = _option(1e-3, "peak learning rate", line=2, flag="--lr")
    optimizer: str = _option("adam", "adam, or sgd (momentum 0.9, nesterov)", line=2, choices=["adam", "sgd"])
    schedule: str = _option("cosine", "cosine (after a linear warm-up) or constant", line=2,
                            choices=["cosine", "constant"])
    warmup_epochs: int = _option(1, "epochs of linear warm-up before the cosine schedule", line=3)
    seed: int = _option(0, "seed of the split, the shuffling and the initial weights", line=3)
    label_smoothing: float = _option(0.0, "label smoothing of the targets")
    class_weights: bool = _option(False, "weight the loss by inverse class frequency")
    augment: bool = _option(True, "switch off flips, rotations, zoom and shifts", flag="--no-augment")
    flip_only: bool = _option(False, "augment with horizontal flips only (no rotation, zoom, shift or erasing)")
    random_erasing: float = _option(0.0, "probability of erasing a random patch")
    mixup: float = _option(0.0, "mixup's Beta(A, A) parameter: blend each face and its target with another face's "
                                "of the batch (0: off; 0.2-0.4 is usual)")
    cutmix: float = _option(0.0, "probability that a batch gets CutMix instead: a box pasted from another face of "
                                 "the batch, the targets mixed by area (0: off)")
    # The ranges are set against what the face aligner leaves of a face's tilt, size and offset
    # (experiments/face_alignment/README.md, "What alignment leaves"), so that a network takes it in its stride.
    max_rotation: float = _option(15.0, "augmentation: turn faces by up to this many degrees either way")
    max_zoom: float = _option(0.15, "augmentation: scale faces by up to this fraction either way")
    max_shift: float = _option(0.1, "augmentation: shift faces by up to this fraction of their side on each axis")
    classes: list[str] | None = _option(None, "comma-separated class subset, e.g. happy,sad,neutral")
    val_split: str = _option("test", "split used for validation")
    limit: int | None = _option(None, "train on only N faces (quick checks)")
    teacher: str | None = _option(None, "distil from this .keras model (e.g. an ensemble): its probabilities on "
                                        "each training face, computed once and cached beside the data "
                                        "(fer_core.training.teacher), are blended into the target")
    distill: float = _option(0.5, "weight of the teacher's probabilities in the target: (1 - A) * the FER2013 (or "
                                  "FER+-blended) target + A * the teacher's", with_setting="teacher", metavar="A")
    teacher_tta: str = _option("none", "the teacher averages its probabilities over these test-time views",
                               choices=["none", "mirror", "multi"])
    teacher_per_batch: bool = _option(False, "the teacher predicts on each augmented batch instead (slower: the "
                                             "teacher runs every step)")
    init_from: str | None = _option(None, "start from this .keras model's weights (same --arch) instead of random "
                                          "ones: a warm restart", metavar="MODEL")
    swa_start: int = _option(0, "average the weights from this epoch on (stochastic weight averaging; batch norm "
                                "is recalibrated); the average competes with each epoch for the best model; 0: off",
                             metavar="EPOCH")
    ferplus: str | None = _option(None, "FER+ crowd votes (e.g. DATA/ferplus.csv) blended into the targets as soft "
                                        "labels (fer_core.training.ferplus); faces the crowd called not a face are "
                                        "left out", metavar="CSV")
    ferplus_weight: float = _option(0.5, "each target is (1 - W) * the original label + W * the FER+ vote "
                                         "distribution", metavar="W")
    precision: str = _option("float32", "compute precision while training: float32, or bfloat16 (Keras's "
                                        "mixed_bfloat16: weights and the output layer stay float32; fast on CPUs "
                                        "with AVX-512 BF16 or AMX). Saved models compute in float32 either way",
                             choices=["float32", "bfloat16"])


def flag(field: dataclasses.Field) -> str:
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def add_arguments(parser) -> None:
    """One argparse option per setting, with the setting's default."""
    for field in dataclasses.fields(TrainSettings):
        meta = dict(field.metadata)
        help_text = meta.pop("help")
        extra = {k: v for k, v in meta.items() if k not in ("line", "flag", "with_setting")}
        if field.type == "bool":
            parser.add_argument(flag(field), dest=field.name, action="store_false" if field.default else "store_true",
                                help=help_text)
            continue
        kind = {"int": int, "int | None": int, "float": float}.get(str(field.type), str)
        default = "" if extra.get("required") else " (default: %(default)s)"
        parser.add_argument(flag(field), dest=field.name, type=kind, default=field.default,
                            help=help_text + (default if field.default not in (None, "") else ""), **extra)


def from_arguments(args) -> TrainSettings:
    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainSettings)}
    if isinstance(values["classes"], str):
        values["classes"] = values["classes"].split(",")
    return TrainSettings(**values)


def command_arguments(settings: dict) -> list[str]:
    """The flags that reproduce a run's settings.json, grouped into lines: the spelled-out ones first, then one
    line per setting that differs from its default. Settings a run recorded that are not flags are ignored."""
    lines: dict[int, list[str]] = {}
    placed: dict[str, int] = {}
    for field in dataclasses.fields(TrainSettings):
        value = settings.get(field.name, field.default)
        line = field.metadata.get("line")
        leader = field.metadata.get("with_setting")
        if leader in placed:
            line = placed[leader]
        elif line is None and (value == field.default or value is None):
            continue
        if field.name == "classes":
            if len(value) == 7:
                continue
            value = ",".join(value)
        text = flag(field) if field.type == "bool" else f"{flag(field)} {value}"
        line = line if line is not None else 100 + len(lines)
        placed[field.name] = line
        lines.setdefault(line, []).append(text)
    return [" ".join(parts) for _, parts in sorted(lines.items())]
