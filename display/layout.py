"""How big the display can draw the latest and the earlier calls on a screen of a given size."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

from loket import glyphs

HALF = 0  # the smallest glyph size: half blocks, 3 rows high, for earlier calls
EARLIER_GUTTER = 10  # columns between earlier calls side by side, per unit of scale
# Rows besides the calls and the message (display.tcss): the top line, the latest call's
# border and heading, the earlier calls' heading and the blank line above it, the waiting line.
FIXED_ROWS = 7
PANEL_ROWS = 3  # the latest call's border and heading, around its glyphs
PANEL_COLUMNS = 6  # the latest call's margins, border and padding, beside its glyphs
EARLIER_COLUMNS = 2  # the earlier calls' margins


def rows(scale: int) -> int:
    """Rows one line of glyphs takes at `scale`."""
    return 3 if scale == HALF else glyphs.GLYPH_HEIGHT * scale


def columns(text: str, scale: int) -> int:
    """Columns `text` takes in glyphs at `scale`."""
    return glyphs.width(text) * max(scale, 1)


def draw(text: str, scale: int, height: int | None = None) -> list[str]:
    """The rows that draw `text` in glyphs at `scale`, stretched to `height` rows if given."""
    drawn = glyphs.halved(text) if scale == HALF else glyphs.scaled(text, scale)
    if height is None:
        return drawn
    return [drawn[row * len(drawn) // height] for row in range(height)]


def big_name(name: str) -> str | None:
    """A counter's name as the glyphs can draw it ("Loket 1" is "LOKET 1"); None if they cannot."""
    # Accents are dropped rather than giving up the big name: "Guichet É" reads as "GUICHET E".
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    plain = " ".join(plain.upper().split())
    return plain if plain and glyphs.can_render(plain) else None


def wrap(text: str, room: int) -> list[str] | None:
    """`text` in lines of at most `room` glyph columns, broken between words; None if it cannot."""
    lines: list[str] = []
    for word in text.split():
        if lines and glyphs.width(f"{lines[-1]} {word}") <= room:
            lines[-1] += f" {word}"
        elif glyphs.width(word) <= room:
            lines.append(word)
        else:
            return None
    return lines


@dataclass(frozen=True)
class Latest:
    """The latest call as drawn: the number's glyph line(s), the counter's, or its name as text."""

    number: str  # "A012", or "A012 > LOKET 3" when the call fits on one line
    number_scale: int
    counter: tuple[str, ...] = ()  # the counter's name in glyph lines, below the number
    counter_scale: int = 1
    small: str = ""  # the counter's name as text, when it has no big form that fits
    stretch: float = 1.0  # glyphs drawn taller than wide, on a screen narrow for its height

    @property
    def number_rows(self) -> int:
        return round(rows(self.number_scale) * self.stretch)

    @property
    def counter_rows(self) -> int:
        """Rows of each of the counter's glyph lines."""
        return round(rows(self.counter_scale) * self.stretch)

    @property
    def rows(self) -> int:
        """Rows the glyphs and the text take together (a blank glyph row between lines)."""
        counter = len(self.counter) * (self.counter_rows + self.counter_scale)
        return self.number_rows + counter + (1 if self.small else 0)

    @property
    def smaller_scale(self) -> int:
        return self.counter_scale if self.counter else self.number_scale


