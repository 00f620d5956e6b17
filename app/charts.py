"""Plotly figures for the pages, built with graph_objects: plotly.express took ~280 ms per camera-panel redraw on
these CPUs, holding the GIL that the WebRTC threads need; these take ~35 ms."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fer_core.inference.draw import EMOTION_COLORS_BGR


def emotion_color(name: str) -> str:
    b, g, r = EMOTION_COLORS_BGR.get(name, (0, 200, 0))
    return f"rgb({r},{g},{b})"


def face_number(face: str) -> int:
    """'face 12' -> 12, so faces sort numerically."""
    return int(str(face).split()[-1])


def probability_bars(faces, labels) -> go.Figure:
    """One stacked horizontal bar per face (FaceResults with face_id) split by emotion probability."""
    names = [f"face {f.face_id}" for f in faces]
    figure = go.Figure([go.Bar(name=label, x=[f.scores[label] for f in faces], y=names, orientation="h",
                               marker_color=emotion_color(label)) for label in labels])
    figure.update_layout(barmode="stack", title="Current probabilities", height=170 + 50 * len(faces),
                         xaxis={"range": [0, 1]}, legend={"orientation": "h", "y": -0.35},
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def emotion_timeline(points, labels, x: str, title: str, max_faces: int = 4) -> go.Figure:
    """Emotion over time, one row per face; points is a DataFrame with columns face ('face N'), emotion and `x`."""
    faces = sorted(points["face"].unique(), key=face_number)[:max_faces]
    figure = make_subplots(rows=max(1, len(faces)), cols=1, shared_xaxes=True, subplot_titles=faces,
                           vertical_spacing=0.08)
    for row, face in enumerate(faces, start=1):
        mine = points[points["face"] == face]
        figure.add_trace(go.Scatter(x=mine[x], y=mine["emotion"], mode="markers", name=face, showlegend=False,
                                    marker={"size": 5, "color": [emotion_color(e) for e in mine["emotion"]]}),
                         row=row, col=1)
        # A fixed range shows every emotion on every row, not only those that occurred.
        figure.update_yaxes(categoryorder="array", categoryarray=list(labels), type="category",
                            range=[-0.5, len(labels) - 0.5], row=row, col=1)
    figure.update_layout(title=title, height=160 + 140 * len(faces), margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return figure
