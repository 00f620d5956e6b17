import csv
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest

from fer_core.inference.detect import DetectorConfig, detect_faces, expand_box
from fer_core.inference.live import LIVE_DETECTOR
from fer_core.inference.predictor import Predictor
from fer_core.inference.video import VideoError, process_video
from helpers import REPO_ROOT


def write_clip(path, frames, fps=25):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def count_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_faceless_clip_keeps_frame_count_size_and_gives_a_header_only_csv(tiny_model, tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(20)]
    write_clip(tmp_path / "in.mp4", frames)
    summary = process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", tmp_path / "rows.csv",
                            predictor=Predictor.load(tiny_model))
    assert (summary.frames, summary.width, summary.height, summary.face_ids) == (20, 160, 120, ())
    assert summary.codec == "libx264" and summary.fps == pytest.approx(25)
    assert count_frames(tmp_path / "out.mp4") == 20
    assert read_rows(tmp_path / "rows.csv") == []
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_not_a_video_and_cancel(tiny_model, tmp_path):
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(VideoError):
        process_video(tmp_path / "bad.mp4", csv_path=tmp_path / "x.csv", predictor=Predictor.load(tiny_model))
    write_clip(tmp_path / "in.mp4", [np.zeros((64, 64, 3), np.uint8)] * 10)
    seen = []
    summary = process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", predictor=Predictor.load(tiny_model),
                            progress=lambda done, total: seen.append(done), cancel=lambda: len(seen) >= 4)
    assert summary.cancelled and summary.frames == 4 and count_frames(tmp_path / "out.mp4") == 4


def _photo_faces(photos, n):
    """n real faces (150x150 crops of the shared photos) that the camera detector finds on their own, so the
    clip's content is known: the test is about ids across a cut, not about detection recall."""
    crops = []
    for name in ("photo_5.jpg", "photo_13.jpg", "photo_23.jpg", "photo_21.jpg", "photo_11.jpg"):
        image = cv2.imread(str(photos / name))
        for box in detect_faces(image, DetectorConfig(method="haar", min_neighbors=10, min_face=60, max_side=None)):
            x, y, w, h = expand_box(box, 0.25, image.shape[1], image.shape[0])
            crop = cv2.resize(image[y:y + h, x:x + w], (150, 150), interpolation=cv2.INTER_AREA)
            alone = np.full((480, 640, 3), 100, np.uint8)
            alone[160:310, 245:395] = crop
            if len(detect_faces(alone, LIVE_DETECTOR)) == 1:
                crops.append(crop)
    return crops[:n]


def test_clip_with_a_cut_gives_the_expected_face_ids_and_rows(tiny_model, fer_data_dir, tmp_path):
    faces = _photo_faces(fer_data_dir.parent / "photos", 5)
    assert len(faces) == 5
    frames = []
    for i in range(60):  # shot 1: two faces drifting right; a cut at frame 30; shot 2: three other faces
        frame = np.full((480, 640, 3), 100, np.uint8)
        placed = [(faces[0], 60, 160), (faces[1], 400, 160)] if i < 30 else \
                 [(faces[2], 20, 40), (faces[3], 240, 290), (faces[4], 450, 40)]
        for face, x, y in placed:
            x += i % 30
            frame[y:y + 150, x:x + 150] = face
        frames.append(frame)
    write_clip(tmp_path / "cut.mp4", frames)
    summary = process_video(tmp_path / "cut.mp4", tmp_path / "out.mp4", tmp_path / "rows.csv",
                            predictor=Predictor.load(tiny_model))
    rows = read_rows(tmp_path / "rows.csv")
    assert len(summary.face_ids) == 5
    assert len(rows) == 30 * 2 + 30 * 3
    first, second = {r["face_id"] for r in rows if int(r["frame"]) < 30}, {r["face_id"] for r in rows
                                                                             if int(r["frame"]) >= 30}
    assert len(first) == 2 and len(second) == 3 and not first & second
    assert count_frames(tmp_path / "out.mp4") == 60
    assert set(rows[0]) >= {"frame", "time_s", "face_id", "x", "y", "w", "h", "emotion", "confidence", "happy"}

    every = process_video(tmp_path / "cut.mp4", csv_path=tmp_path / "every.csv", every=5,
                          predictor=Predictor.load(tiny_model))
    assert every.frames == 60
    assert {int(r["frame"]) for r in read_rows(tmp_path / "every.csv")} <= set(range(0, 60, 5))


