"""Entry point and home page: `streamlit run streamlit_app.py`. The other pages live in pages/."""

import streamlit as st

from app_support import PAGES, model_summary, page_setup, require_analyzer

page_setup("streamlit_app.py")
analyzer = require_analyzer()

st.title("Facial emotion recognition")
st.write(
    "Every face in a photo or in your camera's live video is found and labelled with one of seven emotions "
    "(angry, disgust, fear, happy, sad, surprise, neutral) by networks trained on FER2013. "
    "Everything runs on this machine: images and frames are processed in memory and never stored or sent anywhere."
)

st.subheader("Model")
st.markdown(model_summary(analyzer))

st.subheader("Pages")
DESCRIPTIONS = {
    "pages/1_Live_camera.py": "Press **START** and allow the camera: each face gets a box, its emotion and confidence, "
    "with live probability bars and an emotion-over-time chart beside the video. The sidebar tunes detection, the "
    "confidence threshold, the probability overlay and mirroring while the video runs.",
    "pages/2_Analyse_photos.py": "Upload one or many photos (JPEG, PNG, WebP, BMP): numbered faces, a table of all "
    "probabilities, a chart, face crops, a summary of the group, and downloads as PNG, CSV and JSON.",
    "pages/3_Dataset_and_training.py": "FER2013's class balance and sample faces, and for every training run in "
    "`models/`: learning curves, the confusion matrix, per-class precision/recall/F1 and a comparison of two runs.",
    "pages/4_Video.py": "Upload a video (MP4, MOV, WebM, AVI): faces tracked with stable ids, emotion over time per "
    "face, an annotated MP4 and a per-frame CSV.",
}
for path, label, icon in PAGES[1:]:
    st.page_link(path, label=label, icon=icon)
    st.markdown(DESCRIPTIONS[path])
