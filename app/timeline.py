"""A camera session's timeline: float32 rows in preallocated blocks, the oldest dropped first, and its CSV written
block by block (never one dict per row)."""

from __future__ import annotations

import csv
import io
import threading
from collections import deque
from collections.abc import Iterator, Sequence

import numpy as np

# Rows kept for the timeline and its CSV: at 30 frames/s with 4 faces, about 70 minutes.
MAX_TIMELINE_ROWS = 500_000
# Rows per preallocated block: the timeline grows, and forgets its oldest rows, a block at a time.
BLOCK_ROWS = 8192
# What a row holds before one probability per class.
LEADING_COLUMNS = ["time_s", "face_id", "x", "y", "w", "h", "emotion", "confidence"]


class Timeline:
    """Rows of (time_s, face_id, x, y, w, h, emotion index, confidence, one probability per class), float32: a row
    of 7 classes costs 60 bytes. Holds at most max_rows rows plus one block; safe to read (a download) while
    another thread appends."""

    def __init__(self, classes: int, max_rows: int = MAX_TIMELINE_ROWS, block_rows: int = BLOCK_ROWS):
        self.width = len(LEADING_COLUMNS) + classes
        self.max_rows, self.block_rows = max_rows, block_rows
        self._blocks: deque[np.ndarray] = deque()
        self._filled = 0  # rows used in the last block
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return self._count()

    def _count(self) -> int:
        return 0 if not self._blocks else (len(self._blocks) - 1) * self.block_rows + self._filled

    def append(self, rows: np.ndarray) -> None:
        with self._lock:
            for row in np.asarray(rows, np.float32).reshape(-1, self.width):
                if not self._blocks or self._filled == self.block_rows:
                    self._blocks.append(np.empty((self.block_rows, self.width), np.float32))
                    self._filled = 0
                self._blocks[-1][self._filled] = row
                self._filled += 1
            while self._count() - self.block_rows >= self.max_rows:
                self._blocks.popleft()

    def table(self, last: int | None = None) -> np.ndarray:
        """A copy of the rows, oldest first (the `last` rows only, if given)."""
        with self._lock:
            if not self._blocks:
                return np.empty((0, self.width), np.float32)
            blocks = list(self._blocks)
            blocks[-1] = blocks[-1][:self._filled]
            count = self._count()
        if last is not None and last < count:
            skip = count - last
            first = skip // self.block_rows
            blocks = blocks[first:]
            blocks[0] = blocks[0][skip - first * self.block_rows:]
        return np.concatenate(blocks)

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._filled = 0

    def csv_chunks(self, labels: Sequence[str], chunk_rows: int = 4096) -> Iterator[str]:
        """The CSV (header, then one line per row), a few thousand rows at a time."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([*LEADING_COLUMNS, *labels])
        yield buffer.getvalue()
        table = self.table()
        for start in range(0, len(table), chunk_rows):
            buffer.seek(0)
            buffer.truncate()
            for row in table[start:start + chunk_rows]:
                writer.writerow([round(float(row[0]), 3), int(row[1]), int(row[2]), int(row[3]), int(row[4]),
                                 int(row[5]), labels[int(row[6])], round(float(row[7]), 4),
                                 *(round(float(p), 4) for p in row[8:])])
            yield buffer.getvalue()
