"""How long `wfm --help` and a shell-completion call take, over repeated runs.

Run: .venv/bin/python bench/cli_startup.py [--runs 20]
Both run in a fresh process each time, as a shell would start them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

WFM = Path(sys.executable).with_name("wfm")

CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    "wfm --help": ([str(WFM), "--help"], {}),
    "wfm --version": ([str(WFM), "--version"], {}),
    "completion: wfm con<TAB>": (
        [str(WFM)],
        {"_WFM_COMPLETE": "complete_bash", "COMP_WORDS": "wfm con", "COMP_CWORD": "1"},
    ),
    "completion: wfm config <TAB>": (
        [str(WFM)],
        {"_WFM_COMPLETE": "complete_bash", "COMP_WORDS": "wfm config ", "COMP_CWORD": "2"},
    ),
}


def measure(argv: list[str], extra_env: dict[str, str], runs: int) -> list[float]:
    env = {**os.environ, **extra_env}
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    measure([str(WFM), "--version"], {}, 2)  # warm the file cache and .pyc files
    print(f"{'case':32} {'runs':>5} {'median s':>9} {'max s':>7}")
    for name, (argv, env) in CASES.items():
        timings = measure(argv, env, runs)
        print(f"{name:32} {runs:>5} {statistics.median(timings):>9.3f} {max(timings):>7.3f}")


if __name__ == "__main__":
    main()
