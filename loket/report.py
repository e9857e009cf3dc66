"""The manager's report: one self-contained HTML page of charts, drawn by matplotlib as SVG.

Only the commands that write a page (`loket report`, `loket simulate --html`) import this
module, so no other command loads matplotlib.
"""

from __future__ import annotations

import html
import io
import os
import tempfile
from datetime import date, timedelta
from typing import TYPE_CHECKING

import matplotlib
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from loket import stats, texts
from loket.config import Office
from loket.model import CANCELLED, Ticket
from loket.texts import day_text, text

if TYPE_CHECKING:
    from loket.simulate import Figure as SimulatedFigure
    from loket.simulate import Goal, Result

matplotlib.use("svg")  # no GUI backend, whatever imports pyplot later

# Text stays text in the SVG (searchable, sharp at any zoom) in the browser's own sans-serif.
STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
BAR_COLOUR = "#2b6cb0"
REAL_COLOUR = "#dd6b20"
EMPTY_COLOUR = "#eeeeee"
PAGE_CSS = """
body { font-family: sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem;
       color: #1a202c; }
h1 { margin-bottom: 0.2rem; }
.period { color: #4a5568; margin-top: 0; }
.figures { display: flex; flex-wrap: wrap; gap: 0.6rem 2rem; padding: 0; list-style: none;
           font-size: 1.15rem; }
.figures strong { font-size: 1.6rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 2rem; }
.charts figure { margin: 0; }
.charts .wide { grid-column: 1 / -1; }
figcaption { font-weight: bold; font-size: 1.1rem; margin-bottom: 0.4rem; }
figure svg { width: 100%; height: auto; }
.note { color: #4a5568; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 2rem 0 1rem; }
th, td { padding: 0.3rem 0.8rem; text-align: right; }
thead th { border-bottom: 1px solid #a0aec0; }
tbody tr:nth-child(odd) { background: #f7fafc; }
"""


def write_html(path: str, tickets: list[Ticket], office: Office, first: date, last: date) -> None:
    """Write the report's page to `path` whole or not at all."""
    write_page(path, render_page(tickets, office, first, last))


def write_page(path: str, page: str) -> None:
    """Write `page` to `path` whole or not at all (a temporary file renamed into place)."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".loket-report-", suffix=".html")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(page)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the page from a shared folder
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def render_page(tickets: list[Ticket], office: Office, first: date, last: date) -> str:
    """The whole HTML page: key figures, then one chart per question a manager asks."""
    language = office.languages[0]
    target = office.target_wait_minutes
    summary = stats.compute(tickets, office)
    cells = stats.per_weekday_hour(tickets, office)
    with matplotlib.rc_context(STYLE):
        charts = _charts(summary, cells, stats.per_day(tickets, office), office, first, last)
    title = f"{text(language, 'report_title')}: {office.name}"
    period = f"{_day(language, first)} – {_day(language, last)}"
    return page_html(
        language,
        title,
        [html.escape(period)],
        _key_figures(summary.overall, language, target),
        [(name, caption, svg, name in ("arrivals", "waits")) for name, caption, svg in charts],
        text(language, "report_explained"),
    )


def page_html(
    language: str,
    title: str,
    lines: list[str],
    figures: list[str],
    charts: list[tuple[str, str, str, bool]],
    note: str,
    more: str = "",
) -> str:
    """A whole self-contained page: title, lines under it (HTML), key figures (HTML), charts
    as (id, caption, SVG, wide), then `more` (HTML) and a note."""
    lines_html = "\n".join(f'<p class="period">{line}</p>' for line in lines)
    figures_html = "\n".join(f"<li>{item}</li>" for item in figures)
    charts_html = "\n".join(
        f'<figure id="{name}"{" class=wide" if wide else ""}>'
        f"<figcaption>{html.escape(caption)}</figcaption>\n{svg}</figure>"
        for name, caption, svg, wide in charts
    )
    return f"""<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{PAGE_CSS}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{lines_html}
