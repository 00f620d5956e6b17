import csv
import io

import numpy as np

from app.tables import compact_rows
from fer_core.inference.video import CSV_FIELDS
from fer_core.labels import EMOTIONS


def test_rows_become_typed_columns_that_write_the_same_csv():
    rng = np.random.default_rng(0)
    rows = [{"frame": i // 2, "time_s": round(i / 50, 4), "face_id": 1 + i % 2, "x": 10, "y": 20, "w": 64, "h": 64,
             "emotion": EMOTIONS[i % 7], "confidence": 0.5}
            | {name: round(float(p), 4) for name, p in zip(EMOTIONS, rng.dirichlet(np.ones(7)), strict=True)}
            for i in range(2000)]
    table = compact_rows(rows, CSV_FIELDS + list(EMOTIONS))
    assert str(table["emotion"].dtype) == "category" and str(table["x"].dtype) == "int32"
    assert str(table["happy"].dtype) == "float32"
    assert table.memory_usage(deep=True).sum() < 80 * len(rows)
    written = list(csv.DictReader(io.StringIO(table.to_csv(index=False))))
    assert list(written[0]) == CSV_FIELDS + list(EMOTIONS) and len(written) == len(rows)
    for line, row in zip(written, rows, strict=True):
        assert line["emotion"] == row["emotion"] and int(line["face_id"]) == row["face_id"]
        assert [float(line[name]) for name in EMOTIONS] == [row[name] for name in EMOTIONS]
