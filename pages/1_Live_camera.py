"""Live camera: every face in the video labelled with its emotion, a live panel, and the session's numbers to keep."""

import time

import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from app.camera import MAX_CAMERA_STREAMS, STREAMS, CameraSession, ViewOptions
from app.charts import emotion_timeline, probability_bars
from app.controls import detector_controls
from app.figures import run_line
from app.models import require_analyzer
from app.navigation import page_setup
from app.webrtc import IceConfigError, ice_servers
from fer_core.inference.live import LIVE_DETECTOR, LiveSettings
from fer_core.runs.registry import camera_model_path, default_model_path

# Seconds between panel redraws. The loop shares the GIL with the WebRTC threads that decode, analyse and encode the
# video, and the browser shares the CPU with the video too, so the charts are redrawn seldom and cheaply (see
# app.charts): redrawing both every 0.5 s with plotly.express halved the processed frame rate.
DRAW_EVERY, TIMELINE_EVERY = 1.0, 5.0
TIMELINE_POINTS = 2000  # the chart shows the latest rows; the CSV and the summary hold the whole session

page_setup("pages/1_Live_camera.py")
st.title("Live camera")
st.caption("Frames are analysed in memory on this server and sent straight back; nothing is recorded on the server. "
           "The session's timeline and snapshots stay in this browser session until you download them.")

base = require_analyzer(live=True)
if camera_model_path() != default_model_path():
    st.caption(f"The camera uses {run_line(camera_model_path(), live=True)}, a network light enough for every "
               f"frame; photos use the more accurate {run_line(default_model_path())}, which videos run one view "
               "per frame.")
if "camera" not in st.session_state:
    # One CameraSession per browser session (it keeps tracks between frames); the model inside is shared.
    st.session_state.camera = CameraSession(base.predictor)
camera: CameraSession = st.session_state.camera

detector = detector_controls(LIVE_DETECTOR, key="camera")
with st.sidebar:
    min_confidence = st.slider("Confidence threshold", 0.0, 1.0, 0.0, 0.05,
                               help="Faces whose top emotion is less likely than this are shown grey with '?'")
    show_scores = st.checkbox("Show all probabilities on the video", value=False)
    mirror = st.checkbox("Mirror view", value=True)
    smoothing = st.slider("Label smoothing (seconds)", 0.0, 2.0, LiveSettings().time_constant, 0.05,
                          help="How long a face's probabilities are averaged over: longer is steadier, shorter "
                               "follows a change of expression sooner (about three times this). 0: every frame on "
                               "its own.")
# Plain attribute swaps of frozen objects: the callback thread sees either the old or the new settings.
camera.live.update_settings(detector=detector, time_constant=smoothing)
camera.view = ViewOptions(mirror=mirror, show_scores=show_scores, min_confidence=min_confidence)

if not STREAMS.admits(id(camera), MAX_CAMERA_STREAMS):
    st.warning(f"This server is analysing {MAX_CAMERA_STREAMS} camera streams, as many as it takes at once. Try "
               "again in a minute, or analyse photos and videos meanwhile.")
    st.stop()
try:
    rtc_ice_servers = ice_servers()
except IceConfigError as exc:  # the operator's setting: said plainly, instead of a camera that never connects
    st.error(f"The camera is not available: {exc}. The server's operator sets FER_ICE_SERVERS (docs/scale.md).")
    st.stop()

video_column, panel_column = st.columns([3, 2])
with video_column:
    ctx = webrtc_streamer(
        key="fer-camera",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": rtc_ice_servers},
        media_stream_constraints={"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False},
        video_frame_callback=camera.video_callback(),
        on_video_ended=camera.on_video_ended,
        async_processing=True,
    )
    if not ctx.state.playing:
        st.info("Press START and allow the camera. Browsers allow cameras only on localhost or over HTTPS.")
    keep = st.container()

with panel_column:
    status = st.empty()
    bars = st.empty()
    timeline_chart = st.empty()
    summary_table = st.empty()


def show_downloads() -> None:
    """CSV and PNG are built when clicked (deferred), from what the session holds then; no rerun."""
    left, middle, right = keep.columns(3)
    left.download_button("Timeline CSV", camera.timeline_csv, "camera_timeline.csv", "text/csv",
                         key="camera_csv", on_click="ignore", icon=":material/table:")
    middle.download_button("Snapshot PNG", camera.snapshot_png, "camera_snapshot.png",
                           "image/png", key="camera_snapshot", on_click="ignore", icon=":material/photo_camera:")
    if right.button("Clear the session's data", key="camera_clear"):
        camera.clear()


def show_timeline_and_summary(key: str) -> None:
    timeline = pd.DataFrame(camera.timeline_rows(last=TIMELINE_POINTS))
    if timeline.empty:
        return
    timeline["face"] = "face " + timeline["face_id"].astype(str)
    figure = emotion_timeline(timeline, camera.labels, "time_s", "Emotion over time (first four faces)")
    timeline_chart.plotly_chart(figure, key=f"timeline_{key}")
    shares = pd.DataFrame(camera.summary()).T
    shares.index = [f"face {face}" for face in shares.index]
    summary_table.dataframe(shares.style.format("{:.0%}"), width="stretch")


camera.drain()
downloads_shown = camera.latest is not None
if downloads_shown:
    show_downloads()
    show_timeline_and_summary("idle")

# The streamlit-webrtc pattern: every pass makes Streamlit calls, which is where a pending stop or rerun is honoured.
last_timeline = 0.0
while ctx.state.playing:
    time.sleep(DRAW_EVERY)
    drained = camera.drain()
    latest = camera.latest
    if latest is None:
        status.markdown("Waiting for the first frame…")
        continue
    if not downloads_shown:
        show_downloads()
        downloads_shown = True
    status.markdown(f"**{latest.fps:.1f} frames/s** processed · frames processed: {camera.frames} · "
                    f"faces: {len(latest.faces)}")
    if drained and latest.faces:
        bars.plotly_chart(probability_bars(latest.faces, camera.labels), key=f"bars_{latest.time}")
    if latest.time - last_timeline >= TIMELINE_EVERY:
        last_timeline = latest.time
        show_timeline_and_summary(str(latest.time))