<ul class="figures">
{figures_html}
</ul>
<div class="charts">
{charts_html}
</div>
{more}
<p class="note">{html.escape(note)}</p>
</body>
</html>
"""


def _charts(summary, cells, days, office: Office, first: date, last: date) -> list:
    """(id, caption, SVG or a note) for each chart, in the page's order."""
    language = office.languages[0]
    target = office.target_wait_minutes
    return [
        (
            "arrivals",
            text(language, "report_arrivals_title"),
            arrivals_heatmap(cells, first, last, language),
        ),
        ("waits", text(language, "report_waits_title"), waits_heatmap(cells, target, language)),
        (
            "on-time",
            text(language, "report_on_time_title", minutes=target),
            on_time_per_day(days, language),
        ),
        (
            "service-time",
            text(language, "report_service_time_title"),
            service_time_per_service(summary.per_service, office),
        ),
        (
            "no-shows",
            text(language, "report_no_shows_title"),
            no_shows_per_service(summary.per_service, office),
        ),
    ]


def _key_figures(overall: stats.Figures, language: str, target: int) -> list[str]:
    """Short sentences with the number in bold: issued, served, no-shows, wait, on time."""
    items = [
        _bold(text(language, key, count=count), str(count))
        for key, count in (
            ("report_issued", overall.issued),
            ("report_served", overall.served),
            ("report_no_shows", overall.no_shows),
        )
    ]
    if overall.mean_wait_minutes is not None:
        minutes = _decimal(overall.mean_wait_minutes, language)
        items.append(_bold(text(language, "report_mean_wait", minutes=minutes), minutes))
    if overall.share_within_target is not None:
        share = f"{overall.share_within_target:.0%}"
        items.append(
            f"<strong>{share}</strong> "
            + html.escape(text(language, "report_on_time", minutes=target))
        )
    return items


def _bold(sentence: str, number: str) -> str:
    return html.escape(sentence).replace(number, f"<strong>{number}</strong>", 1)


def arrivals_heatmap(cells: dict, first: date, last: date, language: str) -> str:
    """Mean arrivals per day in each weekday x hour cell of the week."""
    weekdays, hours = _week_axes(cells)
    days_of = _weekday_counts(first, last)
    values = [[cells[w, h].issued / days_of[w] if (w, h) in cells else 0 for h in hours]
              for w in weekdays]  # fmt: skip
    top = max(max(row) for row in values) or 1

    def label(value: float) -> str:
        return "" if not value else _decimal(value, language, 0 if value >= 10 else 1)

    return _heatmap(weekdays, hours, values, language, "Blues", dict(vmin=0, vmax=top), label)


def waits_heatmap(cells: dict, target: int, language: str) -> str:
    """Mean wait in minutes per weekday x hour of arrival: green within the target, red above."""
    weekdays, hours = _week_axes(cells)
    values = [
        [
            cells[w, h].mean_wait_minutes
            if (w, h) in cells and cells[w, h].mean_wait_minutes is not None
            else None
            for h in hours
        ]
        for w in weekdays
    ]
    top = max((v for row in values for v in row if v is not None), default=0)
    norm = TwoSlopeNorm(vmin=0, vcenter=target, vmax=max(top, target * 2))

    def label(value: float | None) -> str:
        return "" if value is None else f"{value:.0f}"

    return _heatmap(weekdays, hours, values, language, "RdYlGn_r", dict(norm=norm), label)


