import json

from fer_core.training.model_card import model_card


def _evaluation(accuracy, disgust_recall):
    per_class = {"happy": {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 10},
                 "disgust": {"precision": 0.5, "recall": disgust_recall, "f1": 0.4, "support": 4}}
    return {"accuracy": accuracy, "macro_f1": 0.6, "per_class": per_class}


def _run(tmp_path, plain, tta, multi=None):
    run = tmp_path / "run"
    run.mkdir()
    settings = {"data": "data", "arch": "vgg_fast", "epochs": 2, "batch_size": 64, "learning_rate": 0.001,
                "optimizer": "adam", "schedule": "cosine", "warmup_epochs": 1, "seed": 0}
    (run / "settings.json").write_text(json.dumps(settings))
    (run / "evaluation.json").write_text(json.dumps(plain))
    (run / "evaluation_mirror.json").write_text(json.dumps(tta))
    if multi:
        (run / "evaluation_multi.json").write_text(json.dumps(multi))
    return run


def test_per_class_table_and_weaknesses_follow_tta_when_it_helps(tmp_path):
    card = model_card(_run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50)))
    assert "Per class (mirror TTA, the default)" in card
    assert "| disgust | 0.500 | 0.500 |" in card and "| disgust | 0.500 | 0.250 |" not in card
    assert "No class below 40% recall." in card


def test_per_class_table_and_weaknesses_stay_plain_when_tta_does_not_help(tmp_path):
    card = model_card(_run(tmp_path, _evaluation(0.62, 0.25), _evaluation(0.60, 0.50)))
    assert "Per class (plain, the default)" in card
    assert "| disgust | 0.500 | 0.250 |" in card
    assert "less than 40% of the time: disgust." in card


def test_per_class_table_follows_multi_view_tta_when_it_scores_best(tmp_path):
    card = model_card(_run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.30), _evaluation(0.64, 0.45)))
    assert "Per class (multi-view TTA, the default)" in card
    assert "| multi-view TTA | 18 | 0.6400 | 0.6000 |" in card
    assert "| disgust | 0.500 | 0.450 |" in card
    for mode in ("none", "mirror", "multi"):
        assert f"--model models/run/model.keras --tta {mode}" in card


def test_settings_line_and_reproduce_command_say_whether_faces_were_augmented(tmp_path):
    run = _run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50))
    augmented = model_card(run)
    assert ("augmentation (flip, rotation up to 15 degrees, zoom up to 15%, shift up to 10%" in augmented
            and "--no-augment" not in augmented)
    settings = json.loads((run / "settings.json").read_text()) | {"augment": False, "random_erasing": 0.25}
    (run / "settings.json").write_text(json.dumps(settings))
    clean = model_card(run)
    assert "no augmentation (the faces as they are)" in clean and "flip, rotation" not in clean
    assert "--no-augment" in clean
    settings |= {"augment": True, "flip_only": True}
    (run / "settings.json").write_text(json.dumps(settings))
    flipped = model_card(run)
    assert "horizontal flips only (no rotation, zoom or shift)" in flipped and "flip, rotation" not in flipped
    assert "--flip-only" in flipped and "--no-augment" not in flipped


def test_settings_line_says_which_targets_the_network_learned(tmp_path):
    run = _run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50))
    assert "targets FER2013's labels," in model_card(run)
    settings = json.loads((run / "settings.json").read_text()) | {"ferplus": "d/ferplus.csv", "ferplus_weight": 0.7}
    (run / "settings.json").write_text(json.dumps(settings))
    card = model_card(run)
    assert "(1 - 0.7) x the label + 0.7 x the vote distribution from `d/ferplus.csv`" in card
    assert "--ferplus d/ferplus.csv" in card and "--ferplus-weight 0.7" in card


def test_reproduce_walks_warm_restarts_back_to_the_first_run(tmp_path):
    first = _run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50))
    previous = first
    for name in ("restart", "finish"):
        folder = tmp_path / name
        folder.mkdir()
        settings = json.loads((first / "settings.json").read_text()) | {
            "init_from": str(previous / "model.keras"), "learning_rate": 5e-05, "schedule": "constant"}
        (folder / "settings.json").write_text(json.dumps(settings))
        previous = folder
    card = model_card(previous)
    reproduce = card[card.index("## Reproduce"):]
    outs = [reproduce.index(f"--out runs/{name} ") for name in ("run", "restart", "finish")]
    assert outs == sorted(outs)
    assert "--init-from runs/run/model.keras" in reproduce and "--init-from runs/restart/model.keras" in reproduce
    assert str(tmp_path) not in reproduce
    assert "from scratch over its 3 runs" in card


def test_reproduce_builds_a_distilled_runs_teacher_first_and_warm_restarts_after_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    teacher = _run(runs, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50))
    student_settings = json.loads((teacher / "settings.json").read_text()) | {
        "teacher": str(teacher / "model.keras"), "distill": 0.5, "teacher_tta": "mirror",
        "init_from": "runs/run/model.keras", "learning_rate": 5e-05}
    student = runs / "student"
    student.mkdir()
    (student / "settings.json").write_text(json.dumps(student_settings))
    card = model_card(student)
    reproduce = card.split("## Reproduce")[1]
    # The teacher is also the run the student restarts from: trained once, before the student.
    assert reproduce.count("--out runs/run ") == 1 and reproduce.count("python -m fer_core train") == 2
    assert reproduce.index("--out runs/run ") < reproduce.index("--out runs/student ")
    assert "--teacher runs/run/model.keras --distill 0.5" in reproduce and str(tmp_path) not in reproduce
    assert "averaged over its 2 mirror TTA views, predicted on each augmented batch, weigh 0.5" in card


