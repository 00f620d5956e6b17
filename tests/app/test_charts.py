import pandas as pd

from app.charts import emotion_timeline, probability_bars
from fer_core.inference.detect import Box
from fer_core.inference.pipeline import FaceResult
from fer_core.labels import EMOTIONS


def _face(face_id, top):
    scores = {name: (0.7 if name == top else 0.05) for name in EMOTIONS}
    return FaceResult(Box(0, 0, 10, 10), top, 0.7, scores, face_id)


def test_probability_bars_stack_one_trace_per_emotion():
    figure = probability_bars([_face(1, "happy"), _face(2, "sad")], EMOTIONS)
    assert [trace.name for trace in figure.data] == list(EMOTIONS)
    happy = figure.data[EMOTIONS.index("happy")]
    assert list(happy.y) == ["face 1", "face 2"] and list(happy.x) == [0.7, 0.05]
    assert figure.layout.barmode == "stack"


def test_timeline_has_a_row_per_face_in_numeric_order_with_every_emotion_shown():
    points = pd.DataFrame([{"t": i, "face": f"face {f}", "emotion": "happy"} for i in range(5) for f in (10, 2, 3)])
    figure = emotion_timeline(points, EMOTIONS, "t", "title", max_faces=2)
    assert [trace.name for trace in figure.data] == ["face 2", "face 3"]
    assert figure.layout.yaxis.range == (-0.5, len(EMOTIONS) - 0.5)
    assert tuple(figure.layout.yaxis2.categoryarray) == EMOTIONS
