"""Dataset & training explorer: FER2013's classes and faces, and every training run shipped in models/."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app_support import page_setup
from fer_core.card import SCORECARD_TITLES
from fer_core.data import available_splits, count_faces, sample_faces
from fer_core.paths import DEFAULT_RUN, MODELS_DIR, list_runs
from fer_core.runs import RunFiles, member_runs, read_run
from fer_core.tta import TTA_LABELS, view_count

page_setup("pages/3_Dataset_and_training.py")
st.title("Dataset & training")


@st.cache_data(show_spinner="Counting faces…")
def cached_counts(path: str, split: str) -> dict[str, int]:
    return count_faces(path, split)


@st.cache_data(show_spinner="Reading sample faces…")
def cached_samples(path: str, split: str, per_class: int, seed: int) -> dict[str, np.ndarray]:
    return sample_faces(path, split, per_class, seed)


def dataset_section() -> None:
    st.header("Dataset")
    path = st.text_input("FER2013 folder (train/ and test/ inside) or fer2013.csv",
                         value=os.environ.get("FER_DATA_DIR", ""))
    if not path:
        st.info("Point this at a FER2013 folder or CSV to see its classes and faces (FER_DATA_DIR sets the default).")
        return
    if not os.path.exists(path):
        st.warning(f"No dataset at {path}.")
        return
    splits = available_splits(path)
    if not splits:
        st.warning(f"{path} holds no FER2013 split or class folders.")
        return
    rows = [{"split": split, "emotion": name, "faces": n}
            for split in splits for name, n in cached_counts(path, split).items()]
    table = pd.DataFrame(rows)
    table["percent"] = 100 * table["faces"] / table.groupby("split")["faces"].transform("sum")
    figure = px.bar(table, x="emotion", y="faces", color="split", barmode="group", text=table["percent"].round(1),
                    title="Faces per class (bar labels: % of the split)")
    st.plotly_chart(figure, key="distribution")
    st.dataframe(table.pivot(index="emotion", columns="split", values="faces"))

    split = st.selectbox("Sample faces from split", splits)
    per_class = st.slider("Faces per class", 4, 16, 8)
    seed = st.number_input("Shuffle", 0, 10_000, 0, help="Change to draw other faces")
    for name, faces in cached_samples(path, split, per_class, int(seed)).items():
        if len(faces):
            st.markdown(f"**{name}**")
            st.image(list(faces), width=72)


def curves(run: RunFiles) -> go.Figure:
    history = pd.DataFrame(run.history)
    figure = go.Figure()
    for column, dash in (("loss", None), ("val_loss", "dot"), ("accuracy", None), ("val_accuracy", "dot"),
                         ("swa_val_accuracy", "dash")):
        if column in history and history[column].notna().any():
            axis = "y2" if "accuracy" in column else "y"
            figure.add_scatter(x=history["epoch"], y=history[column], name=column, line={"dash": dash}, yaxis=axis)
    figure.update_layout(title=f"{run.name}: loss (left) and accuracy (right)", xaxis_title="epoch",
                         yaxis={"title": "loss"}, yaxis2={"title": "accuracy", "overlaying": "y", "side": "right",
                                                          "range": [0, 1]})
    return figure


def run_section(run: RunFiles, key: str) -> None:
    settings = run.settings
    members = member_runs(run)
    if members:
        st.markdown(f"**{run.name}**: {settings.get('arch')}, the mean of {len(members)} networks' probabilities, "
                    f"{settings.get('parameters', 0):,} parameters in all")
        st.dataframe(pd.DataFrame([{"member": m.name, "arch": m.settings.get("arch"),
                                    "parameters": m.settings.get("parameters"), "epochs": len(m.history),
                                    "accuracy alone": (m.evaluation or {}).get("accuracy")} for m in members]),
                     hide_index=True)
        for i, member in enumerate(members):
            if member.history:
                st.plotly_chart(curves(member), key=f"curves_{key}_member{i}")
    else:
        st.markdown(f"**{run.name}**: {settings.get('arch')}, {settings.get('parameters', 0):,} parameters, "
                    f"{len(run.history)} epochs, batch {settings.get('batch_size')}, "
                    f"lr {settings.get('learning_rate')}, {settings.get('keras_backend')} backend")
    if run.history:
        st.plotly_chart(curves(run), key=f"curves_{key}")
    evaluation = run.evaluation
    if not evaluation:
        st.info("This run has no evaluation file yet (still training?).")
        return
    evaluations = run.evaluations
    if len(evaluations) > 1:
        mode = st.radio("Test-time augmentation", list(evaluations), horizontal=True, key=f"tta_{key}",
                        format_func=lambda m: f"{TTA_LABELS[m]} ({view_count(m)} per face)")
        evaluation = evaluations[mode]
    st.markdown(f"Accuracy **{evaluation['accuracy']:.1%}**, macro-F1 **{evaluation['macro_f1']:.3f}** "
                f"on {evaluation['n']:,} faces ({evaluation.get('split', 'test')} split)")
    labels = evaluation["labels"]
    matrix = np.asarray(evaluation["confusion_matrix"], float)
    normalised = st.radio("Confusion matrix", ["counts", "normalised by true class"], horizontal=True,
                          key=f"norm_{key}") != "counts"
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalised else matrix
    figure = px.imshow(shown, x=labels, y=labels, text_auto=".2f" if normalised else ".0f",
                       color_continuous_scale="Blues", labels={"x": "predicted", "y": "true", "color": ""})
    st.plotly_chart(figure, key=f"confusion_{key}")
    per_class = pd.DataFrame(evaluation["per_class"]).T.reset_index(names="emotion")
    st.dataframe(per_class.round(3), hide_index=True)
    scorecard_section(run, key)


def scorecard_section(run: RunFiles, key: str) -> None:
    """What users see: accuracy and per-class recall on raw pixels, FER+ majority labels and full images."""
    card = run.scorecard
    if not card:
        return
    st.subheader("What users see")
    present = [m for m in SCORECARD_TITLES if m in card]
    st.dataframe(pd.DataFrame([{"measure": SCORECARD_TITLES[m], "faces": card[m]["n"],
                                "accuracy": card[m]["accuracy"], "macro-F1": card[m]["macro_f1"],
                                "not scored / no face found": card[m].get("unscored", card[m].get("no_face"))}
                               for m in present]).round(4), hide_index=True)
    recall = pd.DataFrame([{"emotion": name, **{SCORECARD_TITLES[m]: card[m]["per_class"][name]["recall"]
                                                 for m in present}} for name in card["original"]["labels"]])
    figure = px.bar(recall.melt(id_vars="emotion", var_name="measure", value_name="recall"), x="emotion",
                    y="recall", color="measure", barmode="group",
                    title=f"Recall per class (test-time augmentation: {card['tta']})")
    st.plotly_chart(figure, key=f"scorecard_{key}")


def runs_section() -> None:
    st.header("Training runs")
    folder = st.text_input("Runs folder (each run is a folder written by `python -m fer_core train --out ...`)",
                           value=str(MODELS_DIR), key="runs_folder")
    runs = [read_run(run) for run in list_runs(Path(folder))]
    if not runs:
        st.info(f"No training runs in {folder}.")
        return
    names = [run.name for run in runs]
    default = DEFAULT_RUN if Path(folder).resolve() == MODELS_DIR.resolve() else None
    first = names.index(default) if default in names else 0
    chosen = st.selectbox("Run", names, index=first, key="run",
                          format_func=lambda name: f"{name} (default model)" if name == default else name)
    run_section(runs[names.index(chosen)], "main")

    if len(runs) > 1:
        st.subheader("Compare two runs")
        left, right = st.columns(2)
        a = left.selectbox("First run", names, index=first, key="compare_a")
        b = right.selectbox("Second run", names, index=1 if first == 0 else 0, key="compare_b")
        rows = []
        for name in (a, b):
            run = runs[names.index(name)]
            ev = run.evaluation or {}
            rows.append({"run": name, "arch": run.settings.get("arch"), "parameters": run.settings.get("parameters"),
                         "epochs": len(run.history), "accuracy": ev.get("accuracy"), "macro_f1": ev.get("macro_f1"),
                         "accuracy (mirror TTA)": (run.evaluation_tta or {}).get("accuracy"),
                         "accuracy (multi-view TTA)": (run.evaluation_multi or {}).get("accuracy")})
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        figure = go.Figure()
        for name in (a, b):
            history = pd.DataFrame(runs[names.index(name)].history)
            if "val_accuracy" in history:
                figure.add_scatter(x=history["epoch"], y=history["val_accuracy"], name=f"{name} val_accuracy")
        figure.update_layout(title="Validation accuracy per epoch", xaxis_title="epoch", yaxis_title="accuracy")
        st.plotly_chart(figure, key="compare_curves")


dataset_section()
runs_section()
