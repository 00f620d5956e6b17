"""Photo analysis: upload images, get every face boxed, labelled and scored, with downloads."""

import json

import pandas as pd
import plotly.express as px
import streamlit as st

from app.controls import detector_controls
from app.models import require_analyzer
from app.navigation import page_setup
from fer_core import Analyzer, DetectorConfig, ImageDecodeError, ModelLoadError, decode_image, draw_results
from fer_core.inference.explain import overlay, saliency
from fer_core.inference.files import ImageRecord, records_to_csv
from fer_core.inference.imageio import encode_png
from fer_core.inference.rows import face_rows, group_summary

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp"]
# Photos analysed per page run: every widget change reruns the page over all of them.
MAX_PHOTOS = 20

page_setup("pages/2_Analyse_photos.py")
st.title("Analyse photos")
st.caption("Upload one or more photos. They are processed in memory and never stored.")

base = require_analyzer()
detector = detector_controls(DetectorConfig(), key="photos")
uploads = st.file_uploader("Photos (JPEG, PNG, WebP, BMP)", type=UPLOAD_TYPES, accept_multiple_files=True)
if not uploads:
    st.info("Drop group photos here: every face gets a box, a number, its emotion and all seven probabilities.")
    st.stop()

analyzer = Analyzer(base.predictor, detector)
labels = list(analyzer.labels)
if len(uploads) > MAX_PHOTOS:
    st.warning(f"{len(uploads)} photos uploaded; the first {MAX_PHOTOS} are analysed. Remove some to see the others.")
    uploads = uploads[:MAX_PHOTOS]
# Each photo's faces under the current settings, kept for this browser session while the photo stays uploaded, so a
# widget change that leaves detection alone does not analyse every photo again.
analysed: dict = st.session_state.setdefault("photo_results", {})
current = {(upload.file_id, detector, analyzer.predictor.name) for upload in uploads}
for key in [key for key in analysed if key not in current]:
    del analysed[key]

for upload in uploads:
    st.header(upload.name)
    try:
        image = decode_image(upload.getvalue())
    except ImageDecodeError as exc:
        st.error(f"{upload.name}: {exc}")
        continue
    try:
        key = (upload.file_id, detector, analyzer.predictor.name)
        if key not in analysed:
            analysed[key] = analyzer.analyze(image)
        results = analysed[key]
    except ModelLoadError as exc:
        st.error(f"The face detector could not load: {exc}. Pick the Haar detector in the sidebar meanwhile.")
        st.stop()
    annotated = draw_results(image, results, numbered=True)
    st.image(annotated, channels="BGR", caption=f"{len(results)} face(s) found", width="stretch")
    if not results:
        lower = "*Face score threshold*" if detector.method == "yunet" else "*Min neighbours*"
        st.warning(
            f"No faces found. Try: lowering {lower} or *Smallest face* (under *Detection sensitivity*), raising "
            "*Detect on a copy no larger than* for small faces in a large photo, or the other face detector."
        )
        continue

    rows = face_rows(results, labels)
    table = pd.DataFrame(rows).rename(columns={"face": "face #"})
    st.dataframe(table, hide_index=True)

    summary = group_summary(results, labels)
    counts = ", ".join(f"{n} {name}" for name, n in summary["counts"].items() if n)
    st.markdown(f"**Group:** {summary['faces']} face(s): {counts}. Most common: **{summary['dominant']}**.")

    long = table.melt(id_vars=["face #"], value_vars=labels, var_name="emotion", value_name="probability")
    long["face #"] = long["face #"].astype(str)
    chart = px.bar(long, x="face #", y="probability", color="emotion", barmode="group", range_y=[0, 1],
                   title="Probabilities per face")
    st.plotly_chart(chart, key=f"chart_{upload.file_id}")

    st.subheader("Faces")
    columns = st.columns(min(6, len(results)))
    for number, result in enumerate(results, start=1):
        x, y, w, h = result.box
        with columns[(number - 1) % len(columns)]:
            caption = f"#{number} {result.emotion} {result.confidence:.0%}"
            st.image(image[y:y + h, x:x + w], channels="BGR", caption=caption)

    with st.expander("Why? Saliency for one face"):
        pick, target = st.columns(2)
        number = pick.selectbox("Face", range(1, len(results) + 1), format_func=lambda n: f"#{n}",
                                key=f"why_face_{upload.file_id}")
        chosen = results[number - 1]
        emotion = target.selectbox("Emotion", labels, index=labels.index(chosen.emotion),
                                   key=f"why_emotion_{upload.file_id}")
        # The crop the model classified: aligned to FER2013's pose where the face had plausible landmarks.
        crop = analyzer.face_crops(image, [chosen.detection or chosen.box])[0]
        left, right = st.columns(2)
        left.image(crop, channels="BGR", caption=f"face #{number} as the model sees it", width=240)
        # A collapsed expander still runs its code, and Grad-CAM loads TensorFlow (about 0.5 GB) into the server
        # on first use, so the map is computed only when asked for.
        if st.toggle("Show the heat map", key=f"why_show_{upload.file_id}"):
            heat = saliency(analyzer.predictor, crop, emotion)
            right.image(overlay(crop, heat), channels="BGR", width=240,
                        caption=f"where the model sees '{emotion}' ({chosen.scores[emotion]:.0%})")

    stem = upload.name.rsplit(".", 1)[0]
    record = ImageRecord(upload.name, results)
    d1, d2, d3 = st.columns(3)
    d1.download_button("Annotated PNG", encode_png(annotated), f"{stem}_annotated.png", "image/png",
                       key=f"png_{upload.file_id}", on_click="ignore")
    d2.download_button("CSV", records_to_csv([record], labels), f"{stem}_faces.csv", "text/csv",
                       key=f"csv_{upload.file_id}", on_click="ignore")
    d3.download_button("JSON", json.dumps(record.to_dict(), indent=2), f"{stem}_faces.json", "application/json",
                       key=f"json_{upload.file_id}", on_click="ignore")
