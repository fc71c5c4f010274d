"""Rows grouped by integer codes: each row's group number and each group's first row.

Report data repeats a few values (queue pairs, media, interval times) over millions of rows, so
work is done once per group and gathered back by number, without a key object per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def row_groups(columns: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group number by the columns' values together (numbered in first-seen order)
    and the first row of each group. `columns`: one or more equally long arrays or Series."""
    import numpy as np
    import pandas as pd

    leading, *others = columns
    number, _ = pd.factorize(leading, use_na_sentinel=False)
    for column in others:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        # renumbered after each column, so the combined number stays below the row count
        number, _ = pd.factorize(number * len(uniques) + codes)
    first = np.empty(int(number.max()) + 1 if len(number) else 0, dtype=np.int64)
    first[number[::-1]] = np.arange(len(number) - 1, -1, -1)
    return number, first
