"""wfm config: write, check and show the configuration."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import ExitCode
from wfmcli.paths import default_config_path

app = typer.Typer(help="Write, check and show the configuration.", no_args_is_help=True)

Force = Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")]


@app.command()
def init(ctx: typer.Context, force: Force = False, json_flag: JsonFlag = False) -> None:
    """Write a commented example configuration that validates as it is."""
    from wfmcli.config.manage import write_example

    options = global_options(ctx)
    result = write_example(options.config_path or default_config_path(), force=force)
    if options.json or json_flag:
        print_json("config init", result)
        return
    sys.stdout.write(
        f"wrote {result.config_path}\n"
        f"wrote {result.secret_path} (put your OAuth client secret in it; it is chmod 600)\n"
        f"next: edit the file, then run: wfm config validate\n"
    )


@app.command()
def validate(ctx: typer.Context, json_flag: JsonFlag = False) -> None:
    """Check the configuration and list every problem with its file, line and key."""
    from wfmcli.ops.validate import validate as validate_file

    options = global_options(ctx)
    report = validate_file(options.config_path or default_config_path())
    if options.json or json_flag:
        print_json("config validate", report, ok=report.ok)
    elif report.ok:
        sys.stdout.write(
            f"{report.path}: valid ({report.scopes} scope(s), {report.destinations} "
            f"destination(s), {report.credential_sets} credential set(s))\n"
        )
    else:
        for problem in report.problems:
            sys.stderr.write(f"wfm: error: {problem}\n")
    if not report.ok:
        raise typer.Exit(ExitCode.CONFIG)


@app.command()
def show(ctx: typer.Context, json_flag: JsonFlag = False) -> None:
    """Show the resolved configuration with every secret masked."""
    import yaml

    from wfmcli.config import load_config
    from wfmcli.config.manage import masked

    options = global_options(ctx)
    data = masked(load_config(options.config_path))
    if options.json or json_flag:
        print_json("config show", data)
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@app.command()
def regions(ctx: typer.Context, json_flag: JsonFlag = False) -> None:
    """List the Genesys Cloud regions a source may name."""
    from wfmcli.genesys.regions import REGIONS

    if global_options(ctx).json or json_flag:
        rows = [
            {"key": r.key, "domain": r.domain, "api_url": r.api_url, "label": r.label}
            for r in REGIONS
        ]
        print_json("config regions", rows)
        return
    print_table(
        "Genesys Cloud regions",
        ["key", "domain", "API host", "location"],
        [(r.key, r.domain, r.api_url.removeprefix("https://"), r.label) for r in REGIONS],
    )
