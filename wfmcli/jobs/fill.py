"""Which entities a `fill: true` report writes zero rows for, whatever the range rendered.

Taken from the scope's directory (every queue in its divisions), not from the traffic one run
happened to see, so a catch-up split into parts writes the same bytes as one run. One function,
so that a queue mapping can supply the set instead when a destination has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from wfmcli.pull.directory import Directory


def fill_entities(directory: Directory) -> pd.DataFrame:
    """One row per queue in scope: the keys and names the zero rows carry."""
    import pandas as pd

    queues = sorted(directory.queues, key=lambda q: q.id)
    return pd.DataFrame(
        {"queue_id": [q.id for q in queues], "queue_name": [q.name for q in queues]}, dtype="str"
    )
