"""`--engine ray` against a real local cluster: a Ray head and one worker node on 127.0.0.1, started with `ray start`
and stopped afterwards. The results must equal the in-process engine's."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import REPO_ROOT

RAY = Path(sys.executable).parent / "ray"
# The cluster runs with token authentication, as docs/scale.md starts one. `ray start` never creates a token, and
# ~/.ray/auth_token exists only where something generated one before, so the nodes and the commands that join get
# a fresh token of their own through RAY_AUTH_TOKEN: the test does not depend on what ran on the machine before.
ENV = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
PHOTOS = ("photo_5.jpg", "photo_13.jpg", "photo_21.jpg", "photo_23.jpg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args, check=True):
    return subprocess.run([str(RAY), *args], capture_output=True, text=True, timeout=300, check=check, env=ENV)


@pytest.fixture(scope="module")
def cluster():
    """A head (1 CPU) and a second node (1 CPU) on this machine; yields the address to join."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    try:
        _ray("start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
             "--include-dashboard=false", "--disable-usage-stats")
        _ray("start", f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1")
        yield address
    finally:
        _ray("stop", "--force", check=False)


def fer(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "fer_core", *map(str, args)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def photo_set(fer_data_dir, tmp_path_factory):
    """Real group photos, each twice under another name, plus one file that is not an image."""
    folder = tmp_path_factory.mktemp("photo_set")
    for name in PHOTOS:
        for copy in ("a", "b"):
            shutil.copy(fer_data_dir.parent / "photos" / name, folder / f"{copy}_{name}")
    (folder / "broken.jpg").write_bytes(b"not an image")
    return folder


def test_analyze_on_the_cluster_equals_the_local_engine(cluster, photo_set, tmp_path):
    local = fer("analyze", photo_set, "--json", tmp_path / "local.json", "--csv", tmp_path / "local.csv",
                "--annotated", tmp_path / "local_png")
    on_ray = fer("analyze", photo_set, "--engine", "ray", "--address", cluster, "--workers", 2,
                 "--json", tmp_path / "ray.json", "--csv", tmp_path / "ray.csv", "--annotated", tmp_path / "ray_png")
    assert local.returncode == on_ray.returncode == 1  # one file is not an image
    records = json.loads((tmp_path / "ray.json").read_text())
    assert records == json.loads((tmp_path / "local.json").read_text())
    assert (tmp_path / "ray.csv").read_text() == (tmp_path / "local.csv").read_text()
    assert len(records) == 2 * len(PHOTOS) + 1 and sum(len(r["faces"]) for r in records) > 10
    # The unreadable file: reported once, as the local engine does, and the rest processed.
    assert on_ray.stderr.count("broken.jpg") == 1 and "not a readable image" in on_ray.stderr
    assert [r["error"] is not None for r in records].count(True) == 1
    assert sorted(p.name for p in (tmp_path / "ray_png").iterdir()) == sorted(
        p.name for p in (tmp_path / "local_png").iterdir())


def test_videos_on_the_cluster_equal_the_local_engine(cluster, fer_data_dir, tmp_path):
    from test_video import write_clip

    from helpers import face_scene

    clips = []
    for seed in (0, 1):
        scene, _ = face_scene(fer_data_dir, n_faces=2, face_px=140, seed=seed)
        frames = [np.roll(scene, 3 * i, axis=1) for i in range(20)]
        clips.append(tmp_path / f"clip_{seed}.mp4")
        write_clip(clips[-1], frames)
    local = fer("video", *clips, "--out-dir", tmp_path / "local")
    on_ray = fer("video", *clips, "--out-dir", tmp_path / "ray", "--engine", "ray", "--address", cluster)
    assert local.returncode == on_ray.returncode == 0, on_ray.stderr
    for clip in clips:
        rows = (tmp_path / "ray" / f"{clip.stem}.csv").read_text()
        assert rows == (tmp_path / "local" / f"{clip.stem}.csv").read_text()
        assert len(rows.splitlines()) > 20  # faces in every frame
        assert (tmp_path / "ray" / f"{clip.stem}.mp4").stat().st_size > 0


def _worker_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


@pytest.fixture(scope="module")
def many_photos(fer_data_dir, tmp_path_factory):
    """48 real group photos (each of PHOTOS twelve times): several seconds of work on the cluster."""
    folder = tmp_path_factory.mktemp("many_photos")
    for i in range(12):
        for name in PHOTOS:
            shutil.copy(fer_data_dir.parent / "photos" / name, folder / f"{i:02d}_{name}")
    return folder


def test_a_worker_killed_mid_run_loses_no_file_and_counts_none_twice(cluster, many_photos, tmp_path):
    folder = many_photos
    local = fer("analyze", folder, "--json", tmp_path / "local.json")
    run = subprocess.Popen([sys.executable, "-m", "fer_core", "analyze", str(folder), "--engine", "ray",
                            "--address", cluster, "--workers", "2", "--json", str(tmp_path / "ray.json")],
                           cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 600
    while not _worker_pids() and time.time() < deadline and run.poll() is None:
        time.sleep(0.2)
    pids = _worker_pids()
    assert pids, "no Ray worker came up"
    time.sleep(1.0)  # into the work
    subprocess.run(["kill", "-9", str(pids[0])], check=False)
    _, stderr = run.communicate(timeout=900)
    assert run.returncode == local.returncode == 0, stderr
    records = json.loads((tmp_path / "ray.json").read_text())
    assert [r["image"] for r in records] == sorted(str(p) for p in folder.iterdir())  # each file once, in order
    assert records == json.loads((tmp_path / "local.json").read_text())


def _default_sigint() -> None:
    # A job started in the background by a non-interactive shell (`nohup ... &`) inherits SIGINT ignored, and so
    # would the command under test, which must get Ctrl-C as a user's terminal delivers it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _finished_pngs(folder: Path) -> list[Path]:
    return [png for png in folder.glob("*.png") if not png.name.startswith(".")] if folder.is_dir() else []


def test_ctrl_c_leaves_no_partial_output(cluster, many_photos, tmp_path):
    # Many photos, so that the interrupt lands mid-run even on a loaded machine, and no broken file, whose exit
    # status (1) a run that finished before the interrupt would also give.
    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "fer_core", "analyze", str(many_photos), "--engine", "ray",
                            "--address", cluster, "--json", str(out / "faces.json"), "--csv", str(out / "faces.csv"),
                            "--annotated", str(out / "png")], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=_default_sigint)
    # The first annotated copy written means the workers are mid-run, with most of the photos still to do.
    deadline = time.time() + 600
    while not _finished_pngs(out / "png") and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=300)
    assert run.returncode == 130  # interrupted, not finished
    left = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert "faces.json" not in left and "faces.csv" not in left
    assert not [name for name in left if name.endswith(".partial") or ".partial." in name]
    for png in (out / "png").glob("*.png") if (out / "png").is_dir() else []:
        import cv2

        assert cv2.imread(str(png)) is not None  # any annotated copy written is whole
