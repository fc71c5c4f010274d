"""The `wfm` application: global options, command registration and the one top-level handler."""

from __future__ import annotations

import gc
import importlib
import json
import logging
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

from wfmcli import __version__
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


# Commands in the order an integration engineer meets them; one panel per kind of work.
DATA = "Historical feed"
SETUP = "Set-up and checks"
SERVICES = "Services"
COMMANDS: dict[str, tuple[str, str]] = {  # name: (module:attribute in wfmcli.cli, help panel)
    "pull": ("pull_cmd:pull_command", DATA),
    "report": ("report_cmd:report", DATA),
    "run": ("run_cmd:run", DATA),
    "backfill": ("run_cmd:backfill", DATA),
    "status": ("run_cmd:status", DATA),
    "reconcile": ("reconcile_cmd:reconcile", DATA),
    "upload": ("transports_cmd:upload", DATA),
    "config": ("config_cmd:app", SETUP),
    "map": ("map_cmd:app", SETUP),
    "auth": ("auth_cmd:app", SETUP),
    "profiles": ("profiles_cmd:app", SETUP),
    "transports": ("transports_cmd:app", SETUP),
    "schedule": ("schedule_cmd:app", SETUP),
    "doctor": ("doctor_cmd:doctor", SETUP),
    "usage": ("usage_cmd:usage", SETUP),
    "api-usage": ("usage_cmd:api_usage", SETUP),
    "demo": ("demo_cmd:demo", SERVICES),
    "sim": ("sim_cmd:app", SERVICES),
    "rta": ("rta_cmd:app", SERVICES),
}


class LazyCommands(MutableMapping[str, Any]):
    """The top-level commands, each built (its module imported, its options read from its
    signature) the first time it is looked up: `wfm rta serve` builds only `rta`, while help and
    completion, which list every command, build them all."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            target, panel = COMMANDS[name]
            module, attribute = target.split(":")
            found = getattr(importlib.import_module(f"wfmcli.cli.{module}"), attribute)
            self._built[name] = _command(name, found, panel)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*COMMANDS, *(name for name in self._built if name not in COMMANDS)])

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._built))


class LazyWfmGroup(WfmGroup):
    """`wfm` itself: the commands in `COMMANDS`, each built when it is first looked up."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.commands = LazyCommands()


def _command(name: str, found: Any, panel: str) -> Any:
    """What `app.command(name)` or `app.add_typer(found, name=name)` would have registered."""
    if isinstance(found, typer.Typer):
        return get_group_from_info(
            TyperInfo(found, name=name, rich_help_panel=panel),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
    return get_command_from_info(
        CommandInfo(name=name, callback=found, rich_help_panel=panel),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"wfm {__version__}\n")
        raise typer.Exit()


app = typer.Typer(
    cls=LazyWfmGroup,
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


def run() -> None:
    """Console-script entry point."""
    # Start-up (imports, the command tree) makes a few hundred thousand long-lived objects and
    # no cyclic garbage: collector passes over them are about 5 % of `wfm --help` and of
    # `rta serve`'s way to its first request. The callback turns it back on for the command.
    gc.disable()
    app(prog_name="wfm")
