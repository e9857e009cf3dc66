"""The ticket screen: the number in big glyphs, place in line, wait, and the ticket's QR code."""

from __future__ import annotations

from time import monotonic

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from kiosk.base import KioskScreen
from loket import codes, qr, texts
from loket.model import Receipt
from tui.bignumber import BigNumber

IGNORE_TAPS_SECONDS = 1.5


class TicketScreen(KioskScreen):
    """Shown the moment a ticket is issued; back to the start after a delay or a tap."""

    def __init__(self, receipt: Receipt, message: str | None = None, printing: bool = False):
        super().__init__()
        self.receipt = receipt
        self.message = message
        self.printing = printing

    def compose(self) -> ComposeResult:
        app = self.app
        ticket = self.receipt.ticket
        local = app.engine.local(ticket.arrived_at)
        minutes = self.receipt.estimated_wait_minutes
        with Horizontal(id="ticket"):
            with Vertical(id="ticket-text"):
                if self.message:
                    yield Static(self.message, id="message")
                yield Static(app.t("your_number"), id="your-number")
                yield BigNumber(ticket.number, id="number")
                service = app.office.services[ticket.service].name(app.language)
                if ticket.priority:
                    service += f" · {app.t('priority_button')}"
                yield Static(service, id="service")
                yield Static(app.t("position", position=self.receipt.position), id="position")
                wait = (
                    app.t("wait_unknown")
                    if minutes is None
                    else app.t("estimated_wait", minutes=minutes)
                )
                yield Static(wait, id="wait")
                yield Static(
                    app.t(
                        "issued_on",
                        day=texts.day_text(app.language, local.date()),
                        time=f"{local:%H:%M}",
                    ),
                    id="issued",
                )
                yield Static(
                    app.t("take_ticket" if self.printing else "watch_screen"), id="print-state"
                )
                yield Static(app.t("touch_to_continue"), id="continue")
            yield Static(qr.as_text(codes.ticket_payload(ticket)), id="qr")

    def on_mount(self) -> None:
        self.shown_at = monotonic()
        self.set_timer(self.app.office.kiosk.return_seconds, self.app.back_to_start)

    def printer_failed(self) -> None:
        """The printer could not print it: the visitor must remember the number instead."""
        label = self.query_one("#print-state", Static)
        label.update(self.app.t("note_number"))
        label.add_class("warning")

    def on_click(self) -> None:
        # The second half of a double tap on a service must not hide the ticket at once.
        if monotonic() - self.shown_at > IGNORE_TAPS_SECONDS:
            self.app.back_to_start()
