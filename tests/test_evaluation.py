import numpy as np
import pytest

from fer_core.evaluation import compute_metrics, format_report


def test_metrics_match_a_hand_computed_example():
    labels = ["a", "b", "c"]
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    m = compute_metrics(y_true, y_pred, labels)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["n"] == 6 and m["labels"] == labels
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: P=2/2, R=2/3; b: P=1/2, R=1/2; c: P=1/2, R=1/1
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_macro_f1_averages_classes_seen_in_truth_or_predictions():
    m = compute_metrics([0, 0], [0, 1], ["a", "b", "c"])
    assert m["per_class"]["c"]["support"] == 0
    assert m["macro_f1"] == pytest.approx(np.mean([2 / 3, 0.0]))


def test_report_names_every_class_and_the_matrix():
    m = compute_metrics([0, 1, 1], [0, 1, 0], ["happy", "sad"])
    text = format_report(m)
    assert "accuracy=0.6667" in text and "happy" in text and "rows = true" in text