def test_reproduce_keeps_a_starting_model_it_cannot_trace(tmp_path):
    run = _run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50))
    settings = json.loads((run / "settings.json").read_text()) | {"init_from": "elsewhere/model.keras"}
    (run / "settings.json").write_text(json.dumps(settings))
    reproduce = model_card(run).split("## Reproduce")[1]
    assert reproduce.count("python -m fer_core train") == 1 and "--init-from elsewhere/model.keras" in reproduce


def test_weaknesses_name_the_two_lowest_recall_classes_and_the_selection_on_publictest(tmp_path):
    card = model_card(_run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50)))
    assert "- Lowest recall: disgust 50.0% (4 test faces), happy 90.0% (10 test faces)." in card
    assert "PublicTest chose the epoch kept, so these figures are somewhat optimistic" in card


def test_an_ensemble_whose_members_share_a_chain_trains_each_run_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    base = json.loads((_run(runs, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50)) / "settings.json").read_text())
    (runs / "run" / "evaluation.json").write_text(json.dumps(_evaluation(0.60, 0.25) | {"train_seconds": 3600}))
    finish = runs / "finish"
    finish.mkdir()
    restart = base | {"init_from": "runs/run/model.keras", "learning_rate": 5e-05}
    (finish / "settings.json").write_text(json.dumps(restart))
    (finish / "evaluation.json").write_text(json.dumps(_evaluation(0.61, 0.3) | {"train_seconds": 1800}))
    ensemble = tmp_path / "pair"
    for member in (finish, runs / "run"):
        (ensemble / "members" / member.name).mkdir(parents=True)
        for name in ("settings.json", "evaluation.json"):
            (ensemble / "members" / member.name / name).write_text((member / name).read_text())
    settings = {"arch": "ensemble", "data": "data", "val_split": "test",
                "members": [{"name": "finish"}, {"name": "run"}]}
    (ensemble / "settings.json").write_text(json.dumps(settings))
    (ensemble / "evaluation_mirror.json").write_text(json.dumps(_evaluation(0.63, 0.5)))
    card = model_card(ensemble)
    reproduce = card.split("## Reproduce")[1]
    assert reproduce.count("--out runs/run ") == 1 and reproduce.count("python -m fer_core train") == 2
    assert "python -m fer_core ensemble runs/finish runs/run --out runs/pair --data data" in reproduce
    assert "Training from scratch: 1.50 h over 2 distinct runs" in card
    assert "PublicTest chose the epoch kept and the members" in card


def test_training_line_gives_the_cpu_time_and_which_epochs_recorded_it(tmp_path):
    run = _run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50))
    header = "epoch,seconds,cpu_seconds\n"
    (run / "history.csv").write_text(header + "1,100,1800\n2,100,1800\n")
    assert "1.00 core-hours of CPU on" in model_card(run)
    # Epochs trained before the column existed have no CPU time: the card says what the sum covers.
    (run / "history.csv").write_text(header + "1,100,\n2,100,3600\n3,100,3600\n")
    assert "2.00 core-hours of CPU over the 2 epochs that recorded it" in model_card(run)


def test_reproduce_names_a_keras_backend_other_than_tensorflow(tmp_path):
    run = _run(tmp_path, _evaluation(0.60, 0.25), _evaluation(0.62, 0.50))
    assert "KERAS_BACKEND" not in model_card(run).split("## Reproduce")[1]
    settings = json.loads((run / "settings.json").read_text()) | {"keras_backend": "torch"}
    (run / "settings.json").write_text(json.dumps(settings))
    assert "KERAS_BACKEND=torch python -m fer_core train" in model_card(run).split("## Reproduce")[1]


def test_an_ensemble_states_its_members_cpu_time_together(tmp_path):
    ensemble = tmp_path / "pair"
    histories = {"first": "1,100,3600\n2,100,3600\n", "second": "1,100,\n2,100,1800\n"}
    for name, rows in histories.items():
        member = ensemble / "members" / name
        member.mkdir(parents=True)
        (member / "settings.json").write_text(json.dumps({"arch": "vgg_fast", "epochs": 2}))
        (member / "evaluation.json").write_text(json.dumps(_evaluation(0.6, 0.3) | {"train_seconds": 200}))
        (member / "history.csv").write_text("epoch,seconds,cpu_seconds\n" + rows)
    settings = {"arch": "ensemble", "data": "data", "val_split": "test",
                "members": [{"name": "first"}, {"name": "second"}]}
    (ensemble / "settings.json").write_text(json.dumps(settings))
    (ensemble / "evaluation.json").write_text(json.dumps(_evaluation(0.63, 0.5)))
    assert "2.50 core-hours of CPU (over the 3 of 4 epochs that recorded it)" in model_card(ensemble)