def on_time_per_day(days: dict[date, stats.Figures], language: str) -> str:
    """Share of visitors called within the target, one bar per day with calls."""
    measured = {
        d: f.share_within_target for d, f in days.items() if f.share_within_target is not None
    }
    if not measured:
        return _nothing(language)
    figure = Figure(figsize=(5.2, 3.2), layout="constrained")
    axes = figure.add_subplot()
    positions = range(len(measured))
    shares = [share * 100 for share in measured.values()]
    axes.bar(positions, shares, color=BAR_COLOUR)
    axes.set_ylim(0, 100)
    axes.yaxis.set_major_formatter("{x:.0f}%")
    step = max(len(measured) // 16, 1)  # about 16 day labels at most stay readable
    labels = [_short_day(language, d) for d in measured]
    axes.set_xticks(list(positions)[::step], labels[::step], rotation=90)
    return _svg(figure, "on-time")


def service_time_per_service(per_service: dict[str, stats.Figures], office: Office) -> str:
    """Mean service time (call to done) per service, in the office's order."""
    language = office.languages[0]
    minutes = {
        _service_name(office, code, language): f.mean_service_minutes
        for code, f in per_service.items()
        if f.mean_service_minutes is not None
    }
    if not minutes:
        return _nothing(language)
    labels = [f"{_decimal(m, language)} min" for m in minutes.values()]
    return _bars(minutes, labels, "service-time")


def no_shows_per_service(per_service: dict[str, stats.Figures], office: Office) -> str:
    """No-shows per service, with their share of the visitors called."""
    language = office.languages[0]
    called = {code: f for code, f in per_service.items() if f.served + f.no_shows}
    if not called:
        return _nothing(language)
    counts = {_service_name(office, code, language): f.no_shows for code, f in called.items()}
    labels = [f"{f.no_shows} ({f.no_shows / (f.served + f.no_shows):.0%})" for f in called.values()]
    return _bars(counts, labels, "no-shows")


def _bars(values: dict[str, float], labels: list[str], name: str) -> str:
    """Horizontal bars, first value on top, each with its label at the bar's end."""
    figure = Figure(figsize=(5.2, 0.5 * len(values) + 1.0), layout="constrained")
    axes = figure.add_subplot()
    names = list(values)[::-1]
    bars = axes.barh(names, [values[n] for n in names], color=BAR_COLOUR)
    axes.bar_label(bars, labels[::-1], padding=4)
    axes.set_xlim(0, (max(values.values()) or 1) * 1.25)  # room for the labels
    return _svg(figure, name)


def _heatmap(weekdays, hours, values, language, colours, scale, label) -> str:
    """A weekday x hour grid of coloured cells with their value written in each."""
    figure = Figure(figsize=(10, 0.5 * len(weekdays) + 1.1), layout="constrained")
    axes = figure.add_subplot()
    grid = [[float("nan") if v is None else v for v in row] for row in values]
    colour_map = matplotlib.colormaps[colours].with_extremes(bad=EMPTY_COLOUR)
    mesh = axes.pcolormesh(grid, cmap=colour_map, edgecolors="white", linewidth=1, **scale)
    for row, line in enumerate(values):
        for column, value in enumerate(line):
            shade = mesh.cmap(mesh.norm(value)) if value is not None else (1, 1, 1, 1)
            dark = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] < 0.5
            axes.text(column + 0.5, row + 0.5, label(value), ha="center", va="center",
                      fontsize=9, color="white" if dark else "black")  # fmt: skip
    axes.set_xticks([h + 0.5 for h in range(len(hours))], [f"{h:02d}" for h in hours])
    axes.set_yticks(
        [w + 0.5 for w in range(len(weekdays))], [_weekday(language, w) for w in weekdays]
    )
    axes.invert_yaxis()  # Monday on top, as in a diary
    axes.set_xlabel(text(language, "report_hour"))
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    figure.colorbar(mesh, ax=axes, pad=0.01, fraction=0.03)
    return _svg(figure, "heatmap-" + colours)


def _svg(figure: Figure, name: str) -> str:
    """The figure as an inline <svg> element, the same bytes every time for the same data."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": name}):
        figure.savefig(
            buffer, format="svg", metadata=dict.fromkeys(("Creator", "Date", "Format", "Type"))
        )
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # the XML declaration and DOCTYPE have no place in HTML


def _nothing(language: str) -> str:
    return f'<p class="note">{html.escape(text(language, "report_nothing"))}</p>'


def _week_axes(cells: dict) -> tuple[list[int], list[int]]:
    """The weekdays that had visitors, and every hour from the first to the last one used."""
    weekdays = sorted({w for w, _ in cells})
    used = [h for _, h in cells]
    return weekdays, list(range(min(used), max(used) + 1))


def _weekday_counts(first: date, last: date) -> dict[int, int]:
    """How many Mondays, Tuesdays ... the period holds."""
    counts = dict.fromkeys(range(7), 0)
    for offset in range((last - first).days + 1):
        counts[(first + timedelta(days=offset)).weekday()] += 1
    return counts


def _service_name(office: Office, code: str, language: str) -> str:
    service = office.services.get(code)
    name = f"{code} {service.name(language)}" if service else code
    return name.replace("$", r"\$")  # a pair of dollars would start matplotlib's maths


def _weekday(language: str, weekday: int) -> str:
    name = _catalogue_weekdays(language)[weekday]
    return name[:1].upper() + name[1:]


def _short_day(language: str, day: date) -> str:
    """E.g. "ma 7/12": two letters of the weekday, then day/month."""
    return f"{_catalogue_weekdays(language)[day.weekday()][:2]} {day.day}/{day.month}"


def _catalogue_weekdays(language: str) -> tuple[str, ...]:
    return getattr(texts, language).WEEKDAYS


def _day(language: str, day: date) -> str:
    return f"{day_text(language, day)} {day.year}"


def _decimal(value: float, language: str, places: int = 1) -> str:
    """A number as the language writes it: 8.5 in English, 8,5 in Dutch, French and German."""
    written = f"{value:.{places}f}"
    return written if language == "en" else written.replace(".", ",")


# the page of a simulation: its waits per hour next to those of the days it learned from


def write_simulation_html(
    path: str, result: Result, tickets: list[Ticket], office: Office, goal: Goal | None
) -> None:
    """Write the simulation's page to `path` whole or not at all."""
    write_page(path, render_simulation(result, tickets, office, goal))


