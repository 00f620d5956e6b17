import queue

import av
import numpy as np

import fer_core.live as live_module
from app_support import make_video_callback
from fer_core.boxes import Box, Detection
from fer_core.live import LiveAnalyzer
from fer_core.predictor import Predictor


def test_callback_returns_an_annotated_frame_and_queues_the_results(tiny_model, monkeypatch):
    monkeypatch.setattr(live_module, "detect", lambda frame, config: [Detection(Box(40, 30, 80, 80), 0.9)])
    live = LiveAnalyzer(Predictor.load(tiny_model))
    results = queue.Queue(maxsize=2)
    callback = make_video_callback(live, results)
    image = np.full((240, 320, 3), 90, np.uint8)
    for _ in range(3):  # the third result finds the queue full and is dropped, not blocking the video
        out = callback(av.VideoFrame.from_ndarray(image, format="bgr24"))
    annotated = out.to_ndarray(format="bgr24")
    assert annotated.shape == image.shape and not np.array_equal(annotated, image)
    assert results.qsize() == 2
    stamp, faces, fps = results.get_nowait()
    assert len(faces) == 1 and faces[0].face_id == 1 and faces[0].box == Box(40, 30, 80, 80)
