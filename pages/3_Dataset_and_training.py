"""Dataset & training explorer: the classes the models learnt from, the faces (with the data on disk), and every
shipped model and recorded experiment: curves, confusion, calibration, scorecards."""

import os

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app.models import load_predictor
from app.navigation import page_setup
from fer_core.inference.preprocess import to_model_input
from fer_core.inference.tta import TTA_LABELS, default_tta_mode, view_count
from fer_core.runs.folder import RunFiles, architecture_line, member_runs, read_run, targets_line
from fer_core.runs.registry import DEFAULT_MODEL, MODELS_DIR, known_runs, server_runs
from fer_core.training.data import available_splits, count_faces, load_dataset, sample_faces
from fer_core.training.evaluation import calibration, confusion_examples
from fer_core.training.model_card import SCORECARD_TITLES

SHIPPED, SERVER_RUNS = "Shipped models and experiments", "This server's training runs"

page_setup("pages/3_Dataset_and_training.py")
st.title("Dataset & training")


# Bounded, as every user shares them: a few folders' counts, and samples for the last seeds and sizes asked for.
@st.cache_data(show_spinner="Counting faces…", max_entries=8, ttl=3600)
def cached_counts(path: str, split: str) -> dict[str, int]:
    return count_faces(path, split)


@st.cache_data(show_spinner="Reading sample faces…", max_entries=16, ttl=3600)
def cached_samples(path: str, split: str, per_class: int, seed: int) -> dict[str, np.ndarray]:
    return sample_faces(path, split, per_class, seed)


def distribution(counts: dict[str, dict[str, int]], title: str) -> None:
    """Faces per class of each split, as a grouped bar chart and a table."""
    table = pd.DataFrame([{"split": split, "emotion": name, "faces": n}
                          for split, per_class in counts.items() for name, n in per_class.items()])
    table["percent"] = 100 * table["faces"] / table.groupby("split")["faces"].transform("sum")
    figure = px.bar(table, x="emotion", y="faces", color="split", barmode="group", text=table["percent"].round(1),
                    title=f"{title} (bar labels: % of the split)")
    st.plotly_chart(figure, key="distribution")
    st.dataframe(table.pivot(index="emotion", columns="split", values="faces"))


def recorded_distribution() -> None:
    """The default model's record of its training data: no dataset needed."""
    record = read_run(MODELS_DIR / DEFAULT_MODEL).settings.get("data_record")
    if not record:
        st.info("With FER2013 on this server (FER_DATA_DIR), its classes and sample faces show here.")
        return
    st.markdown(f"The data the shipped models learnt from, as their training recorded it: {record['layout']}; "
                f"preprocessing: {record['preprocessing']}. With the dataset on this server (set FER_DATA_DIR when "
                "starting the app), its live counts and sample faces show here.")
    distribution(record["class_counts"], "Faces per class in the shipped models' training data")


def dataset_section() -> None:
    st.header("Dataset")
    # The folder is the server operator's choice ($FER_DATA_DIR), never a browser's: the page shows what it finds.
    path = os.environ.get("FER_DATA_DIR", "")
    if not path:
        recorded_distribution()
        return
    splits = available_splits(path) if os.path.exists(path) else []
    if not splits:
        st.warning("The dataset this server was set up with (FER_DATA_DIR) holds no FER2013 split or class "
                   "folders.")
        recorded_distribution()
        return
    distribution({split: cached_counts(path, split) for split in splits}, "Faces per class")

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
    st.markdown(f"**{run.name}**: {architecture_line(run)}" + ("" if members else
                f", batch {settings.get('batch_size')}, lr {settings.get('learning_rate')}, "
                f"{settings.get('keras_backend')} backend"))
    if members:
        st.dataframe(pd.DataFrame([{"member": m.name, "arch": m.settings.get("arch"),
                                    "parameters": m.settings.get("parameters"), "epochs": len(m.history),
                                    "accuracy alone": (m.evaluation or {}).get("accuracy")} for m in members]),
                     hide_index=True)
        for i, member in enumerate(members):
            if member.history:
                st.plotly_chart(curves(member), key=f"curves_{key}_member{i}")
    if run.history:
        st.plotly_chart(curves(run), key=f"curves_{key}")
    evaluation = run.evaluation
    if not evaluation:
        st.info("This run has no evaluation file yet (still training?).")
        return
    evaluations = run.evaluations
    if len(evaluations) > 1:
        # The run's default mode first shown: the figure its card and the other pages give.
        default = default_tta_mode(run.settings, evaluations)
        mode = st.radio("Test-time augmentation", list(evaluations), index=list(evaluations).index(default),
                        horizontal=True, key=f"tta_{key}",
                        format_func=lambda m: f"{TTA_LABELS[m]} ({view_count(m)} per face)"
                        + (", the model's default" if m == default else ""))
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
    inside_section(run, key)


