"""The camera timeline: preallocated float32 blocks, a row cap that drops the oldest, and a CSV written per block."""

import csv
import io

import numpy as np

from app.timeline import LEADING_COLUMNS, Timeline
from fer_core.labels import EMOTIONS


def _rows(n: int, start: int = 0) -> np.ndarray:
    rng = np.random.default_rng(start)
    rows = np.zeros((n, 15), np.float32)
    rows[:, 0] = np.arange(start, start + n) / 30
    rows[:, 1] = rng.integers(1, 4, n)
    rows[:, 2:6] = rng.integers(0, 600, (n, 4))
    rows[:, 6] = rng.integers(0, 7, n)
    rows[:, 7:] = rng.random((n, 8))
    return rows


def test_rows_come_back_in_order_and_the_oldest_go_first_beyond_the_cap():
    timeline = Timeline(7, max_rows=100, block_rows=16)
    rows = _rows(250)
    for start in range(0, 250, 7):  # a few faces per frame
        timeline.append(rows[start:start + 7])
    kept = timeline.table()
    assert 100 <= len(kept) < 100 + 16 and len(timeline) == len(kept)
    np.testing.assert_array_equal(kept, rows[-len(kept):])
    np.testing.assert_array_equal(timeline.table(last=37), rows[-37:])
    np.testing.assert_array_equal(timeline.table(last=1000), kept)
    assert kept.dtype == np.float32 and sum(block.nbytes for block in timeline._blocks) <= (100 + 32) * 15 * 4
    timeline.clear()
    assert len(timeline) == 0 and timeline.table().shape == (0, 15)


def test_the_csv_has_a_line_per_row_with_every_probability():
    timeline = Timeline(7, block_rows=16)
    rows = _rows(40)
    timeline.append(rows)
    chunks = list(timeline.csv_chunks(EMOTIONS, chunk_rows=10))
    assert len(chunks) == 1 + 4
    table = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert list(table[0]) == [*LEADING_COLUMNS, *EMOTIONS] and len(table) == 40
    for line, row in zip(table, rows, strict=True):
        assert float(line["time_s"]) == round(float(row[0]), 3) and int(line["face_id"]) == int(row[1])
        assert line["emotion"] == EMOTIONS[int(row[6])]
        assert [float(line[name]) for name in EMOTIONS] == [round(float(p), 4) for p in row[8:]]
