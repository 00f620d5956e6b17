"""Sidebar controls shared by the pages that detect faces."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from fer_core import DetectorConfig

DETECTOR_NAMES = {"yunet": "YuNet (a small CNN: more faces, profiles, fast)",
                  "haar": "Haar cascade (OpenCV's classic frontal detector)"}


def detector_controls(defaults: DetectorConfig, key: str) -> DetectorConfig:
    """Sidebar widgets: which detector, and its sensitivity; returns the chosen DetectorConfig."""
    method = st.sidebar.selectbox("Face detector", list(DETECTOR_NAMES), index=list(DETECTOR_NAMES).index(
        defaults.method), format_func=DETECTOR_NAMES.get, key=f"{key}_detector")
    with st.sidebar.expander("Detection sensitivity", expanded=False):
        if method == "yunet":
            score_threshold = st.slider("Face score threshold (lower finds more faces and more false ones)", 0.3,
                                        0.95, float(defaults.score_threshold), 0.05, key=f"{key}_score")
            align = st.checkbox("Align each face to FER2013's pose from its landmarks", value=defaults.align,
                                key=f"{key}_align", help="Off: crop each face from its box instead")
            scale_factor, min_neighbors = defaults.scale_factor, defaults.min_neighbors
        else:
            scale_factor = st.slider("Scale factor (lower finds more faces, slower)", 1.03, 1.5,
                                     float(defaults.scale_factor), 0.01, key=f"{key}_scale")
            min_neighbors = st.slider("Min neighbours (lower finds more faces and more false ones)", 1, 10,
                                      int(defaults.min_neighbors), key=f"{key}_neighbors")
            score_threshold, align = defaults.score_threshold, defaults.align
        min_face = st.slider("Smallest face (pixels)", 12, 300, int(defaults.min_face), key=f"{key}_min_face")
        max_side = st.select_slider("Detect on a copy no larger than (pixels, longer side)",
                                    options=[240, 320, 480, 640, 960, 1280, 1920, 4096],
                                    value=int(defaults.max_side or 4096), key=f"{key}_max_side")
    return replace(defaults, method=method, scale_factor=scale_factor, min_neighbors=min_neighbors,
                   score_threshold=score_threshold, min_face=min_face, max_side=max_side, align=align)