@st.cache_data(show_spinner="Classifying the validation faces…", max_entries=4)
def cached_predictions(model_path: str, data: str, split: str):
    """The validation faces, their labels, the model's probabilities (its default test-time augmentation)."""
    predictor = load_predictor(model_path)
    dataset = load_dataset(data, split, predictor.labels)
    probabilities = predictor.predict_proba(to_model_input(dataset.images), tta=predictor.tta_default)
    return dataset.images, dataset.labels, probabilities, list(predictor.labels)


def inside_section(run: RunFiles, key: str) -> None:
    """With the dataset: the faces behind any confusion-matrix cell, and how well confidence matches accuracy."""
    data = os.environ.get("FER_DATA_DIR", "")
    if not run.model_path.is_file() or not data or not os.path.exists(data):
        st.caption("With FER2013 on this server (FER_DATA_DIR), the faces behind each cell and the model's "
                   "calibration show here (for a run with its weights, as the shipped models have).")
        return
    st.subheader("Looking inside the model")
    if not st.toggle("Classify the validation faces", key=f"inside_{key}"):
        return
    split = run.settings.get("val_split", "test")
    images, labels, probabilities, names = cached_predictions(str(run.model_path), data, split)
    confusion_faces(images, labels, probabilities, names, key)
    reliability(calibration(probabilities, labels), key)


def confusion_faces(images, labels, probabilities, names, key: str) -> None:
    predicted = probabilities.argmax(axis=1)
    left, right = st.columns(2)
    true = left.selectbox("True class", range(len(names)), format_func=names.__getitem__, key=f"cell_true_{key}")
    counts = [int(((labels == true) & (predicted == p)).sum()) for p in range(len(names))]
    default = max((p for p in range(len(names)) if p != true), key=counts.__getitem__)
    guess = right.selectbox("Predicted class", range(len(names)), index=default, key=f"cell_pred_{key}",
                            format_func=lambda p: f"{names[p]} ({counts[p]} faces)")
    chosen = confusion_examples(probabilities, labels, true, guess)
    kind = "right" if guess == true else "mistakes"
    st.markdown(f"**{len(chosen)}** {names[true]} faces predicted as **{names[guess]}** ({kind}), the most "
                "confident first:")
    if len(chosen):
        st.image([images[i] for i in chosen[:32]], width=72,
                 caption=[f"{probabilities[i, guess]:.0%}" for i in chosen[:32]])


def reliability(result: dict, key: str) -> None:
    bins = pd.DataFrame(result["bins"])
    figure = go.Figure()
    figure.add_bar(x=bins["confidence"], y=bins["accuracy"], width=0.08, name="accuracy",
                   customdata=bins["count"], hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f} (%{customdata} "
                   "faces)<extra></extra>")
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot"}, name="perfect calibration")
    figure.update_layout(title=f"Reliability: expected calibration error {result['ece']:.3f}",
                         xaxis_title="confidence (top probability)", yaxis_title="accuracy",
                         xaxis={"range": [0, 1]}, yaxis={"range": [0, 1]})
    st.plotly_chart(figure, key=f"reliability_{key}")
    st.metric("Expected calibration error", f"{result['ece']:.3f}",
              help="The gap between confidence and accuracy, averaged over the faces")


