"""Entry point and home page: `streamlit run streamlit_app.py`. The other pages live in pages/."""

import streamlit as st

from app_support import model_summary, require_analyzer

st.set_page_config(page_title="Facial emotion recognition", page_icon="🙂", layout="wide")
require_analyzer()

st.title("Facial emotion recognition")
st.write(
    "Every face in a photo or in your camera's live video is found and labelled with one of seven emotions "
    "(angry, disgust, fear, happy, sad, surprise, neutral) by a network trained on FER2013. "
    "Everything runs on this machine: images and frames are processed in memory and never stored or sent anywhere."
)

st.subheader("Model")
st.markdown(model_summary())

st.subheader("Pages")
st.page_link("pages/1_Live_camera.py", label="Live camera", icon="📷")
st.markdown("Press **START** and allow the camera: each face gets a box, its emotion and confidence, with live "
            "probability bars and an emotion-over-time chart beside the video. The sidebar tunes detection, the "
            "confidence threshold, the probability overlay and mirroring while the video runs.")
st.page_link("pages/2_Analyse_photos.py", label="Analyse photos", icon="🖼️")
st.markdown("Upload one or many photos (JPEG, PNG, WebP, BMP): numbered faces, a table of all probabilities, a chart, "
            "face crops, a summary of the group, and downloads as PNG, CSV and JSON.")
st.page_link("pages/3_Dataset_and_training.py", label="Dataset & training", icon="📊")
st.markdown("FER2013's class balance and sample faces, and for every training run in `models/`: learning curves, "
            "the confusion matrix, per-class precision/recall/F1 and a comparison of two runs.")
st.page_link("pages/4_Video.py", label="Analyse a video", icon="🎞️")
st.markdown("Upload a video (MP4, MOV, WebM, AVI): faces tracked with stable ids, emotion over time per face, an "
            "annotated MP4 and a per-frame CSV.")