def render_simulation(
    result: Result, tickets: list[Ticket], office: Office, goal: Goal | None
) -> str:
    """The simulated waits per hour of the plan tried beside the real ones of `tickets`.

    `tickets` are those of the days the simulation learned from; cancelled ones are left
    out, as the simulation leaves them out when it learns.
    """
    language = office.languages[0]
    kept = [t for t in tickets if t.status != CANCELLED]
    days = result.load.days
    real = stats.compute(kept, office).per_hour
    hours = sorted({h.hour for h in result.hours} | set(real))
    simulated = {h.hour: h for h in result.hours}
    with matplotlib.rc_context(STYLE):
        charts = [
            (
                f"simulated-{name}",
                text(language, f"simulation_{name}_title"),
                _waits_per_hour(hours, simulated, real, name, result.target_minutes, language),
                True,
            )
            for name in ("mean", "p90")
        ]
    counters = "simulation_every_service" if result.every_service else "simulation_own_services"
    lines = [
        html.escape(f"{text(language, 'simulation_plan')} {result.plan.text()}"),
        html.escape(text(language, counters)),
    ]
    if goal is not None:
        wanted = f"{goal.share:.0%} " + text(
            language, "report_on_time", minutes=f"{goal.minutes:g}"
        )
        lines.append(html.escape(f"{text(language, 'simulation_goal')} {wanted}"))
    learned = text(language, "simulation_learned", count=len(days))
    lines.append(html.escape(f"{learned} {_day(language, days[0])} – {_day(language, days[-1])}"))
    overall = stats.figures(kept, result.target_minutes)
    notes = (
        "simulation_explained_simulated",
        "simulation_explained_real",
        "simulation_explained_wait",
    )
    return page_html(
        language,
        f"{text(language, 'simulation_title')}: {office.name}",
        lines,
        _simulated_figures(result, overall, len(kept) / len(days), language),
        charts,
        " ".join(text(language, key) for key in notes),
        _hours_table(hours, simulated, real, len(days), language),
    )


def _simulated_figures(result: Result, real: stats.Figures, real_visitors: float, language: str):
    """The day's figures: simulated in bold with ± its interval, then the real one."""
    day = result.overall
    share = day.within_target
    on_time = "–" if share.mean is None else f"{share.mean:.0%}"
    spread = "" if share.half_width is None else f"±{share.half_width:.0%}".removesuffix("%")
    real_share = "–" if real.share_within_target is None else f"{real.share_within_target:.0%}"
    on_time_words = text(language, "report_on_time", minutes=f"{result.target_minutes:g}")
    rows = [
        (day.arrivals, "simulation_visitors", _decimal(real_visitors, language)),
        (day.mean_wait, "simulation_mean_wait", _number(real.mean_wait_minutes, language)),
        (day.p90_wait, "simulation_p90_wait", _number(real.p90_wait_minutes, language)),
    ]
    items = [_bold(text(language, "simulation_days", count=result.days), str(result.days))]
    for figure, key, real_text in rows:
        number, _, interval = _with_interval(figure, language).partition(" ")
        items.append(_figure_item(number, interval, text(language, key), real_text, language))
    items.append(_figure_item(on_time, spread, on_time_words, real_share, language))
    return items


