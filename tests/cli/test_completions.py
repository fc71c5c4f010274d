"""completions/ holds current scripts for all four shells, and completion answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wfmcli"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_script_is_current(shell: str) -> None:
    committed = (ROOT / "completions" / f"wfm.{shell}").read_text(encoding="utf-8")
    generated = _run({"_WFM_COMPLETE": f"source_{shell}"})
    assert committed == generated, f"completions/wfm.{shell} is stale: run 'make completions'"


def test_bash_completion_completes_commands() -> None:
    out = _run({"_WFM_COMPLETE": "complete_bash", "COMP_WORDS": "wfm conf", "COMP_CWORD": "1"})
    assert out.split() == ["config"]


def test_zsh_completion_completes_subcommands() -> None:
    out = _run({"_WFM_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "wfm config "})
    for sub in ("init", "validate", "show", "regions"):
        assert f'"{sub}"' in out
