"""Lines of text in loket's block glyphs at any scale, for the waiting-room display."""

from __future__ import annotations

from textual.widgets import Static

from display import layout


class BigText(Static):
    """Draws a few lines in block glyphs, each line centred; redrawn only when they change."""

    def __init__(self, **kwargs):
        super().__init__("", markup=False, **kwargs)
        self.lines: tuple[str, ...] = ()
        self.scale = 1
        self.height_each: int | None = None  # rows per line when stretched taller

    @property
    def text(self) -> str:
        """The lines drawn, as plain text ("A012 > LOKET 3"), one per line."""
        return "\n".join(self.lines)

    def show(self, lines: tuple[str, ...], scale: int = 1, height: int | None = None) -> None:
        """Draw these lines at `scale` (each `height` rows high), a blank glyph row between them."""
        if (lines, scale, height) == (self.lines, self.scale, self.height_each):
            return
        self.lines, self.scale, self.height_each = lines, scale, height
        drawn = [layout.draw(line, scale, height) for line in lines]
        width = max((len(row) for block in drawn for row in block), default=0)
        rows: list[str] = []
        for block in drawn:
            if rows:
                rows += [""] * scale
            rows += [row.center(width) for row in block]
        self.update("\n".join(rows))
