import numpy as np
from test_video import write_clip

from helpers import open_page


def test_video_page_analyses_an_upload(tmp_path):
    rng = np.random.default_rng(0)
    write_clip(tmp_path / "clip.mp4", [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) for _ in range(15)])
    at = open_page("4_Video.py")
    assert not at.exception
    assert "Upload a short clip" in at.info[0].value
    at.file_uploader[0].set_value(("clip.mp4", (tmp_path / "clip.mp4").read_bytes(), "video/mp4")).run()
    at.button[0].click().run()
    assert not at.exception
    assert at.success[0].value.startswith("15 frames at 25.00 fps (128x96), 0 face id(s)")
    assert "No faces found" in at.warning[0].value
    assert [b.label for b in at.download_button] == ["Annotated MP4", "Per-frame CSV"]


def test_broken_video_gives_one_message(tmp_path):
    at = open_page("4_Video.py")
    at.file_uploader[0].set_value(("broken.mp4", b"definitely not a video", "video/mp4")).run()
    at.button[0].click().run()
    assert not at.exception
    assert at.error[0].value.startswith("broken.mp4: not a readable video")


def test_a_one_pixel_wide_video_gets_one_typed_message(tmp_path):
    from test_video import _one_pixel_wide_mkv

    _one_pixel_wide_mkv(tmp_path / "thin.mkv")
    at = open_page("4_Video.py")
    at.file_uploader[0].set_value(("thin.mkv", (tmp_path / "thin.mkv").read_bytes(), "video/x-matroska")).run()
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["thin.mkv: video is 1x48; frames need at least 16 pixels a side"]
