"""Every page's title, icon, layout and sidebar links."""

from __future__ import annotations

import streamlit as st

# Material icons ship with Streamlit's frontend (no emoji font or CDN needed).
PAGES = (
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/1_Live_camera.py", "Live camera", ":material/videocam:"),
    ("pages/2_Analyse_photos.py", "Analyse photos", ":material/photo_library:"),
    ("pages/3_Dataset_and_training.py", "Dataset & training", ":material/bar_chart:"),
    ("pages/4_Video.py", "Analyse a video", ":material/movie:"),
)


def page_setup(path: str) -> None:
    """Page title, icon and wide layout for the page at `path` (relative to the app folder), and the sidebar links."""
    label, icon = next((label, icon) for p, label, icon in PAGES if p == path)
    title = "Facial emotion recognition" if path == PAGES[0][0] else f"{label} · Facial emotion recognition"
    st.set_page_config(page_title=title, page_icon=icon, layout="wide")
    with st.sidebar:
        for page, page_label, page_icon in PAGES:
            st.page_link(page, label=page_label, icon=page_icon)
        st.divider()
