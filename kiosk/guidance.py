"""Spoken guidance: what the kiosk says on each screen, and the keys of a visitor who cannot see it.

Off until the visitor presses the speech key; then every screen is said as it appears, and
speech stays on until the visit ends. Any key or touch stops the sentence being said at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import events

from kiosk.appointment import AppointmentScreen
from kiosk.notice import NoticeScreen, UnavailableScreen
from kiosk.staff import StaffScreen
from kiosk.start import StartScreen
from kiosk.ticket import TicketScreen
from loket import texts
from loket.announce import NUMBER
from loket.model import APPOINTMENT, Receipt
from loket.printing import wait_line
from loket.speech import Voice

REPEAT_KEY = "9"
LOUDER_KEY = "+"
SOFTER_KEY = "-"
LANGUAGE_KEY = "*"
PRIORITY_KEY = "/"
LISTEN_SECONDS = 5.0
"""After the voice falls silent, a visit still waits this long for the repeat key."""


def spelled(characters: str) -> str:
    """'A012' as 'A, 0, 1, 2': one character at a time, for a number to note."""
    return ", ".join(characters)


def spoken(text: str) -> str:
    """A text written for the screen, made fit to be read aloud ('Closed · opens' as a pause)."""
    sentence = text.replace(" · ", ", ").replace("\n", ". ").strip()
    return sentence if sentence.endswith((".", "!", "?")) else f"{sentence}."


def said_character(character: str, language: str) -> str:
    """One typed character as said: 'B as in Bravo' where letters sound alike, '-' as 'dash'."""
    if character == "-":
        return texts.text(language, "speech_dash")
    character = character.upper()
    word = texts.spelling(language).get(character)
    if word is None:
        return character
    return f"{character} {texts.text(language, 'speech_as_in')} {word}"


class Guidance:
    """The kiosk's voice for one visit: off until the speech key, then every screen said aloud."""

    def __init__(self, app, voice: Voice | None):
        self.app = app
        self.voice = voice
        self.on = False
        self.field = ""
        """What the reference field held when last said, to echo only what was typed since."""
        self.ticket_said: str | None = None
        """The number of the ticket last said, so a printer fault after it is added once."""

    # the visit

    def holds_visit(self) -> bool:
        """Whether a timer must not end the visit yet: speaking, or just done and awaiting a repeat."""
        if not self.on or self.voice is None:
            return False
        return self.voice.busy or time.monotonic() - self.voice.quiet_since < LISTEN_SECONDS

    def interrupt(self) -> None:
        """A key or a touch: the sentence being said stops now."""
        if self.on:
            self.voice.interrupt()

    def stop(self) -> None:
        """The visit is over: silence, and off until the next visitor presses the speech key."""
        if self.on:
            self.voice.interrupt()
            self.on = False

    def close(self) -> None:
        if self.voice is not None:
            self.voice.close()

    def say(self, *parts: str, repeatable: bool = True) -> None:
        """Say these sentences (already in the visitor's language) after what is being said.

        Only screens and outcomes are `repeatable`: the repeat key never repeats an echo of a
        key (a character, the volume, priority on or off) instead of what the visitor needs.
        """
        if self.on:
            sentence = " ".join(part for part in parts if part)
            self.voice.say(sentence, self.app.language, repeatable=repeatable)

    def say_now(self, *parts: str, repeatable: bool = True) -> None:
        """Say these sentences instead of whatever is being said."""
        if self.on:
            self.voice.interrupt()
            self.say(*parts, repeatable=repeatable)

    def echo(self, *parts: str) -> None:
        """Answer a key at once; not what the repeat key says again."""
        self.say_now(*parts, repeatable=False)

    # keys

    def action(self, event: events.Key) -> Callable[[], None] | None:
        """What this key does as a speech key, or None if it is not one now."""
        if self.voice is None or isinstance(self.app.screen, StaffScreen):
            return None
        if event.key == self.app.office.kiosk.speech_key:
            return self._toggle
        if not self.on:
            return None
        return {
            REPEAT_KEY: self.voice.repeat,
            LOUDER_KEY: self._louder,
            SOFTER_KEY: self._softer,
            LANGUAGE_KEY: self._next_language,
            PRIORITY_KEY: self._toggle_priority,
        }.get(event.character or "")

    def _toggle(self) -> None:
        if self.on:
            self.echo(self.app.t("speech_off"))
            self.on = False
        else:
            self.on = True
            self.screen_shown(self.app.screen)

    def _louder(self) -> None:
        self.say(
            self.app.t("speech_louder" if self.voice.louder() else "speech_loudest"),
            repeatable=False,
        )

    def _softer(self) -> None:
        self.say(
            self.app.t("speech_softer" if self.voice.softer() else "speech_softest"),
            repeatable=False,
        )

    def _next_language(self) -> None:
        """The kiosk's next language; said in its own voice (the start screen only)."""
        if not isinstance(self.app.screen, StartScreen):
            return
        languages = self.app.office.languages
        following = languages[(languages.index(self.app.language) + 1) % len(languages)]
        if following == self.app.language:
            self.screen_shown(self.app.screen)
        self.app.language = following  # the app then calls language_changed

    def language_changed(self) -> None:
        if self.on and isinstance(self.app.screen, StartScreen):
            self.say_now(self.app.t("language_name") + ".", self.start_screen(self.app.screen))

    def _toggle_priority(self) -> None:
        screen = self.app.screen
        if not isinstance(screen, StartScreen) or not screen.offers_priority():
            return
        screen.priority = not screen.priority
        self.say(
            self.app.t("speech_priority_on" if screen.priority else "speech_priority_off"),
            repeatable=False,
        )

    # what each screen says

    def screen_shown(self, screen) -> None:
        """A screen came up: say what it is for and what the visitor can do."""
        if not self.on or screen is not self.app.screen:
            return  # e.g. the start screen passed on the way to a ticket
        if isinstance(screen, StartScreen):
            self.say_now(self.start_screen(screen))
        elif isinstance(screen, AppointmentScreen):
            self.field = ""
            self.say_now(self.appointment_screen())
        elif isinstance(screen, TicketScreen):
            self.ticket_said = screen.receipt.ticket.number
            self.say_now(self.ticket(screen), self.repeat_hint())
        elif isinstance(screen, NoticeScreen):
            t = self.app.t
            self.say_now(spoken(screen.message), t("speech_try_again"), self.repeat_hint())
        elif isinstance(screen, UnavailableScreen):
            self.say_now(self.app.t("unavailable"))

    def start_screen(self, screen: StartScreen) -> str:
        t = self.app.t
        services = screen.walk_in_services()
        if any(s.open_now for s in services):
            parts = [t("speech_start"), *self.choices(services)]
            if screen.offers_priority():
                parts += [t("speech_priority"), t("speech_priority_key")]
        else:
            parts = [t("office_closed"), *self.opening(services)]
        parts += [t("speech_appointment"), t("speech_appointment_type"), t("speech_scan_how")]
        parts += [self.repeat_hint(), t("speech_keys"), self.stop_hint()]
        return " ".join(parts)

    def choices(self, services) -> list[str]:
        """'Press 1: Identity card and passport, about 5 minutes wait.' for each service."""
        return [
            f"{self.app.t('speech_press', number=key)} {self.service_name(status.code)}, "
            f"{self.service_state(status)}."
            for key, status in enumerate(services, start=1)
        ]

    def service_name(self, code: str) -> str:
        return self.app.office.services[code].name(self.app.language)

    def service_state(self, status) -> str:
        t = self.app.t
        if not status.open_now:
            if status.opens_at is None:
                return t("speech_closed")
            return t("speech_closed_until", when=self.app.when(status.opens_at))
        if status.limit_reached:
            return t("speech_limit_reached")
        if status.full_today:
            if status.opens_at is None:
                return t("speech_full_today")
            return t("speech_full_today_until", when=self.app.when(status.opens_at))
        if status.estimated_wait_minutes is None:
            return t("speech_wait_unknown")
        if status.estimated_wait_minutes == 0:
            return t("speech_no_wait")
        return t("speech_wait", count=status.estimated_wait_minutes)

    def opening(self, services) -> list[str]:
        opening = min((s.opens_at for s in services if s.opens_at), default=None)
        return [] if opening is None else [self.app.t("office_opens", when=self.app.when(opening))]

    def repeat_hint(self) -> str:
        return self.app.t("speech_repeat", button=REPEAT_KEY)

    def stop_hint(self) -> str:
        key = self.app.office.kiosk.speech_key.upper()
        return f"{self.app.t('speech_stop')} {key}."

    def service_chosen(self, key: int) -> None:
        """A lone number key on the start screen: name the service it will take."""
        screen = self.app.screen
        if not self.on or not isinstance(screen, StartScreen):
            return
        services = screen.walk_in_services()
        if 1 <= key <= len(services):
            self.echo(self.service_name(services[key - 1].code) + ".")

    def appointment_screen(self) -> str:
        t = self.app.t
        return " ".join(
            [
                t("appointment_title") + ".",
                t("speech_reference_how"),
                t("speech_scan_how"),
                t("speech_escape"),
            ]
        )

    def field_changed(self, typed: str) -> None:
        """Echo the character just typed in the reference field, or what is left after an erase."""
        before, self.field = self.field, typed
        if not self.on:
            return
        language = self.app.language
        if len(typed) == len(before) + 1 and typed.startswith(before):
            self.echo(said_character(typed[-1], language))
        elif len(typed) < len(before) and typed:
            characters = ", ".join(said_character(c, language) for c in typed)
            self.echo(self.app.t("speech_erased"), characters + ".")
        elif len(typed) < len(before):
            self.echo(self.app.t("speech_field_empty"))

    def nothing_typed(self) -> None:
        self.say_now(self.app.t("speech_type_first"))

    def ticket(self, screen: TicketScreen) -> str:
        """The ticket: the number twice, slowly the second time, then service, line and wait."""
        t = self.app.t
        receipt = screen.receipt
        number = receipt.ticket.number
        match = NUMBER.fullmatch(number)
        series, digits = (match.group(1), str(int(match.group(2)))) if match else ("", number)
        parts = [
            spoken(screen.message) if screen.message else "",
            t("speech_number", series=series, number=digits),
            spelled(number) + ".",
            self.service_name(receipt.ticket.service) + ".",
            t("priority_button") + "." if receipt.ticket.priority else "",
            self.ahead(receipt.position),
            self.wait(receipt),
            self.bring(receipt.ticket.service),
            self.printer_state(screen),
        ]
        return " ".join(part for part in parts if part)

    def bring(self, code: str) -> str:
        """What to bring, every item: the screen shows the first few, but who listens cannot read."""
        items = self.app.office.services[code].bring_in(self.app.language)
        return spoken(self.app.t("bring", items=", ".join(items))) if items else ""

    def printer_state(self, screen: TicketScreen) -> str:
        """Take the ticket, wait for the call, or (the printer failed) note the number."""
        if screen.print_failed:
            return f"{self.app.t('speech_note_number')} {spelled(screen.receipt.ticket.number)}."
        return self.app.t("speech_take_ticket" if screen.printing else "speech_listen")

    def ahead(self, position: int) -> str:
        if position <= 1:
            return self.app.t("speech_nobody_ahead")
        return self.app.t("speech_ahead", count=position - 1)

    def wait(self, receipt: Receipt) -> str:
        """The ticket's promise, as its wait line says it (a number of minutes said in words)."""
        minutes = receipt.estimated_wait_minutes
        if minutes is None:
            return self.app.t("speech_estimated_unknown")
        if minutes > 0 and receipt.ticket.kind != APPOINTMENT:
            return self.app.t("speech_estimated_wait", count=minutes)
        return spoken(wait_line(receipt, self.app.office, self.app.language))

    def printer_failed(self, screen: TicketScreen) -> None:
        """The printer let the visitor down after the ticket was said: add the number to note.

        Before that, the ticket itself says it (see `printer_state`).
        """
        if screen is self.app.screen and self.ticket_said == screen.receipt.ticket.number:
            self.say(self.printer_state(screen), repeatable=False)
            self.voice.remember(self.ticket(screen), self.app.language)  # 9: all of it again