def test_video_command(tiny_model, tmp_path):
    write_clip(tmp_path / "in.mp4", [np.full((96, 128, 3), 50, np.uint8)] * 12)
    proc = subprocess.run([sys.executable, "-m", "fer_core", "video", str(tmp_path / "in.mp4"), "--out",
                           str(tmp_path / "out.mp4"), "--csv", str(tmp_path / "rows.csv"), "--model", str(tiny_model)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "12 frames at 25.00 fps (128x96)" in proc.stdout
    assert count_frames(tmp_path / "out.mp4") == 12
    missing = subprocess.run([sys.executable, "-m", "fer_core", "video", str(tmp_path / "nope.mp4"), "--csv", "x.csv"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and missing.stderr.strip().startswith("error: no video at")


def _one_pixel_wide_mkv(path) -> None:
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 1, 48, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 1, 3), np.uint8), format="bgr24")
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_videos_beyond_the_limits_are_refused_from_their_metadata(tmp_path, tiny_model, monkeypatch):
    from fer_core.inference import video as video_module
    from fer_core.inference.predictor import Predictor
    from fer_core.inference.video import VideoLimitError, check_video_limits, process_video

    thin = tmp_path / "thin.mkv"
    _one_pixel_wide_mkv(thin)
    with pytest.raises(VideoLimitError, match="at least 16 pixels"):
        process_video(thin, tmp_path / "out.mp4", predictor=Predictor.load(tiny_model))
    clip = tmp_path / "clip.mp4"
    write_clip(clip, [np.full((64, 64, 3), 100, np.uint8)] * 30)
    decoded = []
    monkeypatch.setattr(video_module, "MAX_VIDEO_FRAMES", 10)
    monkeypatch.setattr(video_module.LiveAnalyzer, "process", lambda self, image, t: decoded.append(t) or [])
    with pytest.raises(VideoLimitError, match="30 frames; the limit is 10"):
        process_video(clip, csv_path=tmp_path / "rows.csv", predictor=Predictor.load(tiny_model))
    assert decoded == []  # refused before a frame was decoded
    monkeypatch.undo()
    for too_much in [(7680, 4320, 0, 0), (640, 480, 4000.0, 0), (640, 480, 0, 300_000)]:
        with pytest.raises(VideoLimitError):
            check_video_limits(*too_much)
    check_video_limits(1920, 1080, 600.0, 18_000)


def test_the_cli_names_a_video_beyond_the_limits_in_one_line(tmp_path):
    from test_cli import run_cli

    thin = tmp_path / "thin.mkv"
    _one_pixel_wide_mkv(thin)
    proc = run_cli("video", thin, "--csv", tmp_path / "rows.csv", check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "error: video is 1x48; frames need at least 16 pixels a side"]
    assert not (tmp_path / "rows.csv").exists()


def test_a_failing_encoder_is_a_video_error_and_never_masks_the_first_error(tmp_path):
    from fer_core.inference.video import VideoError, _close

    class Closable:
        def __init__(self, error=None):
            self.error, self.closed = error, False

        def close(self):
            self.closed = True
            if self.error:
                raise self.error

    container = Closable()
    with pytest.raises(VideoError, match="writing the annotated video failed"):
        _close(container, Closable(IndexError("no packets")))
    assert container.closed
    with pytest.raises(KeyError):  # the decoding error that was on its way out, not the encoder's
        try:
            raise KeyError("first")
        finally:
            _close(Closable(), Closable(IndexError("no packets")))
