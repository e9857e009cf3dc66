"""A ticket number in block glyphs, large enough to read from across a room."""

from textual.widgets import Static

from loket import glyphs


class BigNumber(Static):
    """Shows text such as "A012" in loket's block glyphs (every letter, not only A-F)."""

    DEFAULT_CSS = """
    BigNumber {
        width: auto;
        height: auto;
        color: $primary;
        text-style: bold;
    }
    """

    def __init__(self, text: str = "", **kwargs):
        super().__init__(self._draw(text), **kwargs)
        self.text = text

    def show(self, text: str) -> None:
        """Draw another number."""
        self.text = text
        self.update(self._draw(text))

    @staticmethod
    def _draw(text: str) -> str:
        return "\n".join(glyphs.render(text)) if text else ""
