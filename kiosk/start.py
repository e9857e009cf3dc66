"""The start screen: a big button per service, languages, and the way to check in."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Static

from kiosk.base import KioskScreen, TouchButton, touch_button
from loket import texts
from loket.errors import StorageError


class StartScreen(KioskScreen):
    """What a visitor sees on arrival; every button also answers a key (1, 2, 3 ...)."""

    priority: reactive[bool] = reactive(False)
    """The visitor asked for a priority ticket: the next service tap issues one."""

    def compose(self) -> ComposeResult:
        app = self.app
        services = self.walk_in_services()
        self.office_open = any(s.open_now for s in services)
        with Horizontal(id="top"):
            # The name is the config's text: `markup=False` shows "[b]" as typed, never as bold.
            yield Static(app.office.name, id="office", markup=False)
            # For staff, in the office's own language whatever the visitor chose.
            mark = Static(texts.text(app.office.languages[0], "printer_fault"), id="printer-fault")
            mark.display = app.printer_fault
            yield mark
            yield Static(self.clock_text(), id="clock")  # never blank, also after a recompose
        with Horizontal(id="languages"):
            for language in app.office.languages:
                button = touch_button(
                    texts.text(language, "language_name"), id=f"language-{language}"
                )
                button.set_class(language == app.language, "chosen")
                yield button
        if self.office_open:
            yield Static(app.t("choose_service"), id="choose")
            with Grid(id="services"):
                for key, status in enumerate(services, start=1):
                    button = touch_button(
                        self.label(key, status), f"service-{status.code}", "service"
                    )
                    button.set_class(not self.available(status), "unavailable")
                    yield button
        else:
            with Vertical(id="closed"):
                yield Static(app.t("office_closed"), id="office-closed")
                opening = min((s.opens_at for s in services if s.opens_at), default=None)
                if opening is not None:
                    yield Static(app.t("office_opens", when=app.when(opening)), id="office-opens")
        with Vertical(id="bottom"):
            if self.offers_priority():
                yield touch_button(self.priority_label(), id="priority")
            yield touch_button(app.t("have_appointment"), id="appointment")
            yield Static(app.t("scan_hint"), id="scan-hint")

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1, self.tick)

    def on_screen_resume(self) -> None:
        if bool(self.query("#priority")) != self.offers_priority():  # staff switched it
            self.refresh(recompose=True)
            return
        # Our own tickets do not move PRAGMA data_version for our own connection.
        self.refresh_services()

    def tick(self) -> None:
        """The clock; and the whole screen anew when the office opens or closes."""
        if self.app.screen is not self:  # e.g. under "one moment", while there may be no database
            return
        now = self.app.engine.local(self.app.clock())
        for clock in self.query("#clock").results(Static):  # none while taken down
            clock.update(self.clock_text())
        if now.second == 0 and any(s.open_now for s in self.walk_in_services()) != self.office_open:
            self.refresh(recompose=True)

    def show_printer_fault(self, fault: bool) -> None:
        """Show or clear the staff's mark that the last ticket did not print."""
        self.query("#printer-fault").set(display=fault)

    def offers_priority(self) -> bool:
        """Whether the priority button is there: staff switched it on and the office is open."""
        return bool(self.app.priority_tickets) and self.office_open

    def clock_text(self) -> str:
        return f"{self.app.engine.local(self.app.clock()):%H:%M}"

    def walk_in_services(self):
        try:
            services = self.app.engine.services()
        except StorageError as error:  # a lost connection: 'one moment', which reconnects
            self.app.unavailable(error)
            return []
        return [s for s in services if s.walk_in]

    @staticmethod
    def available(status) -> bool:
        return status.open_now and not status.limit_reached and not status.full_today

    def label(self, key: int, status) -> str:
        app = self.app
        name = app.office.services[status.code].name(app.language)
        if not status.open_now:
            state = (
                app.t("closed_until", when=app.when(status.opens_at))
                if status.opens_at
                else app.t("closed")
            )
        elif status.limit_reached:
            state = app.t("limit_reached")
        elif status.full_today:
            state = (
                app.t("full_today_until", when=app.when(status.opens_at))
                if status.opens_at
                else app.t("full_today")
            )
        elif status.estimated_wait_minutes is None:
            state = app.t("wait_unknown")
        elif status.estimated_wait_minutes == 0:
            state = app.t("wait_none")
        else:
            state = app.t("wait_minutes", minutes=status.estimated_wait_minutes)
        return f"{key}  {name}\n{state}"

    def priority_label(self) -> str:
        app = self.app
        mark = "■" if self.priority else "□"
        return f"{mark} {app.t('priority_button')}\n{app.t('priority_explained')}"

    def refresh_services(self) -> None:
        """New estimates after any change in the queue (from any kiosk or counter)."""
        services = self.walk_in_services()
        if any(s.open_now for s in services) != self.office_open:
            self.refresh(recompose=True)
            return
        if not self.office_open:
            return
        for key, status in enumerate(services, start=1):
            # No button while the screen is built or taken down: the app's timer ticks anyway.
            for button in self.query(f"#service-{status.code}").results(TouchButton):
                button.update(self.label(key, status))
                button.set_class(not self.available(status), "unavailable")

    def watch_priority(self) -> None:
        if self.is_mounted and self.query("#priority"):
            button = self.query_one("#priority", TouchButton)
            button.update(self.priority_label())
            button.set_class(self.priority, "chosen")

    def mark_key(self, key: int | None) -> None:
        """Show that a number key was seen while it waits to count as a button (None: clear)."""
        for number, button in enumerate(self.query(".service").results(TouchButton), start=1):
            button.set_class(number == key, "pressed")
        if key is not None:
            self.app.guidance.service_chosen(key)

    def choose_by_key(self, key: int) -> bool:
        """A number key from a button box; False if no service has that number."""
        services = self.walk_in_services()
        if not 1 <= key <= len(services):
            return False
        self.take(services[key - 1].code)
        return True

    def take(self, code: str) -> None:
        # Only while offered: staff may have switched priority tickets off since the tap.
        priority, self.priority = self.priority and self.offers_priority(), False
        self.app.take_ticket(code, priority=priority)

    def on_touch_button_pressed(self, event: TouchButton.Pressed) -> None:
        button_id = event.button.id or ""
        if button_id.startswith("service-"):
            self.take(button_id.removeprefix("service-"))
        elif button_id.startswith("language-"):
            self.app.language = button_id.removeprefix("language-")
        elif button_id == "priority":
            self.priority = not self.priority
        elif button_id == "appointment":
            self.app.show_appointment()
