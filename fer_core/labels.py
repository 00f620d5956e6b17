"""Emotion names, their FER2013 CSV codes and the folder-name synonyms we accept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fer_core.errors import UsageError

# Canonical order = FER2013 CSV codes 0..6, so a CSV label is also an index here.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

_SYNONYMS = {
    "angry": "angry", "anger": "angry", "mad": "angry",
    "disgust": "disgust", "disgusted": "disgust", "disgusting": "disgust",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happy": "happy", "happiness": "happy", "joy": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral", "calm": "neutral",
}


def canonical_emotion(name: str) -> str | None:
    """The canonical emotion for a folder or label name, or None if it is not one of the seven."""
    return _SYNONYMS.get(name.strip().lower())


def parse_classes(classes: str | Iterable[str] | None) -> tuple[str, ...]:
    """A class subset ("happy,sad,neutral" or a list) in canonical order; None means all seven."""
    if classes is None:
        return EMOTIONS
    if isinstance(classes, str):
        classes = [c for c in classes.split(",") if c.strip()]
    wanted = set()
    for name in classes:
        emotion = canonical_emotion(name)
        if emotion is None:
            raise UsageError(f"unknown emotion {name!r}; expected one of {', '.join(EMOTIONS)}")
        wanted.add(emotion)
    if len(wanted) < 2:
        raise UsageError("a class subset needs at least two emotions")
    return tuple(e for e in EMOTIONS if e in wanted)


def label_index(labels: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(labels)}