def scorecard_section(run: RunFiles, key: str) -> None:
    """What users see: accuracy and per-class recall on raw pixels, FER+ majority labels and full images."""
    card = run.scorecard
    if not card:
        return
    st.subheader("What users see")
    present = [m for m in SCORECARD_TITLES if m in card]
    st.dataframe(pd.DataFrame([{"measure": SCORECARD_TITLES[m], "faces": card[m]["n"],
                                "accuracy": card[m]["accuracy"], "macro-F1": card[m]["macro_f1"],
                                "not scored / no face found": card[m].get("unscored", card[m].get("no_face")),
                                "share of direct-crop accuracy": card[m].get("of_direct")}
                               for m in present]).round(4), hide_index=True)
    recall = pd.DataFrame([{"emotion": name, **{SCORECARD_TITLES[m]: card[m]["per_class"][name]["recall"]
                                                 for m in present}} for name in card["original"]["labels"]])
    figure = px.bar(recall.melt(id_vars="emotion", var_name="measure", value_name="recall"), x="emotion",
                    y="recall", color="measure", barmode="group",
                    title=f"Recall per class (test-time augmentation: {card['tta']})")
    st.plotly_chart(figure, key=f"scorecard_{key}")


def comparison_row(run: RunFiles) -> dict:
    """One run's line in the comparison: its training, PublicTest accuracy per TTA mode and, when it was scored,
    what users see (in the scorecard's own test-time augmentation)."""
    ev, card = run.evaluation or {}, run.scorecard or {}
    row = {"run": run.name, "arch": run.settings.get("arch"), "targets": targets_line(run.settings),
           "parameters": run.settings.get("parameters"), "epochs": len(run.history),
           "accuracy": ev.get("accuracy"), "macro_f1": ev.get("macro_f1"),
           "accuracy (mirror TTA)": run.evaluations.get("mirror", {}).get("accuracy"),
           "accuracy (multi-view TTA)": run.evaluations.get("multi", {}).get("accuracy")}
    for measure in ("raw", "ferplus", "end_to_end", "scene"):
        row[SCORECARD_TITLES[measure]] = card.get(measure, {}).get("accuracy")
    return row


def runs_section() -> None:
    st.header("Training runs")
    server = server_runs()
    source = SHIPPED
    if server:
        source = st.radio("Runs", [SHIPPED, SERVER_RUNS], horizontal=True, key="runs_source",
                          help="This server's own training runs are those in the folder its operator named in "
                               "FER_RUNS_DIR.")
    runs = [read_run(run) for run in (server if source == SERVER_RUNS else known_runs())]
    if not runs:
        st.info("No training runs to show.")
        return
    names = [run.name for run in runs]
    default = DEFAULT_MODEL if source == SHIPPED else None
    first = names.index(default) if default in names else 0
    chosen = st.selectbox("Run", names, index=first, key="run",
                          format_func=lambda name: f"{name} (default model)" if name == default else name)
    run_section(runs[names.index(chosen)], "main")

    if len(runs) > 1:
        st.subheader("Compare two runs")
        left, right = st.columns(2)
        a = left.selectbox("First run", names, index=first, key="compare_a")
        b = right.selectbox("Second run", names, index=1 if first == 0 else 0, key="compare_b")
        st.dataframe(pd.DataFrame([comparison_row(runs[names.index(name)]) for name in (a, b)]), hide_index=True)
        figure = go.Figure()
        for name in (a, b):
            history = pd.DataFrame(runs[names.index(name)].history)
            if "val_accuracy" in history:
                figure.add_scatter(x=history["epoch"], y=history["val_accuracy"], name=f"{name} val_accuracy")
        figure.update_layout(title="Validation accuracy per epoch", xaxis_title="epoch", yaxis_title="accuracy")
        st.plotly_chart(figure, key="compare_curves")


dataset_section()
runs_section()
