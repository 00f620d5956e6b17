"""Per-face rows kept for a browser session as typed columns instead of a dict per face."""

from __future__ import annotations

import pandas as pd

INTEGER_COLUMNS = ("frame", "face_id", "x", "y", "w", "h")


def compact_rows(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """rows (fer_core.inference.rows.face_rows dicts) as a table: whole numbers int32, the emotion a category,
    every other column float32."""
    table = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column == "emotion":
            table[column] = table[column].astype("category")
        elif column in INTEGER_COLUMNS:
            table[column] = table[column].astype("int32")
        else:
            table[column] = table[column].astype("float32")
    return table
