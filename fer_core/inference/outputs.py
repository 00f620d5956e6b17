"""Output files of `analyze` and `video`: written whole or not at all, under names that do not collide."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A hidden path to write target's content to, renamed to target when the block ends without an error and
    removed otherwise: an interrupted run leaves no partial output behind. The hidden name keeps target's suffix,
    which tells writers such as PyAV the format."""
    target = Path(target)
    partial = target.with_name(f".{target.stem}.partial{target.suffix}")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write a file whole or not at all."""
    with atomic_output(path) as partial:
        if isinstance(data, str):
            partial.write_text(data)
        else:
            partial.write_bytes(data)


def unique_name(stem: str, used: set[str]) -> str:
    """stem, or stem_2, stem_3, ... when an earlier output took it; records the name in used."""
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}_{n}"
    used.add(name)
    return name
