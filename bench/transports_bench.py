"""Throughput of every transport on loopback: 100 files of 1 MiB, then one file of 200 MiB.

Run: .venv/bin/python -m bench.transports_bench [--small 100] [--large-mib 200] [--only sftp,s3]
The servers are the same real ones the tests use (pyftpdlib, asyncssh, moto, wsgidav), started
on 127.0.0.1 without the fault proxy. Figures are client-to-disk on one machine: they show the
overhead of each protocol stack, not what a WAN link will give.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.transports.conftest import KINDS, Farm, make_endpoint
from tests.transports.servers import FaultProxy
from wfmcli.transports import open_transport

MIB = 1024 * 1024


def _bypass_proxies() -> None:
    """Benchmark the servers themselves: point each endpoint past its fault proxy."""
    original = FaultProxy.__init__

    def direct(self: FaultProxy, target_port: int) -> None:
        original(self, target_port)
        self.port = target_port

    FaultProxy.__init__ = direct  # type: ignore[method-assign]


def make_files(folder: Path, small: int, large_mib: int) -> tuple[list[Path], Path]:
    smalls = []
    for number in range(small):
        path = folder / f"small-{number:03d}.csv"
        path.write_bytes(os.urandom(MIB))
        smalls.append(path)
    large = folder / "large.bin"
    with large.open("wb") as out:
        for _ in range(large_mib):
            out.write(os.urandom(MIB))
    return smalls, large


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(kinds: list[str], small: int, large_mib: int) -> list[tuple[str, float, float, float]]:
    _bypass_proxies()
    rows = []
    with tempfile.TemporaryDirectory(prefix="wfm-bench-") as scratch:
        root = Path(scratch)
        smalls, large = make_files(root, small, large_mib)
        farm = Farm(root / "servers")
        try:
            for kind in kinds:
                endpoint = make_endpoint(farm, kind)
                options = endpoint.opts(timeout=120)
                with open_transport(endpoint.url, options) as transport:
                    transport.put(smalls[0], "warmup.csv")
                    small_seconds = timed(
                        lambda t=transport: [t.put(path, path.name) for path in smalls]
                    )
                    large_seconds = timed(lambda t=transport: t.put(large, large.name))
                rows.append(
                    (kind, small / small_seconds, small * MIB / small_seconds / 1e6,
                     large_mib * MIB / large_seconds / 1e6)
                )
                print(f"  {kind}: done", flush=True)
        finally:
            farm.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100, help="number of 1 MiB files")
    parser.add_argument("--large-mib", type=int, default=200, help="size of the large file")
    parser.add_argument("--only", default=",".join(KINDS), help="comma-separated kinds")
    args = parser.parse_args()
    rows = run(args.only.split(","), args.small, args.large_mib)
    print(f"\n{'transport':<15}{'1 MiB files/s':>15}{'1 MiB MB/s':>13}"
          f"{f'{args.large_mib} MiB MB/s':>15}")
    for kind, files_per_second, small_rate, large_rate in rows:
        print(f"{kind:<15}{files_per_second:>15.1f}{small_rate:>13.1f}{large_rate:>15.1f}")


if __name__ == "__main__":
    main()
