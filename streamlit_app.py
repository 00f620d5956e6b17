"""Entry point and home page: `streamlit run streamlit_app.py`. The other pages live in pages/."""

import streamlit as st

from app.figures import accuracy_sentence, model_summary
from app.models import require_analyzer
from app.navigation import PAGES, page_setup

page_setup("streamlit_app.py")
analyzer = require_analyzer()

st.title("Facial emotion recognition")
st.write(
    "Find every face in a photo, a video or your camera's live picture, and see which of seven emotions it shows: "
    "angry, disgust, fear, happy, sad, surprise or neutral. Everything runs on this machine: images and frames are "
    "processed in memory and never stored or sent anywhere."
)

DESCRIPTIONS = {
    "pages/1_Live_camera.py": "Turn on your camera: every face gets a box, its emotion and how sure the model is, "
    "live. Keep the session's timeline as a CSV or a snapshot as a PNG.",
    "pages/2_Analyse_photos.py": "Upload group photos: every face numbered and labelled, all probabilities, a group "
    "summary, and downloads as PNG, CSV and JSON.",
    "pages/4_Video.py": "Upload a video: faces followed through it, each one's emotion over time, an annotated copy "
    "and a per-frame CSV.",
    "pages/3_Dataset_and_training.py": "See what the model learnt from and how it was trained: the data, the "
    "learning curves, its mistakes and how well its confidence can be trusted.",
}
for column, (path, label, icon) in zip(st.columns(len(PAGES) - 1), PAGES[1:], strict=True):
    with column.container(border=True):
        st.page_link(path, label=label, icon=icon)
        st.markdown(DESCRIPTIONS[path])

st.subheader("How accurate is it?")
st.markdown(accuracy_sentence() + " Details, per emotion and per measure, are on the "
            "**Dataset & training** page.")
st.page_link("pages/3_Dataset_and_training.py", label="Dataset & training", icon=":material/bar_chart:")

with st.expander("Model details"):
    st.markdown(model_summary(analyzer))
