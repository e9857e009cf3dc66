"""Office statistics from ticket records: waits, service times and outcomes, per group.

Each ticket counts once, by how it ended: served, no-show, cancelled or expired (or still
open). A ticket that came back after a no-show also counts as reinstated, whatever its end.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from loket.config import Office
from loket.errors import LoketError
from loket.model import CANCELLED, DONE, EXPIRED, NO_SHOW, Ticket
from loket.safe_text import for_rich

BAR_WIDTH = 40
HEADERS = (
    "Issued",
    "Served",
    "No-show",
    "Back",
    "Left",
    "Wait",
    "Median",
    "p90",
    "Service",
    "On time",
)
CSV_FIELDS = (
    "group",
    "key",
    "issued",
    "served",
    "no_shows",
    "reinstated",
    "cancelled",
    "expired",
    "mean_wait_minutes",
    "median_wait_minutes",
    "p90_wait_minutes",
    "mean_service_minutes",
    "within_target_percent",
)


@dataclass(frozen=True)
class Figures:
    """One group's counts and minutes (p90 = nearest-rank); None where nothing was measured."""

    issued: int
    served: int
    no_shows: int
    reinstated: int
    """Tickets that came back into the line after a no-show (they may end served or not)."""
    cancelled: int
    expired: int
    mean_wait_minutes: float | None
    median_wait_minutes: float | None
    p90_wait_minutes: float | None
    mean_service_minutes: float | None
    share_within_target: float | None


@dataclass(frozen=True)
class Report:
    """Figures for the whole office, per service, per counter and per local hour of arrival."""

    overall: Figures
    per_service: dict[str, Figures]
    per_counter: dict[str, Figures]
    per_hour: dict[int, Figures]
    arrivals_per_hour: dict[int, int]


def compute(tickets: list[Ticket], office: Office) -> Report:
    """Statistics of `tickets` (e.g. `Engine.tickets_between`) for `office`."""
    target = office.target_wait_minutes
    by_service = _group(tickets, lambda t: t.service, list(office.services))
    # A counter is credited only with the visitors it actually saw through to an outcome.
    ended = [t for t in tickets if t.status in (DONE, NO_SHOW) and t.counter is not None]
    by_counter = _group(ended, lambda t: t.counter, list(office.counters))
    by_hour = _group(tickets, lambda t: t.arrived_at.astimezone(office.timezone).hour, range(24))
    return Report(
        overall=figures(tickets, target),
        per_service={key: figures(group, target) for key, group in by_service.items()},
        per_counter={key: figures(group, target) for key, group in by_counter.items()},
        per_hour={key: figures(group, target) for key, group in by_hour.items()},
        arrivals_per_hour={hour: len(group) for hour, group in by_hour.items()},
    )


def per_day(tickets: list[Ticket], office: Office) -> dict[date, Figures]:
    """Figures per service day, in date order."""
    days = _group(tickets, lambda t: date.fromisoformat(t.service_day), [])
    return {day: figures(group, office.target_wait_minutes) for day, group in days.items()}


def per_weekday_hour(tickets: list[Ticket], office: Office) -> dict[tuple[int, int], Figures]:
    """Figures per (weekday, local hour of arrival); Monday is 0."""

    def weekday_hour(ticket: Ticket) -> tuple[int, int]:
        local = ticket.arrived_at.astimezone(office.timezone)
        return local.weekday(), local.hour

    cells = _group(tickets, weekday_hour, [])
    return {cell: figures(group, office.target_wait_minutes) for cell, group in cells.items()}


def figures(tickets: list[Ticket], target_wait_minutes: int) -> Figures:
    """The figures of one group of tickets."""
    waits = sorted(_minutes(t.first_called_at - t.arrived_at) for t in tickets if t.first_called_at)
    # A visit runs from its (first) call to done: a recall does not restart it, and a
    # reinstated ticket's earlier, missed call is not part of it.
    services = [
        _minutes(t.finished_at - t.called_at)
        for t in tickets
        if t.status == DONE and t.called_at and t.finished_at
    ]
    return Figures(
        issued=len(tickets),
        served=_count(tickets, DONE),
        no_shows=_count(tickets, NO_SHOW),
        reinstated=sum(t.reinstated > 0 for t in tickets),
        cancelled=_count(tickets, CANCELLED),
        expired=_count(tickets, EXPIRED),
        mean_wait_minutes=statistics.fmean(waits) if waits else None,
        median_wait_minutes=statistics.median(waits) if waits else None,
        p90_wait_minutes=percentile(waits, 90),
        mean_service_minutes=statistics.fmean(services) if services else None,
        share_within_target=(
            sum(w <= target_wait_minutes for w in waits) / len(waits) if waits else None
        ),
    )


