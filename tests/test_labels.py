import pytest

from fer_core.labels import EMOTIONS, canonical_emotion, parse_classes


def test_csv_codes_follow_fer2013_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@pytest.mark.parametrize("name,expected", [
    ("Anger", "angry"), ("HAPPINESS", "happy"), ("sadness", "sad"), ("Surprised", "surprise"),
    ("fearful", "fear"), ("disgusted", "disgust"), ("neutral", "neutral"), ("contempt", None),
])
def test_synonyms_are_case_insensitive(name, expected):
    assert canonical_emotion(name) == expected


def test_class_subset_is_returned_in_canonical_order():
    assert parse_classes("neutral,happy, sad") == ("happy", "sad", "neutral")
    assert parse_classes(None) == EMOTIONS
    with pytest.raises(ValueError):
        parse_classes("happy,contempt")
    with pytest.raises(ValueError):
        parse_classes("happy")
