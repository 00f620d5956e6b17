"""Output files of `analyze` and `video`: written whole or not at all, under names that do not collide."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fer_core.errors import UsageError


@contextmanager
def atomic_output(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A hidden path to write target's content to, renamed to target when the block ends without an error and
    removed otherwise: an interrupted run leaves no partial output behind. The hidden file is created new under a
    random name (never an existing file, nor a link someone planted there) and keeps target's suffix, which tells
    writers such as PyAV the format."""
    target = Path(target)
    descriptor, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".partial{target.suffix}",
                                        dir=target.parent)
    os.close(descriptor)
    partial = Path(name)
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def check_inputs_survive(inputs: Iterable[str | os.PathLike[str]], outputs: Iterable[str | os.PathLike[str] | None]
                         ) -> None:
    """UsageError when an output would replace one of the inputs (the same file by any path, links followed)."""
    existing = {Path(path).resolve() for path in inputs}
    for output in outputs:
        if output is not None and Path(output).resolve() in existing:
            raise UsageError(f"{output} is one of the inputs: writing it would replace the original; choose another "
                             "output")


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
