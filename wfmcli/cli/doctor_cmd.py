"""wfm doctor: check a deployment end to end, one pass/warn/fail line with a fix per check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, stdout_console

if TYPE_CHECKING:
    from wfmcli.ops.doctor import DoctorReport

_MARK = {"pass": "[green]PASS[/]", "warn": "[yellow]WARN[/]", "fail": "[red]FAIL[/]"}


def _render(report: DoctorReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console()
    table = Table(title=f"wfm doctor: scope {report.scope}", title_justify="left")
    for column in ("", "check", "result", "fix"):
        table.add_column(column)
    for check in report.checks:
        table.add_row(_MARK[check.status], check.name, escape(check.detail), escape(check.fix))
    console.print(table)
    for check in report.checks:
        if (check.items and check.status != "pass") or check.name == "network":
            columns = list(check.items[0]) if check.items else []
            detail = Table(title=check.name, title_justify="left")
            for column in columns:
                detail.add_column(column)
            for item in check.items:
                detail.add_row(*(escape(str(item[c])) for c in columns))
            console.print(detail)
    counts = report.counts()
    console.print(f"{counts['pass']} passed, {counts['warn']} warning(s), {counts['fail']} failed")


def doctor(
    ctx: typer.Context,
    scope: Annotated[
        str | None, typer.Argument(help="The scope to check (default: every scope).")
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Check a deployment: one pass/warn/fail line with a fix per check.

    Configuration, credentials, licensed users in queues and groups, destinations, RTA ports,
    notification capacity, clock, proxy and the firewall openings. Exit 1 on any FAIL.
    """
    from wfmcli.config import load_config
    from wfmcli.config.yamlfile import read_yaml
    from wfmcli.ops.doctor import diagnose
    from wfmcli.ops.doctor_config import config_checks
    from wfmcli.paths import default_config_path

    options = global_options(ctx)
    config = load_config(options.config_path)
    document = read_yaml(options.config_path or default_config_path())
    names = [scope] if scope else sorted(config.scopes)
    reports = [diagnose(name, config.scope(name), data_dir=config.state_root()) for name in names]
    for report in reports:
        report.checks += config_checks(config, report.scope, document)
    ok = all(r.ok for r in reports)
    if options.json or json_flag:
        print_json("doctor", {"scopes": reports}, ok=ok)
    else:
        for report in reports:
            _render(report)
    if not ok:
        raise typer.Exit(1)