def _figure_item(number: str, interval: str, words: str, real: str, language: str) -> str:
    """E.g. "<strong>35,0</strong> ±4,3 min gemiddelde wachttijd (werkelijk: 36,3)"."""
    after = f" {interval} {words}" if interval else f" {words}"
    actually = f" ({text(language, 'simulation_actually')} {real})"
    return f"<strong>{html.escape(number)}</strong>{html.escape(after + actually)}"


def _waits_per_hour(hours, simulated, real, name: str, target: float, language: str) -> str:
    """Bars per hour of arrival: the simulated wait with its interval, the real one beside it."""
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    axes = figure.add_subplot()
    figures = [_simulated_wait(simulated.get(h), name) for h in hours]
    means = [float("nan") if f is None or f.mean is None else f.mean for f in figures]
    spreads = [0 if f is None or f.half_width is None else f.half_width for f in figures]
    recorded = [_real_wait(real.get(h), name) for h in hours]
    positions = range(len(hours))
    axes.bar([x - 0.2 for x in positions], means, 0.4, yerr=spreads, capsize=3,
             color=BAR_COLOUR, label=_capital(text(language, "simulation_simulated")))  # fmt: skip
    axes.bar([x + 0.2 for x in positions], [float("nan") if v is None else v for v in recorded],
             0.4, color=REAL_COLOUR, label=_capital(text(language, "simulation_real")))  # fmt: skip
    if name == "p90":  # nine in ten called within the target: this line
        line = _capital(text(language, "report_on_time", minutes=f"{target:g}"))
        axes.axhline(target, color="#4a5568", linestyle="--", linewidth=1, label=line)
    axes.set_xticks(list(positions), [f"{h:02d}" for h in hours])
    axes.set_xlabel(text(language, "report_hour"))
    axes.set_ylabel("min")
    axes.legend(loc="best", frameon=False)
    return _svg(figure, f"simulated-{name}")


def _hours_table(hours, simulated, real, days: int, language: str) -> str:
    """Per hour: visitors a day, mean and p90 wait, each simulated and real."""
    head = "".join(
        f'<th colspan="2">{html.escape(text(language, key))}</th>'
        for key in ("simulation_visitors_head", "simulation_mean_head", "simulation_p90_head")
    )
    pair = "".join(
        f"<th>{html.escape(_capital(text(language, key)))}</th>"
        for key in ("simulation_simulated", "simulation_real") * 3
    )
    rows = []
    for hour in hours:
        mine, theirs = simulated.get(hour), real.get(hour)
        cells = [
            _with_interval(mine.arrivals, language) if mine else "–",
            _decimal(theirs.issued / days, language) if theirs else "–",
            _with_interval(mine.mean_wait, language) if mine else "–",
            _number(_real_wait(theirs, "mean"), language),
            _with_interval(mine.p90_wait, language) if mine else "–",
            _number(_real_wait(theirs, "p90"), language),
        ]
        row = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
        rows.append(f'<tr id="hour-{hour:02d}"><th>{hour:02d}:00</th>{row}</tr>')
    hour_head = html.escape(_capital(text(language, "report_hour")))
    body = "\n".join(rows)
    return (
        f'<table id="hours">\n<thead><tr><th rowspan="2">{hour_head}</th>{head}</tr>\n'
        f"<tr>{pair}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    )


def _simulated_wait(figures, name: str) -> SimulatedFigure | None:
    if figures is None:
        return None
    return figures.mean_wait if name == "mean" else figures.p90_wait


def _real_wait(figures: stats.Figures | None, name: str) -> float | None:
    if figures is None:
        return None
    return figures.mean_wait_minutes if name == "mean" else figures.p90_wait_minutes


def _with_interval(figure: SimulatedFigure, language: str) -> str:
    """E.g. "35,0 ±4,3"; "–" where nothing was measured."""
    if figure.mean is None:
        return "–"
    shown = _decimal(figure.mean, language)
    if figure.half_width is not None:
        shown += f" ±{_decimal(figure.half_width, language)}"
    return shown


def _number(value: float | None, language: str) -> str:
    return "–" if value is None else _decimal(value, language)


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]
