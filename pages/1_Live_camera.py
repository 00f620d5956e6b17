"""Live camera: every face in the video labelled with its emotion, plus a live panel of probabilities."""

import queue

import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from app_charts import emotion_timeline, probability_bars
from app_support import (
    detector_controls,
    ice_servers,
    make_video_callback,
    page_setup,
    require_analyzer,
    run_line,
)
from fer_core.live import LIVE_DETECTOR, LiveAnalyzer, ViewOptions
from fer_core.paths import default_model_path, live_model_path

page_setup("pages/1_Live_camera.py")
st.title("Live camera")
st.caption("Frames are analysed in memory on this server and sent straight back; nothing is recorded.")

base = require_analyzer(live=True)
if live_model_path() != default_model_path():
    st.caption(f"The camera uses {run_line(live_model_path(), live=True)}, a network light enough for every "
               f"frame; photos and videos use the more accurate {run_line(default_model_path())}.")
session = st.session_state
if "live_analyzer" not in session:
    # One LiveAnalyzer per browser session (it keeps tracks between frames); the model inside is shared.
    session.live_analyzer = LiveAnalyzer(base.predictor)
    session.live_results = queue.Queue(maxsize=32)
    session.live_timeline = []
live: LiveAnalyzer = session.live_analyzer
results_queue: queue.Queue = session.live_results

detector = detector_controls(LIVE_DETECTOR, key="camera")
with st.sidebar:
    min_confidence = st.slider("Confidence threshold", 0.0, 1.0, 0.0, 0.05,
                               help="Faces whose top emotion is less likely than this are shown grey with '?'")
    show_scores = st.checkbox("Show all probabilities on the video", value=False)
    mirror = st.checkbox("Mirror view", value=True)
# Plain attribute swaps of frozen objects: the callback thread sees either the old or the new settings.
live.update_settings(detector=detector)
live.view = ViewOptions(mirror=mirror, show_scores=show_scores, min_confidence=min_confidence)


video_column, panel_column = st.columns([3, 2])
with video_column:
    ctx = webrtc_streamer(
        key="fer-camera",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": ice_servers()},
        media_stream_constraints={"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False},
        video_frame_callback=make_video_callback(live, results_queue),
        async_processing=True,
    )
    hint = st.empty()
    if not ctx.state.playing:
        hint.info("Press START and allow the camera. Browsers allow cameras only on localhost or over HTTPS.")

with panel_column:
    status = st.empty()
    bars = st.empty()
    timeline_chart = st.empty()

labels = list(live.labels)
processed = 0
# Seconds between panel redraws. This loop shares the GIL with the WebRTC threads that decode, analyse and encode
# the video, and the browser shares the CPU with the video too, so the charts are redrawn seldom and cheaply (see
# app_charts): redrawing both every 0.5 s with plotly.express halved the processed frame rate.
draw_every, timeline_every = 1.0, 5.0
last_draw = last_timeline = 0.0
while ctx.state.playing:
    try:
        stamp, faces, fps = results_queue.get(timeout=1.0)
    except queue.Empty:
        continue
    processed += 1
    for face in faces:
        session.live_timeline.append({"time": stamp, "face": f"face {face.face_id}", "emotion": face.emotion,
                                      "confidence": face.confidence})
    del session.live_timeline[:-2000]
    if stamp - last_draw < draw_every:
        continue
    last_draw = stamp
    status.markdown(f"**{fps:.1f} frames/s** processed · frames processed: {processed} · faces: {len(faces)}")
    if faces:
        bars.plotly_chart(probability_bars(faces, labels), key=f"bars_{processed}")
    if stamp - last_timeline < timeline_every:
        continue
    last_timeline = stamp
    timeline = pd.DataFrame(session.live_timeline)
    if not timeline.empty:
        timeline["seconds"] = timeline["time"] - timeline["time"].iloc[0]
        figure = emotion_timeline(timeline, labels, "seconds", "Emotion over time (first four faces)")
        timeline_chart.plotly_chart(figure, key=f"timeline_{processed}")