ALL_OFFICES = "All offices"


def across_offices(offices: dict[str, tuple[list[Ticket], Office]]) -> dict[str, Figures]:
    """Each office's overall figures, then all of them together (`loket stats --office all`).

    Together, each wait counts as on time by its own office's target.
    """
    rows = {name: figures(t, office.target_wait_minutes) for name, (t, office) in offices.items()}
    everyone = [ticket for tickets, _ in offices.values() for ticket in tickets]
    called = {
        name: sum(1 for t in tickets if t.first_called_at) for name, (tickets, _) in offices.items()
    }
    on_time = sum((rows[name].share_within_target or 0) * called[name] for name in rows)
    total = figures(everyone, 0)
    share = on_time / sum(called.values()) if sum(called.values()) else None
    rows[ALL_OFFICES] = replace(total, share_within_target=share)
    return rows


def render_offices(rows: dict[str, Figures], console) -> None:
    """The figures of several offices as one table, one line per office."""
    lines = [(for_rich(name), _cells(fig)) for name, fig in rows.items()]
    label_width = _label_width("Office", lines)
    if console.width >= _figures_width(lines) + label_width + 1:
        _print_table(console, "Per office", "Office", label_width, lines)
    else:
        _print_stacked(console, "Per office", lines)
    console.print("On time = called within each office's own target.")


def row(fig: Figures) -> dict:
    """One group's figures as JSON-ready data."""
    return _row(fig)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of values <= it; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def to_dict(report: Report) -> dict:
    """The report as JSON-ready data, numbers rounded to 1 decimal, share as a percentage."""
    return {
        "overall": _row(report.overall),
        "services": [{"service": k, **_row(f)} for k, f in report.per_service.items()],
        "counters": [{"counter": k, **_row(f)} for k, f in report.per_counter.items()],
        "hours": [{"hour": k, **_row(f)} for k, f in report.per_hour.items()],
    }


def write_csv(report: Report, path: str | Path) -> None:
    """Write one row per group; header: group,key,issued,served,no_shows,reinstated,cancelled,expired,
    mean_wait_minutes,median_wait_minutes,p90_wait_minutes,mean_service_minutes,within_target_percent.

    `group` is overall, service, counter or hour; `key` is empty, the service code, the counter
    id or the local hour (0-23). Missing figures are empty cells. A file that cannot be
    written raises LoketError naming it.
    """
    try:
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for group, key, fig in _groups(report):
                row = {k: "" if v is None else v for k, v in _row(fig).items()}
                writer.writerow({"group": group, "key": key, **row})
    except OSError as error:
        raise LoketError(f"cannot write {path}: {error.strerror or error}") from None


def render(report: Report, office: Office, console) -> None:
    """Print the report as Rich tables and a bar chart of arrivals per local hour.

    Where the ten figures leave too little room for the names of services and counters,
    each group is printed as its name on a line of its own with its figures below.
    """
    language = office.languages[0]
    sections = [
        ("Overall", "", {"": report.overall}, lambda key: ""),
        (
            "Per service",
            "Service",
            report.per_service,
            lambda key: (
                f"{key} {for_rich(office.services[key].name(language))}"
                if key in office.services
                else for_rich(key)
            ),
        ),
        (
            "Per counter",
            "Counter",
            report.per_counter,
            lambda key: for_rich(office.counters[key].name if key in office.counters else key),
        ),
        ("Per hour", "Hour", report.per_hour, lambda key: f"{key:02d}:00"),
    ]
    for title, label, groups, name in sections:
        if not groups:
            continue
        rows = [(name(key), _cells(fig)) for key, fig in groups.items()]
        label_width = _label_width(label, rows)
        if console.width >= _figures_width(rows) + label_width + 1:
            _print_table(console, title, label, label_width, rows)
        else:
            _print_stacked(console, title, rows)
    console.print(
        "Back = came back after a no-show (also counted by how it ended); left = cancelled "
        "or expired. Waits and service times in minutes; p90 is the nearest-rank 90th "
        f"percentile; on time = called within {office.target_wait_minutes} minutes."
    )
    if report.arrivals_per_hour:
        console.print("Arrivals per hour")
        width = max(min(BAR_WIDTH, console.width - 10), 1)  # "09 " before, " 1000" after
        for line in bar_chart(report.arrivals_per_hour, width):
            console.print(line, highlight=False, markup=False)


