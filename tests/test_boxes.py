"""Duplicate and nested boxes: greedy suppression by score, by IoU and by containment."""

import pytest

from fer_core.inference.boxes import Box, Detection, containment, iou, same_face, suppress_duplicates


def test_iou_and_containment():
    assert iou(Box(0, 0, 10, 10), Box(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert containment(Box(0, 0, 100, 100), Box(20, 20, 30, 30)) == 1.0
    assert iou(Box(0, 0, 100, 100), Box(20, 20, 30, 30)) == pytest.approx(0.09)
    assert containment(Box(0, 0, 10, 10), Box(50, 50, 10, 10)) == 0.0


def test_the_best_scored_of_overlapping_boxes_survives():
    weak, strong = Detection(Box(0, 0, 100, 100), 0.7), Detection(Box(8, 5, 100, 100), 0.9)
    assert suppress_duplicates([weak, strong]) == [strong]


def test_a_box_nested_in_another_on_the_same_face_is_a_duplicate():
    """Haar's failure on group photos: a large box around a smaller one on the same child."""
    large, small = Detection(Box(100, 100, 200, 200), 12.0), Detection(Box(160, 150, 80, 80), 6.0)
    assert suppress_duplicates([small, large]) == [large]


def test_neighbouring_faces_both_survive():
    left, right = Detection(Box(0, 0, 100, 100), 0.9), Detection(Box(90, 0, 100, 100), 0.8)
    assert iou(left.box, right.box) < 0.3
    assert suppress_duplicates([left, right]) == [left, right]


def test_ties_in_score_keep_the_larger_box():
    a, b = Detection(Box(0, 0, 50, 50), 1.0), Detection(Box(5, 5, 60, 60), 1.0)
    assert suppress_duplicates([a, b]) == [b]
    assert suppress_duplicates([]) == []


def test_a_tall_box_and_a_square_on_one_face_are_the_same_face():
    square, tall = Box(672, 282, 37, 37), Box(681, 299, 20, 27)  # Haar and YuNet on one small face
    assert iou(square, tall) < 0.3 and same_face(square, tall) and same_face(tall, square)
    assert not same_face(Box(0, 0, 20, 20), Box(15, 15, 20, 20))
