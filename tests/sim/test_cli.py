"""`wfm sim serve` prints one JSON line with what a client needs, serves, stops on SIGTERM."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest


@pytest.mark.timeout(60)
def test_sim_serve_json_line_and_clean_stop() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfmcli",
            "sim",
            "serve",
            "--json",
            "--agents",
            "20",
            "--queues",
            "2",
            "--days",
            "0",
            "--seed",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["base_url"].startswith("http://127.0.0.1:")
        with httpx.Client(base_url=info["base_url"], timeout=10) as client:
            token = client.post(
                "/oauth/token",
                auth=(info["client_id"], info["client_secret"]),
                data={"grant_type": "client_credentials"},
            )
            users = client.get(
                "/api/v2/users", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
            )
        assert users.json()["total"] == 20
        assert info["licensed_role"] == "Contact Center Agent"
    finally:
        process.terminate()
        code = process.wait(timeout=20)
    assert code == 0


@pytest.mark.timeout(60)
def test_sim_serve_on_a_busy_port_is_a_usage_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "wfmcli",
                "sim",
                "serve",
                "--agents",
                "5",
                "--queues",
                "1",
                "--days",
                "0",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert result.stdout == ""