def _cells(fig: Figures) -> list[str]:
    """The text table's cells, in HEADERS order: cancelled and expired share one column."""
    row = _row(fig)
    row["cancelled"] += row.pop("expired")
    cells = ["-" if v is None else str(v) for v in row.values()]
    cells[-1] = "-" if row["within_target_percent"] is None else f"{cells[-1]}%"
    return cells


def _label_width(label: str, rows: list[tuple[str, list[str]]]) -> int:
    """The name column's width: names may wrap between words, never inside one."""
    if not label:
        return -1  # no column, and no space before the figures
    words = [word for name, _ in rows for word in name.split()]
    return max(len(label), 10, *map(len, words))


def _figures_width(rows: list[tuple[str, list[str]]]) -> int:
    """Columns the ten figures take side by side, one space apart."""
    widths = [
        max(len(header), *(len(cells[i]) for _, cells in rows)) for i, header in enumerate(HEADERS)
    ]
    return sum(widths) + len(widths) - 1


def _print_table(
    console, title: str, label: str, label_width: int, rows: list[tuple[str, list[str]]]
) -> None:
    from rich import box
    from rich.table import Table

    # One space between columns: Rich's default padding would squeeze the names out of sight.
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0))
    if label:
        table.add_column(label, min_width=label_width, overflow="fold")
    for column in HEADERS:
        table.add_column(column, justify="right", no_wrap=True)
    for name, cells in rows:
        table.add_row(*([name] if label else []), *cells)
    console.print(table)


def _print_stacked(console, title: str, rows: list[tuple[str, list[str]]]) -> None:
    """Each group's name, then its figures as "Issued 3" pairs, as many to a line as fit."""
    from rich.text import Text

    console.print(Text(title, style="bold"))
    for name, cells in rows:
        if name:
            console.print(name, style="bold", overflow="fold")
        pairs = [f"{header} {cell}" for header, cell in zip(HEADERS, cells, strict=True)]
        for line in _pack(pairs, console.width - 2):
            console.print("  " + line, highlight=False, markup=False, overflow="fold")


def _pack(words: list[str], width: int) -> list[str]:
    """`words` joined two spaces apart into lines of at most `width` (a longer word stands alone)."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 2 + len(word) <= width:
            lines[-1] += "  " + word
        else:
            lines.append(word)
    return lines


def bar_chart(counts: dict[int, int], width: int = BAR_WIDTH) -> list[str]:
    """Lines like '09 ████████ 12', the longest bar `width` characters."""
    top = max(counts.values(), default=0)
    return [
        f"{hour:02d} {'█' * max(round(count / top * width), 1)} {count}"
        for hour, count in sorted(counts.items())
        if count
    ]


def _group(tickets: Iterable[Ticket], key: Callable, order: Iterable) -> dict:
    groups: dict = {}
    for ticket in tickets:
        groups.setdefault(key(ticket), []).append(ticket)
    known = [k for k in order if k in groups]
    return {k: groups[k] for k in known + sorted(set(groups) - set(known), key=str)}


def _groups(report: Report) -> list[tuple[str, str, Figures]]:
    return [
        ("overall", "", report.overall),
        *(("service", k, f) for k, f in report.per_service.items()),
        *(("counter", k, f) for k, f in report.per_counter.items()),
        *(("hour", str(k), f) for k, f in report.per_hour.items()),
    ]


def _row(fig: Figures) -> dict:
    share = fig.share_within_target
    return {
        "issued": fig.issued,
        "served": fig.served,
        "no_shows": fig.no_shows,
        "reinstated": fig.reinstated,
        "cancelled": fig.cancelled,
        "expired": fig.expired,
        "mean_wait_minutes": _round(fig.mean_wait_minutes),
        "median_wait_minutes": _round(fig.median_wait_minutes),
        "p90_wait_minutes": _round(fig.p90_wait_minutes),
        "mean_service_minutes": _round(fig.mean_service_minutes),
        "within_target_percent": None if share is None else _round(share * 100),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _count(tickets: list[Ticket], status: str) -> int:
    return sum(t.status == status for t in tickets)


def _minutes(delta) -> float:
    """A duration in minutes; never negative, as a clock stepped back can make it."""
    return max(0.0, delta.total_seconds() / 60)
