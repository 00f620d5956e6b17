"""Video files: every face tracked through the video, its emotion over time, and an annotated copy."""

import io

import streamlit as st

from app.charts import emotion_timeline
from app.controls import detector_controls
from app.models import require_analyzer
from app.navigation import page_setup
from app.tables import compact_rows
from fer_core.inference.live import LIVE_DETECTOR, LiveSettings
from fer_core.inference.video import CSV_FIELDS, VideoError, process_video

page_setup("pages/4_Video.py")
st.title("Analyse a video")
st.caption("The video is processed in memory and never stored; the annotated copy is built for this session only.")

base = require_analyzer()
every = st.sidebar.slider("Analyse every Nth frame", 1, 10, 1,
                          help="Higher is faster; frames in between keep the last labels on the annotated video")
detector = detector_controls(LIVE_DETECTOR, key="video")
upload = st.file_uploader("Video (MP4, MOV, WebM, AVI)", type=["mp4", "mov", "webm", "avi", "m4v", "mkv"])
if upload is None:
    st.info("Upload a short clip: every face gets a stable id, its emotion is smoothed over time, and you get an "
            "annotated MP4 and a per-frame CSV. Audio is dropped; frame rate and size are kept.")
    st.stop()

key = f"video_{upload.file_id}_{every}_{hash(detector)}"
if key not in st.session_state:
    if not st.button("Analyse", type="primary"):
        st.stop()
    bar = st.progress(0.0, text="Analysing… (press Stop, top right, to cancel)")
    rows: list[dict] = []

    def progress(done: int, total: int) -> None:
        if done % 10 == 0:
            bar.progress(min(1.0, done / total) if total else 0.0,
                         text=f"Analysing… frame {done}" + (f" of {total}" if total else ""))

    annotated = io.BytesIO()
    try:
        summary = process_video(io.BytesIO(upload.getvalue()), annotated, every=every, predictor=base.predictor,
                                settings=LiveSettings(detector=detector), progress=progress, on_rows=rows.extend)
    except VideoError as exc:
        st.error(f"{upload.name}: {exc}")
        st.stop()
    bar.empty()
    for old in [k for k in st.session_state if str(k).startswith("video_")]:
        del st.session_state[old]  # keep only the latest video's results in memory
    # Kept as typed columns (float32 numbers, the emotion a category), not a dict per face and frame.
    table = compact_rows(rows, CSV_FIELDS + list(base.labels))
    del rows
    st.session_state[key] = (summary, table, annotated.getvalue())

summary, table, annotated_bytes = st.session_state[key]
st.success(f"{summary.frames} frames at {summary.fps:.2f} fps ({summary.width}x{summary.height}), "
           f"{len(summary.face_ids)} face id(s), processed at {summary.frames / max(summary.seconds, 1e-9):.1f} "
           f"frames/s")
left, right = st.columns([3, 2])
with left:
    st.video(annotated_bytes, format="video/mp4")
with right:
    if len(table):
        shown = table.assign(face="face " + table["face_id"].astype(str))
        figure = emotion_timeline(shown, base.labels, "time_s", "Emotion over time per face id", max_faces=6)
        st.plotly_chart(figure, key="video_timeline")
        counts = shown.groupby(["face", "emotion"], observed=True).size().unstack(fill_value=0)
        st.dataframe(counts)
    else:
        st.warning("No faces found in this video. Faces must look roughly towards the camera and be at least "
                   "about 60 px tall.")
stem = upload.name.rsplit(".", 1)[0]
d1, d2 = st.columns(2)
d1.download_button("Annotated MP4", annotated_bytes, f"{stem}_annotated.mp4", "video/mp4", on_click="ignore")
# Built when the button is pressed, not on every rerun.
d2.download_button("Per-frame CSV", lambda: table.to_csv(index=False), f"{stem}_frames.csv", "text/csv",
                   on_click="ignore")
