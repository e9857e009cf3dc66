"""The ticket screen: the number in big glyphs, place in line, wait, what to bring, and a QR code."""

from __future__ import annotations

from time import monotonic

from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Middle, Vertical
from textual.widgets import Static

from kiosk.base import KioskScreen
from loket import glyphs, qr
from loket.model import Receipt
from loket.printing import service_notes, ticket_lines

IGNORE_TAPS_SECONDS = 1.5
# The number grows with the screen up to half its height: the lines under it must still fit.
NUMBER_SHARE_OF_HEIGHT = 0.5
NOTES = ("bring", "online", "online-url")
"""What to bring and where to do it online (loket.printing.service_notes), under the ticket."""


class TicketNumber(Static):
    """The ticket's number in block glyphs, `scale` times the size of the 5-row font."""

    def __init__(self, **kwargs):
        super().__init__(markup=False, **kwargs)
        self.text = ""
        self.scale = 1

    def show(self, text: str, scale: int | None = None) -> None:
        """Draw this number (at this scale, else the last one)."""
        self.text, self.scale = text, scale or self.scale
        self.update("\n".join(glyphs.scaled(text, self.scale)) if text else "")


class TicketScreen(KioskScreen):
    """Shown the moment a ticket is issued; back to the start after a delay or a tap.

    One instance serves every ticket: it is built once and only its texts change,
    because building a screen's widgets anew costs more than the 50 ms a tap may take.
    """

    def __init__(self):
        super().__init__()
        self.receipt: Receipt | None = None
        self.message: str | None = None
        self.printing = False
        self.print_failed = False
        self.visitor_url: str | None = None
        self.shown_at = 0.0
        self.timer = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="ticket"):
            with Vertical(id="ticket-text"):
                # Plain text: the service name comes from the config and may hold brackets.
                yield Static(id="message", markup=False)
                yield Static(id="your-number", markup=False)
                with Center(id="number-row"):  # align centres a column's widest child only
                    yield TicketNumber(id="number")
                lines = ("service", "position", "wait", "issued", *NOTES, "print-state", "continue")
                for name in lines:
                    yield Static(id=name, markup=False)
            with Middle(id="qr-box"):
                yield Static(id="qr-caption", markup=False)
                yield Static(id="qr", markup=False)

    def show(
        self,
        receipt: Receipt,
        message: str | None = None,
        printing: bool = False,
        visitor_url: str | None = None,
    ) -> None:
        """Show this ticket (now, or as soon as the screen is built), with its phone page if any."""
        self.receipt, self.message, self.printing = receipt, message, printing
        self.visitor_url = visitor_url
        self.print_failed = False
        if self.is_mounted:
            self._fill()

    def on_mount(self) -> None:
        self._fill()

    def _fill(self) -> None:
        app = self.app
        ticket = self.receipt.ticket
        message = self.query_one("#message", Static)
        message.display = bool(self.message)
        message.update(self.message or "")
        self.query_one("#number", TicketNumber).show(ticket.number)
        # The same words the printer gets; the phone page's QR instead of the kiosk's own code,
        # which only a printed ticket needs (scanned back here: "I'm here").
        code = qr.as_text(self.visitor_url or self.receipt.code)
        lines = {
            **ticket_lines(self.receipt, app.office, app.language),
            **service_notes(app.office.services[ticket.service], app.language),
            "your-number": app.t("your_number"),
            "print-state": app.t(self._print_state()),
            "continue": app.t("touch_to_continue"),
            "qr-caption": app.t("follow_on_phone") if self.visitor_url else "",
            "qr": code,
        }
        for widget_id, text in lines.items():
            widget = self.query_one(f"#{widget_id}", Static)
            widget.update(text)
            widget.display = bool(text)
        self.query_one("#qr-caption").styles.width = len(code.partition("\n")[0])
        self.query_one("#print-state").set_class(self.print_failed, "warning")
        self.call_after_refresh(self._fit_number)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_number)

    def _fit_number(self) -> None:
        """The largest glyphs that leave every other line of the ticket on the screen."""
        number = self.query_one("#number", TicketNumber)
        column = self.query_one("#ticket-text")
        if not number.text or not column.content_size:
            return
        taken = sum(
            widget.outer_size.height + widget.styles.margin.top + widget.styles.margin.bottom
            for widget in column.children
            if widget is not number.parent and widget.display
        )
        rows = min(
            column.content_size.height - taken - number.parent.styles.margin.bottom,
            int(self.size.height * NUMBER_SHARE_OF_HEIGHT),
        )
        scale = max(
            1,
            min(
                rows // glyphs.GLYPH_HEIGHT, column.content_size.width // glyphs.width(number.text)
            ),
        )
        if scale != number.scale:
            number.show(number.text, scale)

    def _print_state(self) -> str:
        if self.print_failed:
            return "note_number"
        return "take_ticket" if self.printing else "watch_screen"

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._fit_number)  # the terminal may have changed size meanwhile
        self.shown_at = monotonic()
        self.timer = self.set_timer(
            self.app.office.kiosk.return_seconds, self.app.end_visit_when_quiet
        )

    def on_screen_suspend(self) -> None:
        if self.timer is not None:
            self.timer.stop()

    def printer_failed(self, number: str) -> None:
        """The printer could not print `number`: if it is still the one shown, ask to remember it."""
        if self.receipt is None or self.receipt.ticket.number != number:
            return  # the screen has moved on to another visitor's ticket
        self.print_failed = True  # also when the screen is not built yet: _fill reads it
        self.app.guidance.printer_failed(self)
        if self.is_mounted:
            self._fill()

    def on_click(self) -> None:
        # The second half of a double tap on a service must not hide the ticket at once.
        if monotonic() - self.shown_at > IGNORE_TAPS_SECONDS:
            self.app.end_visit()
