import numpy as np
import pytest

from fer_core.training.evaluation import compute_metrics, format_report


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


def test_calibration_bins_confidence_against_accuracy():
    from fer_core.training.evaluation import calibration

    # Four faces at 0.9 confidence, three right; two at 0.55, one right.
    probabilities = np.array([[0.9, 0.1]] * 4 + [[0.55, 0.45]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 1])
    result = calibration(probabilities, labels, bins=10)
    assert [(b["count"], b["accuracy"]) for b in result["bins"]] == [(2, 0.5), (4, 0.75)]
    assert result["bins"][1]["confidence"] == pytest.approx(0.9) and result["bins"][1]["low"] == pytest.approx(0.8)
    assert result["ece"] == pytest.approx(2 / 6 * 0.05 + 4 / 6 * 0.15)
    assert result["n"] == 6


def test_a_perfectly_sure_and_right_model_has_no_calibration_error():
    from fer_core.training.evaluation import calibration

    probabilities = np.eye(3)[[0, 1, 2, 1]]
    result = calibration(probabilities, np.array([0, 1, 2, 1]))
    assert result["ece"] == 0 and result["bins"][-1]["high"] == 1.0 and result["bins"][-1]["count"] == 4


def test_confusion_examples_put_the_most_confident_first():
    from fer_core.training.evaluation import confusion_examples

    probabilities = np.array([[0.3, 0.7], [0.1, 0.9], [0.8, 0.2], [0.4, 0.6], [0.2, 0.8]])
    labels = np.array([0, 0, 0, 0, 1])
    assert list(confusion_examples(probabilities, labels, true=0, predicted=1)) == [1, 0, 3]
    assert list(confusion_examples(probabilities, labels, true=0, predicted=0)) == [2]
    assert list(confusion_examples(probabilities, labels, true=1, predicted=0)) == []
