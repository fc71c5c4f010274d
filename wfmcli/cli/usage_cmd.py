"""wfm usage (named and concurrent licence usage) and wfm api-usage (the API request budget)."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table, stdout_console
from wfmcli.errors import UsageError

if TYPE_CHECKING:
    from wfmcli.config import Scope
    from wfmcli.ops.usage import UsageFigures

BAR_WIDTH = 40


def _last_month(zone_name: str) -> tuple[datetime, datetime]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    first = datetime.now(zone).date().replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return (datetime(previous.year, previous.month, 1, tzinfo=zone),
            datetime(first.year, first.month, 1, tzinfo=zone))  # fmt: skip


def _moment(value: str, zone_name: str) -> datetime:
    from zoneinfo import ZoneInfo

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"not a date or time: {value!r}", hint="e.g. 2026-10-01") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone_name))


def _figures(name: str, scope: Scope, start: datetime, end: datetime) -> UsageFigures:
    import asyncio
    from zoneinfo import ZoneInfo

    from wfmcli.genesys.auth import Credential
    from wfmcli.genesys.client import GenesysClient
    from wfmcli.genesys.counter import RequestCounter
    from wfmcli.ops.budget import record_usage
    from wfmcli.ops.timelines import licensed_user_ids, logged_in_spans
    from wfmcli.ops.usage import PEAK_MINIMUM, usage_figures

    source = scope.source
    creds = [Credential(c.client_id, c.client_secret.get_secret_value())
             for c in source.credentials]  # fmt: skip
    # A peak starting just before the end may be held past it: read 30 minutes more, if past.
    data_end = min(end + PEAK_MINIMUM, datetime.now(UTC))
    counter = RequestCounter()

    async def fetch() -> tuple[list[str], dict[str, list[tuple[int, int]]]]:
        async with GenesysClient(source.api_url, source.login_url, creds, proxy=source.proxy,
                                 counter=counter) as client:  # fmt: skip
            session = client.session(0)
            users = await licensed_user_ids(session, source.divisions, source.licensed_role)
            spans = await logged_in_spans(session, users, start, max(data_end, end))
            return users, spans

    try:
        users, spans = asyncio.run(fetch())
    finally:
        record_usage(name, counter)
    zone = start.tzinfo if isinstance(start.tzinfo, ZoneInfo) else ZoneInfo("UTC")
    return usage_figures(spans, start, end, zone, licensed_users=len(users),
                         data_end=max(data_end, end))  # fmt: skip


def _chart(figures: UsageFigures) -> None:
    peak = max((d.peak for d in figures.days), default=0) or 1
    console = stdout_console()
    console.print(f"concurrent peak per day (held >= 30 min), max {peak}")
    for day in figures.days:
        bar = "#" * round(day.peak / peak * BAR_WIDTH)
        console.print(f"{day.day.isoformat()} {day.peak:>6} {bar}", markup=False)


def usage(
    ctx: typer.Context,
    scope: Annotated[str, typer.Argument(help="The scope (one Genesys Cloud org).")],
    start: Annotated[
        str | None, typer.Option(help="First day or time (default: last month's first day).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="End, exclusive (default: this month's first day).")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Days are cut at this zone's midnights.")] = "UTC",
    csv_flag: Annotated[bool, typer.Option("--csv", help="Daily peaks as CSV on stdout.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Named and concurrent licence usage, per day.

    Named: distinct licensed users who logged in. Concurrent: the peak of licensed users logged
    in at once, ignoring peaks shorter than 30 minutes.
    """
    from wfmcli.config import load_config

    options = global_options(ctx)
    config = load_config(options.config_path)
    lo, hi = _last_month(timezone)
    first = _moment(start, timezone) if start else lo
    last = _moment(end, timezone) if end else hi
    if last <= first:
        raise UsageError("--end must be after --start")
    figures = _figures(scope, config.scope(scope), first, last)
    if options.json or json_flag:
        print_json("usage", figures)
    elif csv_flag:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["day", "concurrent_peak", "peak_from", "instantaneous_peak", "users"])
        for d in figures.days:
            out.writerow([d.day.isoformat(), d.peak, d.peak_from.isoformat() if d.peak_from
                          else "", d.instantaneous, d.users])  # fmt: skip
    else:
        print_table(f"scope {scope}: {first.isoformat()} to {last.isoformat()}",
                    ["figure", "value"], [
                        ("licensed users", figures.licensed_users),
                        ("named usage (logged in at least once)", figures.named_users),
                        ("concurrent usage (peak held >= 30 min)", figures.concurrent_peak),
                        ("peak from", figures.concurrent_peak_from or "-"),
                        ("instantaneous peak (any length)", figures.instantaneous_peak),
                    ])  # fmt: skip
        print_table("daily peaks", ["day", "peak >= 30 min", "from", "instantaneous", "users"],
                    [(d.day, d.peak, d.peak_from.strftime("%H:%M") if d.peak_from else "-",
                      d.instantaneous, d.users) for d in figures.days])  # fmt: skip
        _chart(figures)


