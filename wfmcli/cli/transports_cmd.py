"""`wfm upload URL FILE...` and `wfm transports test|list`: deliver files without a config file."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.errors import ExitCode, UsageError
from wfmcli.secrets import redact

if TYPE_CHECKING:
    from wfmcli.transports.base import ProbeStep
    from wfmcli.transports.deliver import DeliveryReport

app = typer.Typer(help="Check and list file transports (file, ftp, ftps, sftp, s3, webdav).")

PasswordEnv = Annotated[
    str | None,
    typer.Option("--password-env", metavar="VAR", help="Read the password from this variable."),
]
PasswordFile = Annotated[
    Path | None, typer.Option("--password-file", help="Read the password from this file.")
]
OptionPairs = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        "-o",
        metavar="KEY=VALUE",
        help="A transport option, e.g. -o known_hosts=~/.ssh/known_hosts (repeatable).",
    ),
]


def upload(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to: sftp://user@host/folder, s3://bucket/…")],
    files: Annotated[list[Path], typer.Argument(help="Files to send (keep their names).")],
    password_env: PasswordEnv = None,
    password_file: PasswordFile = None,
    option: OptionPairs = None,
    json_output: JsonFlag = False,
) -> None:
    """Send files to a URL: temp name + rename, size check, retries; one result per file."""
    from wfmcli.transports.deliver import upload_files

    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise UsageError(f"not a readable file: {', '.join(missing)}")
    options = _options(url, password_env, password_file, option)
    report = upload_files(url, options, files)
    _render_upload(report, json_output or global_options(ctx).json)
    if report.failed:
        code = ExitCode.PARTIAL if report.sent else _code(report)
        sys.stderr.write(
            f"wfm: error: {report.failed} of {len(report.files)} files were not delivered "
            f"to {report.url}{_first_reason(report)}\n"
        )
        raise typer.Exit(int(code))


def _first_reason(report: DeliveryReport) -> str:
    """Why the first file failed (permission, space, name...), so the one line says it."""
    error = report.first_error
    return f": {redact(error.one_line())}" if error is not None else ""


@app.command("test")
def test(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The destination URL to check.")],
    password_env: PasswordEnv = None,
    password_file: PasswordFile = None,
    option: OptionPairs = None,
    json_output: JsonFlag = False,
) -> None:
    """Connect, write a probe file, rename it, delete it, and report each step."""
    from wfmcli.transports.deliver import probe

    shown, steps = probe(url, _options(url, password_env, password_file, option))
    as_json = json_output or global_options(ctx).json
    failed = next((step for step in steps if step.ok is False), None)
    _render_probe(shown, steps, as_json, ok=failed is None)
    if failed is not None:
        sys.stderr.write(f"wfm: error: {failed.name} failed: {failed.detail}\n")
        raise typer.Exit(failed.exit_code or int(ExitCode.REMOTE))


@app.command("list")
def list_schemes(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Show the URL schemes this installation can deliver to, plug-ins included."""
    from wfmcli.cli.output import print_json, print_table
    from wfmcli.errors import WfmError
    from wfmcli.transports.registry import schemes, transport_class

    rows: list[dict[str, Any]] = []
    for scheme in schemes():
        try:
            cls = transport_class(scheme)
        except WfmError as exc:
            note = exc.one_line()
            rows.append({"scheme": scheme, "available": False, "options": [], "note": note})
            continue
        rows.append(
            {"scheme": scheme, "available": True, "options": sorted(cls.option_names), "note": ""}
        )
    if json_output or global_options(ctx).json:
        print_json("transports list", rows)
        return
    print_table(
        None,
        ["Scheme", "Options", "Note"],
        ([row["scheme"], ", ".join(row["options"]), row["note"]] for row in rows),
    )


def _options(
    url: str, password_env: str | None, password_file: Path | None, pairs: list[str] | None
) -> dict[str, Any]:
    from wfmcli.secrets import register_secret
    from wfmcli.transports.url import parse_url

    parsed = parse_url(url)
    if parsed.password is not None:
        raise UsageError(
            "keep the password out of the URL",
            hint="use --password-env VAR, --password-file FILE, or type it when asked",
        )
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option {pair!r} is not KEY=VALUE")
        options[key.strip()] = value
    password = _password(parsed.username, password_env, password_file, options)
    if password is not None:
        register_secret(password)
        options["password"] = password
    return options


def _password(
    user: str | None, env: str | None, file: Path | None, options: dict[str, Any]
) -> str | None:
    if env and file:
        raise UsageError("give --password-env or --password-file, not both")
    if env:
        if env not in os.environ:
            raise UsageError(f"environment variable {env} is not set")
        return os.environ[env]
    if file:
        try:
            return file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read --password-file {file}: {exc.strerror}") from exc
    wants_password = user and "password" not in options and "key_file" not in options
    if wants_password and sys.stdin.isatty():
        return str(typer.prompt(f"Password for {user}", hide_input=True))
    return None


def _code(report: DeliveryReport) -> ExitCode:
    error = report.first_error
    return error.exit_code if error is not None else ExitCode.REMOTE


def _render_upload(report: DeliveryReport, as_json: bool) -> None:
    from wfmcli.cli.output import print_json, print_table

    if as_json:
        data = {
            "url": report.url,
            "sent": report.sent,
            "failed": report.failed,
            "files": report.files,
        }
        print_json("upload", data, ok=report.failed == 0)
        return
    rows = (
        [
            Path(r.local_path).name,
            r.remote_path,
            "sent" if r.sent else f"FAILED: {r.error}",
            r.bytes,
            f"{r.seconds:.2f}",
            _rate(r.bytes, r.seconds),
            r.attempts,
        ]
        for r in report.files
    )
    print_table(
        f"Upload to {report.url}",
        ["File", "Remote path", "Result", "Bytes", "Seconds", "MB/s", "Attempts"],
        rows,
    )


def _render_probe(shown: str, steps: list[ProbeStep], as_json: bool, *, ok: bool) -> None:
    from wfmcli.cli.output import print_json, print_table

    if as_json:
        print_json("transports test", {"url": shown, "steps": steps}, ok=ok)
        return
    labels = {True: "pass", False: "FAIL", None: "-"}
    rows = ([step.name, labels[step.ok], f"{step.seconds:.3f}", step.detail] for step in steps)
    print_table(f"Transport test: {shown}", ["Step", "Result", "Seconds", "Detail"], rows)


def _rate(size: int, seconds: float) -> str:
    return f"{size / seconds / 1e6:.1f}" if seconds > 0 and size else "-"
