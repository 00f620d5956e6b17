
from fer_core.runs.folder import read_run
from fer_core.runs.registry import DEFAULT_MODEL, MODELS_DIR
from helpers import open_page


def test_without_a_dataset_the_recorded_class_distribution_shows(monkeypatch):
    monkeypatch.delenv("FER_DATA_DIR", raising=False)
    at = open_page("3_Dataset_and_training.py")
    assert not at.exception
    record = read_run(MODELS_DIR / DEFAULT_MODEL).settings["data_record"]
    counts = at.dataframe[0].value
    assert list(counts.columns) == ["test", "train"] and list(counts.index) == sorted(record["class_counts"]["train"])
    for split in ("train", "test"):
        assert counts[split].to_dict() == record["class_counts"][split]
    assert counts.loc["disgust", "test"] == 56 and counts["train"].sum() == 28_709
    assert any("as their training recorded it" in m.value for m in at.markdown)


def test_shipped_runs_render_without_a_dataset(monkeypatch):
    monkeypatch.delenv("FER_DATA_DIR", raising=False)
    at = open_page("3_Dataset_and_training.py")
    assert not at.exception
    assert at.selectbox(key="run").value == DEFAULT_MODEL
    assert at.selectbox(key="compare_a").value == DEFAULT_MODEL  # models/ ships more than one run
    text = " ".join(m.value for m in at.markdown)
    assert read_run(MODELS_DIR / DEFAULT_MODEL).settings["arch"] in text and "Accuracy" in text
    at.radio(key="norm_main").set_value("normalised by true class").run()
    assert not at.exception
    per_class = next(frame.value for frame in at.dataframe if "emotion" in frame.value)
    assert list(per_class["emotion"]) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_dataset_distribution_and_samples(fer_data_dir, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(fer_data_dir))
    at = open_page("3_Dataset_and_training.py")
    assert not at.exception
    counts = at.dataframe[0].value
    assert counts.loc["happy", "train"] == 7215 and counts.loc["disgust", "test"] == 56
    at.slider[0].set_value(4).run()
    assert not at.exception
    assert len(at.image) >= 7


def test_a_confusion_cell_shows_its_faces_and_the_reliability_diagram(fer_data_dir, monkeypatch):
    from fer_core.runs.registry import CAMERA_MODEL

    monkeypatch.setenv("FER_DATA_DIR", str(fer_data_dir))
    at = open_page("3_Dataset_and_training.py")
    at.selectbox(key="run").set_value(CAMERA_MODEL).run()  # one network: the quickest to classify 3,589 faces
    at.toggle(key="inside_main").set_value(True).run()
    assert not at.exception
    run = read_run(MODELS_DIR / CAMERA_MODEL)
    labels = run.evaluation["labels"]
    at.selectbox(key="cell_true_main").set_value(labels.index("fear")).run()
    at.selectbox(key="cell_pred_main").set_value(labels.index("sad")).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    shown = int(text.split(" fear faces predicted as **sad** (mistakes)")[0].rsplit("**", 2)[-2])
    # The evaluation on record (the same model, faces and test-time augmentation) counts the same mistakes.
    from fer_core.inference.predictor import Predictor

    recorded = run.evaluations[Predictor.load(run.model_path).tta_default]["confusion_matrix"]
    assert shown == recorded[labels.index("fear")][labels.index("sad")]
    assert len(at.image) >= 1
    ece = next(m for m in at.metric if m.label == "Expected calibration error")
    assert 0 < float(ece.value) < 0.2


def test_two_runs_side_by_side(tiny_model, tmp_path, monkeypatch):
    import shutil

    monkeypatch.delenv("FER_DATA_DIR", raising=False)
    for name in ("run_a", "run_b"):
        shutil.copytree(tiny_model.parent, tmp_path / name, ignore=shutil.ignore_patterns("checkpoint"))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path))
    at = open_page("3_Dataset_and_training.py")
    at.radio(key="runs_source").set_value("This server's training runs").run()
    assert not at.exception
    assert at.selectbox(key="run").options == ["run_a", "run_b"]
    assert at.selectbox(key="compare_b").value == "run_b"
    comparison = at.dataframe[-1].value
    assert list(comparison["run"]) == ["run_a", "run_b"]
    assert comparison["accuracy"].notna().all()