def api_usage(
    ctx: typer.Context,
    scope: Annotated[str | None, typer.Argument(help="The scope (default: every scope).")] = None,
    licence: Annotated[
        str | None,
        typer.Option(
            help="Licence type: communicate, cx1, cx2, cx2_digital, cx3, cx3_digital, ex. "
            "Default: the source's licence in the configuration."
        ),
    ] = None,
    billing: Annotated[str, typer.Option(help="named or concurrent.")] = "named",
    users: Annotated[
        int | None,
        typer.Option(help="Billable users (default: licensed users wfm doctor last counted)."),
    ] = None,
    reconnects: Annotated[
        float, typer.Option(help="RTA socket reconnects per channel per day (model).")
    ] = 1.0,
    json_flag: JsonFlag = False,
) -> None:
    """API requests per day and month, the projection for this configuration, the allotment.

    Also requests per licensed user a month, against the licence's monthly allotment.
    """
    from wfmcli.config import load_config

    options = global_options(ctx)
    config = load_config(options.config_path)
    names = [scope] if scope else sorted(config.scopes)
    results = [
        _budget(
            n,
            config.scope(n),
            licence or config.scope(n).source.licence,
            billing if licence else config.scope(n).source.billing,
            users,
            reconnects,
        )
        for n in names
    ]
    if options.json or json_flag:
        print_json("api-usage", {"scopes": results})
        return
    for result in results:
        _render_budget(result)


def _budget(name: str, scope: Scope, licence: str | None, billing: str, users: int | None,
            reconnects: float) -> dict[str, object]:  # fmt: skip
    from wfmcli.jobs.build import renderer_for, timing_for
    from wfmcli.ops.budget import UsageStore, allotment_per_user
    from wfmcli.ops.projection import DAYS_PER_MONTH, OrgSizes, RelayPlan, RunSchedule, project

    log = UsageStore().load(name)
    sizes = OrgSizes.from_json(log.sizes) if log.sizes else None
    licensed = users if users is not None else (sizes.agents if sizes else None)
    months = log.month_totals()
    result: dict[str, object] = {
        "scope": name,
        "days": {day: log.day_total(day) for day in sorted(log.days)},
        "months": months,
        "per_user_month": {m: round(n / licensed, 2) for m, n in months.items()}
        if licensed
        else {},
        "billable_users": licensed,
    }
    if sizes is not None:
        destinations = sorted(scope.destinations.items())
        schedules = [
            RunSchedule(
                f"{name}/{d}",
                timing_for(dest),
                tuple(renderer_for(dest).reports()),
                dest.schedule,
                dest.lag,
            )
            for d, dest in destinations
            if dest.delivery
        ]
        relays = [RelayPlan(f"{name}/{d}", detailed=dest.rta.detailed,
                            reconnects_per_day=reconnects,
                            roster_refresh_s=dest.rta.roster_refresh.total_seconds(),
                            holders_check_s=dest.rta.roster_holders_check.total_seconds(),
                            full_read_s=dest.rta.roster_full_read.total_seconds(),
                            reads_divisions=bool(scope.source.divisions))
                  for d, dest in destinations if dest.rta][:1]  # fmt: skip
        projection = project(sizes, schedules, relays, datetime.now(UTC).date(), target=name)
        agents = max(sizes.agents, 1)
        result["projection"] = {
            "per_day": round(projection.per_day),
            "per_month": round(projection.per_month),
            "per_agent_month": round(projection.per_month / agents, 2),
            "by_feed_per_agent_month": {
                kind: round(projection.feed(kind) * DAYS_PER_MONTH / agents, 2)
                for kind in ("runs", "relay", "tokens")
            },
            "lines": projection.lines,
            "by_endpoint": projection.by_endpoint(),
            "sizes": sizes.to_json(),
        }
    if licence:
        per_user = allotment_per_user(licence, billing)
        result["allotment"] = {"licence": licence, "billing": billing, "per_user": per_user,
                               "month": per_user * licensed if licensed else None}  # fmt: skip
    return result


def _render_budget(result: dict[str, object]) -> None:
    name = result["scope"]
    days = result["days"]
    assert isinstance(days, dict)
    recent = sorted(days.items())[-31:]
    print_table(f"scope {name}: API requests per day (UTC)", ["day", "requests"], recent)
    months = result["months"]
    per_user = result["per_user_month"]
    assert isinstance(months, dict) and isinstance(per_user, dict)
    print_table("per month", ["month", "requests", "per billable user"],
                [(m, n, per_user.get(m, "?")) for m, n in months.items()])  # fmt: skip
    projection = result.get("projection")
    if isinstance(projection, dict):
        rows = [(line.target, line.item, round(line.per_day)) for line in projection["lines"]]
        rows.append(("total", f"{projection['per_month']:,} a month", projection["per_day"]))
        print_table("projection for the current configuration", ["for", "what", "per day"], rows)
        feeds = projection["by_feed_per_agent_month"]
        stdout_console().print(
            f"per licensed agent a month: {projection['per_agent_month']} (historical runs "
            f"{feeds['runs']}, RTA relay {feeds['relay']}, logins {feeds['tokens']})",
            markup=False,
        )
    else:
        stdout_console().print("no projection yet: run wfm doctor once to measure the org")
    allotment = result.get("allotment")
    if isinstance(allotment, dict):
        month = allotment["month"]
        shown = f"{month:,}" if isinstance(month, int) else "? (pass --users)"
        stdout_console().print(
            f"allotment: {allotment['per_user']:,} requests per {allotment['billing']} "
            f"{allotment['licence']} user a month; {shown} for the org",
            markup=False,
        )
