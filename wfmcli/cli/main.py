"""The `wfm` application: global options, command registration and the one top-level handler."""

from __future__ import annotations

import gc
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from wfmcli import __version__
from wfmcli.cli import (
    auth_cmd,
    config_cmd,
    demo_cmd,
    doctor_cmd,
    map_cmd,
    profiles_cmd,
    pull_cmd,
    reconcile_cmd,
    report_cmd,
    rta_cmd,
    run_cmd,
    schedule_cmd,
    sim_cmd,
    transports_cmd,
    usage_cmd,
)
from wfmcli.cli.context import GlobalOptions, global_options
from wfmcli.cli.output import RESULT_VERSION
from wfmcli.errors import ExitCode, WfmError
from wfmcli.secrets import redact

log = logging.getLogger("wfm.cli")


class WfmGroup(TyperGroup):
    """Turns every failure below it into one readable line and a documented exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        # `wfm status --json` wants the envelope as much as `wfm --json status`; the command's
        # own options are parsed inside, so look at its words before they are consumed
        words = [*ctx._protected_args, *ctx.args]
        wants_json = "--json" in words[: words.index("--")] if "--" in words else "--json" in words
        try:
            return super().invoke(ctx)
        except WfmError as exc:
            _fail(ctx, exc, exc.exit_code, exc.one_line(), type(exc).__name__, wants_json)
        except KeyboardInterrupt as exc:
            _fail(ctx, exc, ExitCode.INTERRUPTED, "interrupted", "Interrupted", wants_json)
        except (typer.Exit, typer.Abort, TyperException, BrokenPipeError):
            raise  # Typer renders its own usage errors, and exits quietly when a pipe closes
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            message = f"internal error: {detail} (rerun with --debug and report the traceback)"
            _fail(ctx, exc, ExitCode.INTERNAL, message, "InternalError", wants_json)


def _fail(
    ctx: typer.Context,
    exc: BaseException,
    code: ExitCode,
    line: str,
    kind: str,
    wants_json: bool = False,
) -> None:
    options = global_options(ctx)
    line = redact(line)
    if options.debug:
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    log.debug("exit %d after %s", code, kind, exc_info=exc)
    if options.json or wants_json:
        error = {"type": kind, "message": line, "exit_code": int(code)}
        envelope = {"wfm_result_version": RESULT_VERSION, "ok": False, "error": error}
        sys.stdout.write(json.dumps(envelope) + "\n")
    sys.stderr.write(f"wfm: error: {line}\n")
    raise typer.Exit(int(code)) from exc


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"wfm {__version__}\n")
        raise typer.Exit()


app = typer.Typer(
    cls=WfmGroup,
    name="wfm",
    help=(
        "Connect a Genesys Cloud contact center to its workforce-management system: "
        "NICE, Verint, Alvaria/Aspect and Calabrio."
    ),
    epilog="Exit codes: 0 ok, 1 internal, 2 usage, 3 config, 4 auth, 5 remote, "
    "6 partial delivery, 7 locked, 8 nothing to do, 130 interrupted.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="WFM_CONFIG",
            help="Configuration file. Default: config.yaml in the user's config folder.",
            show_envvar=True,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, show_default=False, help="More log output (-vv: debug)."
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help="Also log to this rotating file (for batch runs)."),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            help="Read environment variables from this file first (what 'wfm schedule' writes "
            "for a scheduler, which starts wfm without a login shell).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    from wfmcli.logs import setup_logging

    gc.enable()  # off while wfm started (run); commands run with it
    if env_file is not None:
        from wfmcli.envfile import apply_env_file

        apply_env_file(env_file)
    verbosity = 2 if debug else (-1 if quiet else verbose)
    ctx.obj = GlobalOptions(
        config_path=config, json=json_output, verbosity=verbosity, debug=debug, log_file=log_file
    )
    setup_logging(verbosity, log_file)


# Commands in the order an integration engineer meets them; one panel per kind of work.
DATA = "Historical feed"
SETUP = "Set-up and checks"
SERVICES = "Services"

app.command("pull", rich_help_panel=DATA)(pull_cmd.pull_command)
app.command("report", rich_help_panel=DATA)(report_cmd.report)
app.command("run", rich_help_panel=DATA)(run_cmd.run)
app.command("backfill", rich_help_panel=DATA)(run_cmd.backfill)
app.command("status", rich_help_panel=DATA)(run_cmd.status)
app.command("reconcile", rich_help_panel=DATA)(reconcile_cmd.reconcile)
app.command("upload", rich_help_panel=DATA)(transports_cmd.upload)
app.add_typer(config_cmd.app, name="config", rich_help_panel=SETUP)
app.add_typer(map_cmd.app, name="map", rich_help_panel=SETUP)
app.add_typer(auth_cmd.app, name="auth", rich_help_panel=SETUP)
app.add_typer(profiles_cmd.app, name="profiles", rich_help_panel=SETUP)
app.add_typer(transports_cmd.app, name="transports", rich_help_panel=SETUP)
app.add_typer(schedule_cmd.app, name="schedule", rich_help_panel=SETUP)
app.command("doctor", rich_help_panel=SETUP)(doctor_cmd.doctor)
app.command("usage", rich_help_panel=SETUP)(usage_cmd.usage)
app.command("api-usage", rich_help_panel=SETUP)(usage_cmd.api_usage)
app.command("demo", rich_help_panel=SERVICES)(demo_cmd.demo)
app.add_typer(sim_cmd.app, name="sim", rich_help_panel=SERVICES)
app.add_typer(rta_cmd.app, name="rta", rich_help_panel=SERVICES)


def run() -> None:
    """Console-script entry point."""
    # Start-up (imports, the command tree) makes a few hundred thousand long-lived objects and
    # no cyclic garbage: collector passes over them are about 5 % of `wfm --help` and of
    # `rta serve`'s way to its first request. The callback turns it back on for the command.
    gc.disable()
    app(prog_name="wfm")