def test_an_ensemble_shows_its_members(tiny_model, synthetic_dataset, tmp_path, monkeypatch):
    import shutil

    from fer_core.training.ensemble import build_ensemble

    monkeypatch.delenv("FER_DATA_DIR", raising=False)
    members = [tmp_path / "members_src" / name for name in ("net_a", "net_b")]
    for member in members:
        shutil.copytree(tiny_model.parent, member, ignore=shutil.ignore_patterns("checkpoint"))
    build_ensemble(members, tmp_path / "runs" / "pair", data=synthetic_dataset / "folder")
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    at = open_page("3_Dataset_and_training.py")
    at.radio(key="runs_source").set_value("This server's training runs").run()
    assert not at.exception
    assert "ensemble, the mean of 2 networks" in " ".join(m.value for m in at.markdown)
    table = next(frame.value for frame in at.dataframe if "member" in frame.value)
    assert list(table["member"]) == ["net_a", "net_b"] and table["accuracy alone"].notna().all()
    assert any("Accuracy" in m.value for m in at.markdown)


def test_a_run_with_a_scorecard_shows_what_users_see(tiny_model, synthetic_dataset, tmp_path, monkeypatch):
    import json
    import shutil

    from fer_core.inference.predictor import Predictor
    from fer_core.training.scorecard import scorecard

    monkeypatch.delenv("FER_DATA_DIR", raising=False)
    run = tmp_path / "runs" / "scored"
    shutil.copytree(tiny_model.parent, run, ignore=shutil.ignore_patterns("checkpoint"))
    data = synthetic_dataset / "folder"
    card = scorecard(Predictor.load(run / "model.keras"), data, tta="none", raw=data)
    (run / "scorecard.json").write_text(json.dumps(card))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    at = open_page("3_Dataset_and_training.py")
    at.radio(key="runs_source").set_value("This server's training runs").run()
    assert not at.exception
    assert "What users see" in [h.value for h in at.subheader]
    table = next(frame.value for frame in at.dataframe if "measure" in frame.value)
    assert list(table["measure"]) == ["PublicTest, original labels", "PublicTest in raw pixels"]
    assert list(table["accuracy"]) == [round(card["original"]["accuracy"], 4), round(card["raw"]["accuracy"], 4)]


def test_the_comparison_shows_targets_and_what_users_see(tiny_model, synthetic_dataset, tmp_path, monkeypatch):
    import json
    import shutil

    from fer_core.inference.predictor import Predictor
    from fer_core.training.scorecard import scorecard

    monkeypatch.delenv("FER_DATA_DIR", raising=False)
    for name in ("labels", "votes"):
        shutil.copytree(tiny_model.parent, tmp_path / name, ignore=shutil.ignore_patterns("checkpoint"))
    votes = tmp_path / "votes"
    settings = json.loads((votes / "settings.json").read_text()) | {"ferplus": "ferplus.csv", "ferplus_weight": 0.7}
    (votes / "settings.json").write_text(json.dumps(settings))
    data = synthetic_dataset / "folder"
    card = scorecard(Predictor.load(votes / "model.keras"), data, tta="none", raw=data)
    (votes / "scorecard.json").write_text(json.dumps(card))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path))
    at = open_page("3_Dataset_and_training.py")
    at.radio(key="runs_source").set_value("This server's training runs").run()
    assert not at.exception
    comparison = at.dataframe[-1].value.set_index("run")
    assert comparison.loc["labels", "targets"] == "FER2013's labels"
    assert comparison.loc["votes", "targets"] == "FER+ votes, W = 0.7"
    assert comparison.loc["votes", "PublicTest in raw pixels"] == card["raw"]["accuracy"]
    assert comparison["PublicTest in raw pixels"].isna().tolist() == [True, False]


def test_the_page_offers_no_box_for_a_server_path(monkeypatch, tmp_path):
    """Folders come from the server's operator (FER_DATA_DIR, FER_RUNS_DIR), never from a browser, and the page
    names none: a browser cannot make the server list or load files from where it points."""
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.delenv("FER_RUNS_DIR", raising=False)
    at = open_page("3_Dataset_and_training.py")
    assert not at.exception
    assert len(at.text_input) == 0
    assert not [r for r in at.radio if r.key == "runs_source"]  # no server runs, no choice of source
    shown = " ".join([m.value for m in at.markdown] + [w.value for w in at.warning] + [i.value for i in at.info])
    assert str(tmp_path) not in shown and "FER_DATA_DIR" in shown
