"""wfm profiles: the vendor profiles (built-in and the user's own), shown and checked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import ConfigError, ExitCode

app = typer.Typer(help="List, show and check WFM vendor profiles.", no_args_is_help=True)


@app.command("list")
def list_profiles(ctx: typer.Context, json_flag: JsonFlag = False) -> None:
    """List every profile: built-in ones and those in the user's profiles folder."""
    from wfmcli.reports.profiles import summaries, user_profile_dir

    found = summaries()
    if global_options(ctx).json or json_flag:
        print_json("profiles list", {"user_folder": str(user_profile_dir()), "profiles": found})
        return
    print_table(
        None,
        ["name", "product", "reports (layout: published, partial or template)", "from"],
        (
            (
                p.name,
                p.product,
                ", ".join(f"{name} ({p.publication[name]})" for name in p.reports),
                p.origin,
            )
            for p in found
        ),
    )
    sys.stdout.write(f"add or override profiles in {user_profile_dir()}\n")


@app.command()
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name, e.g. calabrio.")],
    json_flag: JsonFlag = False,
) -> None:
    """Show a profile as it loads (with 'extends' resolved)."""
    import yaml

    from wfmcli.reports.profiles import load_profile

    data = load_profile(name).model_dump(mode="json", exclude_none=True)
    if global_options(ctx).json or json_flag:
        print_json("profiles show", data)
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


@app.command()
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A profile YAML file.")],
    json_flag: JsonFlag = False,
) -> None:
    """Check a profile file and list every problem with its file, line and key."""
    from wfmcli.reports.profiles import load_profile_file

    as_json = global_options(ctx).json or json_flag
    try:
        profile = load_profile_file(file)
    except ConfigError as exc:
        if as_json:
            print_json("profiles validate", {"path": str(file), "problems": exc.problems}, ok=False)
        for problem in exc.problems:
            sys.stderr.write(f"wfm: error: {problem}\n")
        raise typer.Exit(ExitCode.CONFIG) from exc
    if as_json:
        print_json(
            "profiles validate",
            {"path": str(file), "name": profile.name, "reports": list(profile.reports)},
        )
    else:
        sys.stdout.write(
            f"{file}: valid profile {profile.name!r} ({len(profile.reports)} report(s))\n"
        )
