"""The built wheel adds exactly one top-level import name, and its plug-in entry points load.

The repository keeps reports/, transports/, rta/ and profiles/ at the top; pyproject.toml installs
them as wfmcli.reports, wfmcli.transports, wfmcli.rta and wfmcli.profiles, so installing wfm can
never shadow (or be shadowed by) an unrelated distribution named `reports`, `rta` or `transports`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"reports": "wfmcli/reports", "transports": "wfmcli/transports", "rta": "wfmcli/rta",
          "profiles": "wfmcli/profiles"}
LIST_TOP_LEVEL = (
    "import json, pkgutil; print(json.dumps(sorted({m.name for m in pkgutil.iter_modules()})))"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy without the symlinks, as a Windows checkout would be, and so the build
    # leaves nothing in the working tree.
    source = tmp_path_factory.mktemp("source") / "wfm"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", "wfm-demo", ".*_cache"))
    for folder in MAPPED:
        (source / "wfmcli" / folder).unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("wfm-*.whl")
    return built


def _source_files() -> set[str]:
    """Every shipped file of the source tree, named as it must appear in the wheel."""
    expected: set[str] = set()
    for path in (ROOT / "wfmcli").rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        mapped = relative.split("/")[1] in MAPPED
        if path.is_file() and "__pycache__" not in relative and not mapped:
            expected.add(relative)
    for folder, target in MAPPED.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                expected.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    return expected


def _top_level_names(python: Path, cwd: Path) -> set[str]:
    return set(json.loads(subprocess.check_output([str(python), "-c", LIST_TOP_LEVEL], cwd=cwd)))


def test_wheel_holds_one_package_with_every_source_file(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"wfmcli"}
    assert _source_files() <= set(names), "pyproject.toml's package list misses a package"


def test_fresh_venv_gains_only_wfmcli_and_plugins_load(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    before = _top_level_names(python, tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    after = _top_level_names(python, tmp_path)
    assert after - before == {"wfmcli"}

    # The wheel alone has no dependencies; borrow this environment's, after the fresh site dir,
    # so every wfm module still comes from the installed wheel.
    fresh_site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip())
    (fresh_site / "zz_borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = (
        "import importlib.metadata as md, json\n"
        "from wfmcli.transports.base import Transport\n"
        "eps = md.entry_points(group='wfm.transports.v1')\n"
        "loaded = {ep.name: ep.load() for ep in eps}\n"
        "assert all(issubclass(cls, Transport) for cls in loaded.values())\n"
        "import wfmcli.profiles, wfmcli.reports.profiles as rp\n"
        "print(json.dumps({'schemes': sorted(loaded), 'file': wfmcli.profiles.__file__,\n"
        "                  'profiles': sorted(wfmcli.profiles.builtin_files())}))\n"
    )
    found = json.loads(subprocess.check_output([str(python), "-c", probe], text=True, cwd=tmp_path))
    assert found["schemes"] == ["file", "ftp", "ftps", "https", "s3", "sftp", "webdav", "webdavs"]
    assert Path(found["file"]).is_relative_to(env_dir)
    assert "calabrio" in found["profiles"]


def test_no_module_imports_a_mapped_folder_by_its_old_top_level_name() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "build" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from") and (
                words[1].split(".")[0] in MAPPED
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
