"""Outputs written whole or not at all, under names nobody can plant a link at, and never over an input."""

import os

import pytest

from fer_core.errors import UsageError
from fer_core.inference.outputs import atomic_output, check_inputs_survive, write_atomically


def test_a_planted_link_at_the_old_partial_name_is_neither_followed_nor_replaced(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = tmp_path / ".out.partial.csv"  # the fixed name outputs once went through
    planted.symlink_to(victim)
    write_atomically(tmp_path / "out.csv", "a,b\n")
    assert (tmp_path / "out.csv").read_text() == "a,b\n" and victim.read_text() == "precious"
    assert planted.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.partial.csv", "out.csv", "victim.txt"]


def test_an_interrupted_output_leaves_nothing_and_names_differ(tmp_path):
    names = []
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "clip.mp4") as partial:
            names.append(partial.name)
            assert partial.suffix == ".mp4" and partial.name.startswith(".clip.")
            raise RuntimeError("stopped")
    with atomic_output(tmp_path / "clip.mp4") as partial:
        names.append(partial.name)
        partial.write_bytes(b"x")
    assert names[0] != names[1] and os.listdir(tmp_path) == ["clip.mp4"]


def test_an_output_that_is_an_input_is_refused(tmp_path):
    photo = tmp_path / "in" / "photo.png"
    photo.parent.mkdir()
    photo.write_bytes(b"original")
    (tmp_path / "alias").symlink_to(photo.parent)
    for output in (photo, tmp_path / "in" / ".." / "in" / "photo.png", tmp_path / "alias" / "photo.png"):
        with pytest.raises(UsageError, match="one of the inputs"):
            check_inputs_survive([photo], [None, output])
    check_inputs_survive([photo], [tmp_path / "in" / "photo.csv", None])


def test_the_commands_refuse_to_overwrite_their_inputs(tmp_path):
    from test_cli import run_cli

    photo = tmp_path / "photo.png"
    photo.write_bytes(b"not even decoded")
    analyzed = run_cli("analyze", photo, "--annotated", tmp_path, check=False)
    assert analyzed.returncode == 2 and "one of the inputs" in analyzed.stderr
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 100)
    video = run_cli("video", clip, "--out", clip, check=False)
    assert video.returncode == 2 and "one of the inputs" in video.stderr
    assert photo.read_bytes() == b"not even decoded" and clip.read_bytes() == b"\x00" * 100
