"""Entry point: `streamlit run streamlit_app.py`."""

import streamlit as st

from app_support import load_default_analyzer, model_summary

st.set_page_config(page_title="Facial emotion recognition", page_icon="🙂", layout="wide")


def home() -> None:
    st.title("Facial emotion recognition")
    st.write(
        "Every face in a photo or in your camera's live video is found and labelled with one of seven emotions "
        "(angry, disgust, fear, happy, sad, surprise, neutral) by a network trained on FER2013. "
        "Everything runs on this machine: nothing is uploaded anywhere or stored."
    )
    summary = model_summary()
    st.subheader("Model")
    st.markdown(summary)


analyzer, error = load_default_analyzer()
if error:
    st.error(f"The emotion model could not be loaded: {error}")
    st.info("Set FER_MODEL to a .keras file trained with `python -m fer_core train`, "
            "or restore the shipped model in models/ (git checkout models/).")
    st.stop()

navigation = st.navigation([
    st.Page(home, title="Home", icon="🏠", default=True),
    st.Page("pages/camera.py", title="Live camera", icon="📷", url_path="camera"),
    st.Page("pages/photos.py", title="Analyse photos", icon="🖼️", url_path="photos"),
    st.Page("pages/explorer.py", title="Dataset & training", icon="📊", url_path="explorer"),
])
navigation.run()