@lru_cache(maxsize=16)  # the display asks again on every change, mostly for the same call
def latest_on_screen(
    number: str, name: str, width: int, height: int, message_rows: int = 1
) -> Latest:
    """The latest call on a screen: at least half its height, a quarter of the rest left below."""
    spare = height - FIXED_ROWS - message_rows
    budget = spare - max(3, spare // 4)
    goal = -(-height // 2) - PANEL_ROWS
    return plan_latest(number, name, width - PANEL_COLUMNS, budget, goal)


def earlier_on_screen(
    calls: list[str], width: int, height: int, latest: Latest, message_rows: int = 1
) -> Earlier | None:
    """Earlier calls in the rows the latest left, in glyphs smaller than its smallest."""
    rows_left = height - FIXED_ROWS - message_rows - latest.rows
    return plan_earlier(calls, width - EARLIER_COLUMNS, rows_left, latest.smaller_scale - 1)


def plan_latest(number: str, name: str, room: int, height: int, goal: int) -> Latest:
    """The biggest drawing of the call within `room` columns and `height` rows.

    The counter's name in glyphs comes first, then the bigger glyphs (the name's, then the
    number's), then the taller drawing. One that falls short of `goal` rows is stretched.
    """
    options = [
        _stretched(option, goal, height)
        for option in _drawings(number, name, room, height)
        if option.rows <= height and columns(option.number, option.number_scale) <= room
    ]
    if not options:  # a screen too small for any: the number at its smallest, then the name
        return Latest(number, 1, small=f"→ {name}")
    return max(
        options,
        key=lambda o: (
            not o.small,
            o.smaller_scale,
            o.number_scale,
            o.rows,
            -len(o.counter),
        ),
    )


def _stretched(drawing: Latest, goal: int, height: int) -> Latest:
    """The drawing up to twice as tall where it falls short of `goal` rows and `height` allows."""
    # Only a screen narrow for its height needs it: there the width limits the glyphs.
    taller = drawing
    for tenths in range(11, 21):
        if taller.rows >= goal:
            break
        stretched = replace(drawing, stretch=tenths / 10)
        if stretched.rows > height:
            break
        taller = stretched
    return taller


def _drawings(number: str, name: str, room: int, height: int):
    """Drawings worth comparing: on one line; the name below, the number as big as fits; as text."""
    counter = big_name(name)
    widest_number = room // glyphs.width(number)
    for scale in range(1, height // glyphs.GLYPH_HEIGHT + 1):
        yield Latest(number, scale, small=f"→ {name}")
        if counter is None:
            continue
        yield Latest(f"{number} > {counter}", scale)
        lines = wrap(counter, room // scale)
        if lines:
            below = len(lines) * (rows(scale) + scale)
            number_scale = min(widest_number, (height - below) // glyphs.GLYPH_HEIGHT)
            yield Latest(number, max(scale, number_scale), tuple(lines), scale)


@dataclass(frozen=True)
class Earlier:
    """Earlier calls in glyphs: their size and how many stand side by side."""

    scale: int
    per_row: int


def plan_earlier(calls: list[str], width: int, height: int, largest: int) -> Earlier | None:
    """The biggest size up to `largest` at which all `calls` fit; None: list them as text."""
    if not calls or not all(glyphs.can_render(call) for call in calls):
        return None
    widest = max(glyphs.width(call) for call in calls)
    for scale in range(largest, HALF - 1, -1):
        gutter = gutter_columns(scale)
        per_row = (width + gutter) // (widest * max(scale, 1) + gutter)
        if per_row == 0:
            continue
        lines = -(-len(calls) // per_row)
        gap = max(scale, 1)  # a blank glyph row between rows of calls
        if lines * (rows(scale) + gap) - gap <= height:
            return Earlier(scale, min(per_row, len(calls)))
    return None


def gutter_columns(scale: int) -> int:
    """Columns between earlier calls side by side at `scale`."""
    # Twice the space between words, so that two calls side by side never read as one.
    return EARLIER_GUTTER * max(scale, 1)


def draw_earlier(calls: list[str], plan: Earlier) -> str:
    """The earlier calls side by side in glyphs, `plan.per_row` to a row."""
    widest = max(columns(call, plan.scale) for call in calls)
    gutter = " " * gutter_columns(plan.scale)
    blocks = []
    for start in range(0, len(calls), plan.per_row):
        drawn = [draw(call, plan.scale) for call in calls[start : start + plan.per_row]]
        block = zip(*drawn, strict=True)
        blocks.append(
            "\n".join(gutter.join(p.ljust(widest) for p in row).rstrip() for row in block)
        )
    return ("\n" * (max(plan.scale, 1) + 1)).join(blocks)
