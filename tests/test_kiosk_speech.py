"""A visitor who cannot see the kiosk: every flow by keys alone, checked by what the kiosk says.

The kiosk speaks through `--speech file:DIR`, which writes each sentence to a numbered text
file (and its sound, rendered by espeak-ng, to a WAV beside it).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pytest

from kiosk import app as kiosk_app
from kiosk import guidance
from kiosk.app import BUTTON_BOX_SECONDS, KioskApp
from kiosk.appointment import AppointmentScreen
from kiosk.notice import NoticeScreen
from kiosk.start import StartScreen
from kiosk.ticket import TicketScreen
from loket.config import default_config_text
from loket.engine import Engine
from loket.speech import Recorder, Speaker, Voice
from tests.conftest import clerks_at
from tests.terminal import Tmux
from tests.test_kiosk import button_box, scan_at_full_speed, settle

SIZE = (100, 32)
UID_CONFIG = default_config_text() + "\n[appointments]\ncheck_in_by_uid = true\n"
PRIORITY_ON = default_config_text().replace("priority = false", "priority = true", 1)
"""The demo office with priority tickets offered from the start."""
LANGUAGE_PRESSES = {"nl": 0, "fr": 1, "en": 2, "de": 3}
"""How many times the language key (*) reaches each language from the office's first."""


@pytest.fixture
def said_folder(tmp_path):
    return tmp_path / "said"


class StartedRecorder(Recorder):
    """A Recorder that also keeps each utterance it started, to tell said in full from cut off."""

    def __init__(self, folder):
        super().__init__(folder)
        self.started = []

    def start(self, utterance, volume):
        playback = super().start(utterance, volume)
        self.started.append((utterance.text, playback))
        return playback


def said_in_full(app) -> list[str]:
    """What the voice started and was not stopped while saying."""
    return [text for text, playback in app.guidance.voice.sink.started if not playback.stopped]


@pytest.fixture
def make_kiosk(db_path, clock, said_folder):
    """A kiosk on the demo office that speaks into a folder; `config` replaces the office first."""

    def make(
        config: str | None = None, voice: Voice | None = None, printer: str = "none"
    ) -> KioskApp:
        with Engine(db_path, clock=clock) as engine:
            if config:
                engine.init(config)
            clerks_at(engine, *engine.office.counters)
        voice = voice or Voice(StartedRecorder(said_folder))
        return KioskApp(str(db_path), clock=clock, printer=printer, cursor_blink=False, voice=voice)

    return make


@pytest.fixture
def office(db_path, clock):
    with Engine(db_path, clock=clock) as engine:
        yield engine


def said(folder) -> list[str]:
    """Every sentence the kiosk said, in order."""
    return [path.read_text(encoding="utf-8").strip() for path in sorted(folder.glob("*.txt"))]


async def speech_on(pilot, language: str = "nl") -> None:
    """The visitor presses the speech key, then the language key until their language."""
    await pilot.press("0")
    await pilot.pause(BUTTON_BOX_SECONDS + 0.2)  # where booking numbers are typed, it waits
    for _ in range(LANGUAGE_PRESSES[language]):
        await pilot.press("asterisk")
    await settle(pilot)


async def type_keys(pilot, text: str) -> None:
    for character in text:
        await pilot.press(character)
        await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)


async def test_the_speech_key_says_the_start_screen_and_each_language_in_its_own_voice(
    make_kiosk, said_folder
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0")
        for _ in range(4):
            await pilot.press("asterisk")
        await settle(pilot)
        assert app.language == "nl"
    files = [path.name for path in sorted(said_folder.glob("*.txt"))]
    assert files == ["0001-nl.txt", "0002-fr.txt", "0003-en.txt", "0004-de.txt", "0005-nl.txt"]
    dutch, french, english, german, _ = said(said_folder)
    assert dutch == (
        "Welkom bij de ticketautomaat. Kies een dienst met de cijfertoetsen. "
        "Druk op 1: Identiteitskaart en paspoort, geen wachttijd. "
        "Druk op 2: Verhuizing en adres, geen wachttijd. "
        "Druk op 3: Burgerlijke stand, geen wachttijd. "
        "Hebt u een afspraak? Druk op Enter en typ uw referentie. "
        "Of houd de QR-code op uw brief voor de scanner. Druk op 9 om dit opnieuw te horen. "
        "Het sterretje kiest een andere taal; plus en min regelen het volume. "
        "Om de spraak te stoppen, druk op 0."
    )
    assert french.startswith(
        "Français. Bienvenue à la borne de tickets. Choisissez un service avec les touches "
        "numériques. Appuyez sur 1 : Carte d'identité et passeport, pas d'attente."
    )
    assert english.startswith("English. Welcome to the ticket machine.")
    assert "Press 2: Moving and address, no wait." in english
    assert german.startswith("Deutsch. Willkommen am Ticketautomaten.")
    assert german.endswith("Um die Sprachausgabe zu beenden, drücken Sie 0.")


TICKET_SENTENCES = {
    "nl": "Uw nummer is A 1. Nog eens, traag: A, 0, 0, 1. Identiteitskaart en paspoort. "
    "Er wacht niemand voor u. U wordt zo meteen afgeroepen. "
    "Breng mee: Uw identiteitskaart, Een recente pasfoto. "
    "Wacht tot uw nummer wordt afgeroepen. Druk op 9 om dit opnieuw te horen.",
    "fr": "Votre numéro est A 1. Encore une fois, lentement : A, 0, 0, 1. "
    "Carte d'identité et passeport. Personne n'attend avant vous. "
    "Vous serez appelé dans un instant. "
    "À apporter : Votre carte d'identité, Une photo d'identité récente. "
    "Attendez que votre numéro soit appelé. "
    "Appuyez sur 9 pour réécouter.",
    "en": "Your number is A 1. Once more, slowly: A, 0, 0, 1. ID card and passport. "
    "Nobody is waiting before you. You will be called in a moment. "
    "Bring: Your ID card, A recent passport photo. "
    "Wait until your number is called. Press 9 to hear this again.",
    "de": "Ihre Nummer ist A 1. Noch einmal langsam: A, 0, 0, 1. Personalausweis und Reisepass. "
    "Vor Ihnen wartet niemand. Sie werden gleich aufgerufen. "
    "Bitte mitbringen: Ihr Personalausweis, Ein aktuelles Passfoto. "
    "Warten Sie, bis Ihre Nummer aufgerufen wird. Drücken Sie 9, um dies noch einmal zu hören.",
}


async def test_the_chosen_service_is_said_in_full_before_the_ticket(make_kiosk, office):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot)
        await pilot.press("1")  # the screen takes it, then it comes back up to the app
        await pilot.pause(BUTTON_BOX_SECONDS / 2)
        assert app.guidance.voice.wait(5)
        assert said_in_full(app)[-1] == "Identiteitskaart en paspoort."
        await pilot.pause(BUTTON_BOX_SECONDS)
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)


@pytest.mark.parametrize("language", ["nl", "fr", "en", "de"])
async def test_a_walk_in_ticket_by_ear(make_kiosk, said_folder, office, language):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, language)
        before = len(said(said_folder))
        await button_box(pilot, "1")
        assert isinstance(app.screen, TicketScreen)
        await pilot.press("9")
        await settle(pilot)
    name = office.office.services["A"].name(language)
    assert said(said_folder)[before:] == [
        f"{name}.",
        TICKET_SENTENCES[language],
        TICKET_SENTENCES[language],
    ]


NOTE_A1 = "The printer is not working. Remember your number: A, 0, 0, 1."


async def test_a_printer_that_fails_at_once_is_said_in_the_ticket_never_take_your_ticket(
    make_kiosk, said_folder, tmp_path, monkeypatch
):
    app = make_kiosk(printer=f"file:{tmp_path}/printed")
    monkeypatch.setattr(
        app, "print_ticket", lambda receipt, screen, link=None: screen.printer_failed("A001")
    )
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        await button_box(pilot, "1")
    ticket = said(said_folder)[-1]
    assert ticket.endswith(f"passport photo. {NOTE_A1} Press 9 to hear this again.")
    assert "Take your ticket" not in ticket
    assert sum(NOTE_A1 in sentence for sentence in said(said_folder)) == 1


async def test_a_printer_that_fails_after_the_ticket_was_said_is_said_once_after_it(
    make_kiosk, said_folder, tmp_path, monkeypatch
):
    app = make_kiosk(printer=f"file:{tmp_path}/printed")
    monkeypatch.setattr(app, "print_ticket", lambda receipt, screen, link=None: None)
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        await button_box(pilot, "1")
        app.screen.printer_failed("A001")
        await settle(pilot)
        await pilot.press("9")
        await settle(pilot)
    *_, ticket, note, again = said(said_folder)
    assert ticket.endswith("Take your ticket from the printer. Press 9 to hear this again.")
    assert note == NOTE_A1
    assert again.startswith("Your number is A 1.") and again.endswith(NOTE_A1)


async def test_a_priority_ticket_by_ear(make_kiosk, said_folder, office):
    app = make_kiosk(PRIORITY_ON)
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        await pilot.press("slash", "slash", "slash")
        await button_box(pilot, "2")
    assert said(said_folder)[-5:] == [
        "Priority ticket chosen. Now choose your service.",
        "Priority ticket cancelled: you get a normal ticket.",
        "Priority ticket chosen. Now choose your service.",
        "Moving and address.",
        "Your number is B 1. Once more, slowly: B, 0, 0, 1. Moving and address. "
        "Priority ticket. Nobody is waiting before you. You will be called in a moment. "
        "Bring: Your ID card, The lease or deed of the new home. "
        "Wait until your number is called. Press 9 to hear this again.",
    ]
    assert [(t.number, t.priority) for t in office.store.all_tickets()] == [("B001", True)]


async def test_a_check_in_by_typed_reference_echoes_each_character(
    make_kiosk, said_folder, office, clock
):
    booking = office.add_appointment("B", clock.now + timedelta(minutes=10))
    reference = booking.reference
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        before = len(said(said_folder))
        await type_keys(pilot, reference.lower())
        assert isinstance(app.screen, TicketScreen)
    spoken = said(said_folder)
    assert spoken[before - 1] == (
        "Check in for your appointment. "
        "Type the eight characters of your reference, then press Enter. "
        "Or hold the QR code on your letter in front of the scanner. Escape takes you back."
    )
    assert spoken[before:-1] == [guidance.said_character(c, "en") for c in reference]
    assert spoken[-1].startswith(
        "Welcome. Your appointment is at 09:10. Your number is R 1. Once more, slowly: R, 0, 0, 1."
    )


async def test_priority_is_offered_by_ear_only_once_staff_switch_it_on(make_kiosk, said_folder):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot)
        await pilot.press("slash")  # not offered: the key does nothing
        await settle(pilot)
        assert not app.screen.priority
        await pilot.press("f12", "f12", "f12", *"2468", "enter")
        await settle(pilot)
        await pilot.press("1", "escape")  # staff: priority tickets on, back to the visitors
        await settle(pilot)
        assert isinstance(app.screen, StartScreen) and app.screen.query("#priority")
        await pilot.press("slash")
        await settle(pilot)
        assert app.screen.priority
    welcome, again = [s for s in said(said_folder) if s.startswith("Welkom")]
    offer = "Druk dan eerst op de schuine streep voor een voorrangsticket."
    assert offer not in welcome and offer in again
    assert said(said_folder)[-1] == "Voorrangsticket gekozen. Kies nu uw dienst."


async def test_a_service_full_for_today_is_said_with_when_to_come_back(
    make_kiosk, said_folder, office
):
    from loket.errors import Refused

    full = default_config_text().replace(
        "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "08:30-09:20", wed = "08:30-12:00" }'
    )
    app = make_kiosk(full)
    office.refresh_config()
    with pytest.raises(Refused):
        for _ in range(40):
            office.issue_ticket("C")
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        await button_box(pilot, "3")
        assert isinstance(app.screen, NoticeScreen)
    start = next(s for s in said(said_folder) if s.startswith("English."))
    assert "Press 3: Civil registry, full for today, come back tomorrow at 08:30." in start
    assert said(said_folder)[-1] == (
        "There is no time left today to help new visitors for this service. "
        "Please come back tomorrow at 08:30. Press Enter to try again. Press 9 to hear this again."
    )


def test_letters_that_sound_alike_are_said_with_a_word_in_each_language():
    assert [guidance.said_character(c, "en") for c in "b7dm-"] == [
        "B as in Bravo",
        "7",
        "D as in Delta",
        "M as in Mike",
        "dash",
    ]
    assert guidance.said_character("p", "nl") == "P van Pieter"
    assert guidance.said_character("g", "fr") == "G comme Gaston"
    assert guidance.said_character("W", "de") == "W wie Wilhelm"
    assert guidance.said_character("R", "de") == "R"  # nothing sounds like it


CLOSED_C = default_config_text().replace(
    "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "13:00-16:00" }'
)


@pytest.mark.parametrize(
    ("case", "sentence"),
    [
        (
            "closed",
            "Closed, opens today at 13:00. Press Enter to try again. Press 9 to hear this again.",
        ),
        ("limit", "No more tickets today. Press Enter to try again. Press 9 to hear this again."),
        (
            "not recognised",
            "We do not recognise this code. Please go to the reception desk. "
            "Press Enter to try again. Press 9 to hear this again.",
        ),
        (
            "too early",
            "You are early. You can check in from 09:15. Press Enter to try again. Press 9 to hear this again.",
        ),
    ],
)
async def test_every_refusal_is_said(make_kiosk, said_folder, office, clock, case, sentence):
    if case == "limit":
        for _ in range(40):
            office.issue_ticket("C")
    early = office.add_appointment("B", clock.now + timedelta(minutes=45))
    app = make_kiosk(CLOSED_C if case == "closed" else None)
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        if case in ("closed", "limit"):
            await button_box(pilot, "3")
        else:
            await pilot.press("enter")
            await type_keys(pilot, "ABCDEFGH" if case == "not recognised" else early.reference)
        assert isinstance(app.screen, NoticeScreen)
    assert said(said_folder)[-1] == sentence
    if case == "closed":
        start = next(s for s in said(said_folder) if s.startswith("English."))
        assert "Press 3: Civil registry, closed, opens today at 13:00." in start


@pytest.mark.parametrize("key", ["enter", "escape"])
async def test_after_a_refusal_enter_or_escape_goes_back_to_the_start_still_speaking(
    make_kiosk, said_folder, office, key
):
    for _ in range(40):
        office.issue_ticket("C")
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        await button_box(pilot, "3")
        assert isinstance(app.screen, NoticeScreen)
        await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, StartScreen) and app.guidance.on
        assert app.language == "en"
    assert said(said_folder)[-1].startswith("Welcome to the ticket machine.")


async def test_9_repeats_and_the_speech_key_stops_speech_until_pressed_again(
    make_kiosk, said_folder
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot)
        await pilot.press("9")
        await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
        await settle(pilot)
        first, again = said(said_folder)
        assert first == again and first.startswith("Welkom")
        await pilot.press("0")
        await pilot.press("enter")  # a new screen, but speech is off
        await settle(pilot)
        assert said(said_folder)[2:] == ["Spraak uit."]
        await pilot.press("escape", "9")  # back, and 9 is only a key again
        await settle(pilot)
        assert len(said(said_folder)) == 3


async def test_9_repeats_the_ticket_never_a_volume_or_priority_echo(make_kiosk, said_folder):
    app = make_kiosk(PRIORITY_ON)
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot, "en")
        await pilot.press("slash", "9")
        await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
        await settle(pilot)
        assert said(said_folder)[-1].startswith("English. Welcome to the ticket machine.")
        await button_box(pilot, "1")
        await pilot.press("plus", "minus", "9")
        await settle(pilot)
    ticket = said(said_folder)[-4]
    assert ticket.startswith("Your number is A 1.")
    assert said(said_folder)[-3:] == ["Louder.", "Softer.", ticket]


async def test_the_repeat_key_said_is_the_one_that_repeats(make_kiosk, said_folder, monkeypatch):
    monkeypatch.setattr(guidance, "REPEAT_KEY", "7")
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot)
        await pilot.press("7")
        await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
        await settle(pilot)
    first, again = said(said_folder)
    assert "Druk op 7 om dit opnieuw te horen." in first and again == first


async def test_plus_and_minus_set_the_volume_of_what_is_said_next(make_kiosk, said_folder):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0", "plus", "minus", "minus")
        await settle(pilot)
        assert app.guidance.voice.volume == 75
        for _ in range(8):
            await pilot.press("plus")
        await settle(pilot)
    assert said(said_folder)[1:4] == ["Luider.", "Zachter.", "Zachter."]
    assert said(said_folder)[-1] == "Luider gaat niet."


async def test_the_visit_never_ends_while_the_voice_speaks(make_kiosk, monkeypatch):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot)
        await button_box(pilot, "1")
        app.guidance.say("Een lange zin. " * 2000)  # still being said
        app.end_visit_when_quiet()  # the ticket's return delay is over
        app.went_idle()
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen) and app.guidance.on
        monkeypatch.setattr(guidance, "LISTEN_SECONDS", 0)
        app.guidance.voice.interrupt()
        assert app.guidance.voice.wait(5)
        app.end_visit_when_quiet()
        await pilot.pause()
        assert isinstance(app.screen, StartScreen) and not app.guidance.on


async def test_a_voice_that_never_falls_silent_holds_the_visit_only_so_long(
    make_kiosk, monkeypatch
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await speech_on(pilot)
        await button_box(pilot, "1")
        app.guidance.say("Een lange zin. " * 2000)  # still being said
        app.end_visit_when_quiet()
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)
        monkeypatch.setattr(kiosk_app, "MAX_HOLD_SECONDS", 0)
        app.end_visit_when_quiet()  # what the held visit's timer does next
        await pilot.pause()
        assert isinstance(app.screen, StartScreen) and not app.guidance.on


async def test_where_booking_numbers_are_typed_0_types_in_the_field_and_speaks_on_the_start(
    make_kiosk, said_folder
):
    app = make_kiosk(UID_CONFIG)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0", "enter")
        await settle(pilot)
        await pilot.press("1", "0", "0")
        await settle(pilot)
        assert app.screen.query_one("#reference").value == "100"
        assert said(said_folder)[-3:] == ["1", "0", "0"]
        assert app.guidance.on


async def test_a_scanned_code_with_0_and_9_in_it_is_never_taken_for_speech_keys(
    make_kiosk, said_folder, office, clock
):
    booking = office.add_appointment("B", clock.now + timedelta(minutes=10))
    assert "0" in booking.qr_payload
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*booking.qr_payload, "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and not app.guidance.on
    assert said(said_folder) == []


@pytest.mark.parametrize("on_the_appointment_screen", [False, True], ids=["start", "appointment"])
@pytest.mark.parametrize("speaking", [False, True])
async def test_a_ticket_code_scanned_at_full_speed_keeps_every_0_and_9(
    make_kiosk, said_folder, office, speaking, on_the_appointment_screen
):
    receipt = office.issue_ticket("A")
    assert "20" in receipt.code  # LT2026...: the speech key right after another code key
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        if speaking:
            await speech_on(pilot)  # 9 repeats, - and + set the volume
        if on_the_appointment_screen:
            await pilot.click("#appointment")
            await settle(pilot)
            assert isinstance(app.screen, AppointmentScreen)
        before = said(said_folder)
        await scan_at_full_speed(pilot, receipt.code)
        assert isinstance(app.screen, TicketScreen)
        assert "U staat nog in de rij." in str(app.screen.query_one("#message").render())
        assert app.guidance.on == speaking
    assert said(said_folder)[len(before) :] == (
        [said(said_folder)[-1]] if speaking else []  # only the ticket, when speaking
    )
    assert not speaking or said(said_folder)[-1].startswith("U staat nog in de rij.")


@pytest.mark.parametrize(("speaking", "code"), [(False, "0123456789"), (True, "9876543210")])
async def test_a_booking_number_scanned_on_the_start_screen_keeps_its_first_digit(
    make_kiosk, said_folder, monkeypatch, speaking, code
):
    app = make_kiosk(UID_CONFIG)
    checked_in = []
    monkeypatch.setattr(app, "check_in", checked_in.append)
    async with app.run_test(size=SIZE) as pilot:
        if speaking:
            await speech_on(pilot)
        before = said(said_folder)
        await pilot.press(*code, "enter")  # a scanner: all at once
        await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
        await settle(pilot)
        assert checked_in == [code] and app.guidance.on == speaking
    assert said(said_folder) == before


async def test_a_kiosk_whose_voice_fails_logs_it_once_and_gives_the_ticket(
    make_kiosk, monkeypatch, caplog, office
):
    monkeypatch.setenv("ALSA_CONFIG_PATH", "/dev/null")  # no sound card, wherever this runs
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent")
    app = make_kiosk(voice=Voice(Speaker()))
    with caplog.at_level(logging.WARNING, logger="loket.speech"):
        async with app.run_test(size=SIZE) as pilot:
            await speech_on(pilot)
            await button_box(pilot, "1")
            assert app.guidance.voice.wait(5)
            assert isinstance(app.screen, TicketScreen)
    assert [r.getMessage() for r in caplog.records] == [
        "Kiosk without speech: no sound device (Unknown PCM default)"
    ]
    assert [t.number for t in office.store.all_tickets()] == ["A001"]


async def larger_text(pilot) -> None:
    await pilot.press("full_stop")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (240, 67)])
def test_the_larger_text_key_gives_each_service_a_whole_row(db_path, clock, snap_compare, size):
    with Engine(db_path, clock=clock) as engine:
        clerks_at(engine, *engine.office.counters)
    app = KioskApp(str(db_path), clock=clock, cursor_blink=False, watch_interval=3600)
    assert snap_compare(app, terminal_size=size, run_before=larger_text)


async def test_the_larger_text_key_switches_back_and_never_types_into_a_reference(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("full_stop")
        assert app.has_class("-large-text")
        await pilot.press("enter", "full_stop")  # the empty field: the key still switches
        assert not app.has_class("-large-text")
        await pilot.press("7", "full_stop")
        assert app.screen.query_one("#reference").value == "7." and not app.has_class("-large-text")


def next_sentence(folder, after: int, seconds: float = 15) -> str:
    """The first sentence said after the first `after` ones, waiting for it up to `seconds`."""
    deadline = time.monotonic() + seconds
    while len(sentences := said(folder)) <= after:
        assert time.monotonic() < deadline, f"nothing said after {sentences}"
        time.sleep(0.1)
    return sentences[after]


def test_in_a_real_terminal_a_visitor_gets_a_ticket_by_ear_alone(tmp_path):
    """A visitor who cannot see the screen follows only what the kiosk says."""
    terminal = Tmux(tmp_path, width=80, height=24, LOKET_FROZEN_CLOCK="2026-12-01T08:00:00+00:00")
    folder = tmp_path / "said"
    try:
        db = str(tmp_path / "office.db")
        assert terminal.loket("--db", db, "init").returncode == 0
        terminal.start("kiosk", "--db", db, "kiosk", "--speech", f"file:{folder}",
                       "--printer", f"file:{tmp_path}/tickets")  # fmt: skip
        terminal.wait_for("kiosk", "Ik heb een afspraak")
        terminal.keys("kiosk", "F12", "F12", "F12")  # staff offer priority tickets first
        terminal.wait_for("kiosk", "Personeel: geef de pincode in")
        terminal.keys("kiosk", "2468", "Enter")
        terminal.wait_for("kiosk", "1  Voorrangstickets staan uit · aanzetten")
        terminal.keys("kiosk", "1")
        terminal.wait_for("kiosk", "1  Voorrangstickets staan aan · uitzetten")
        terminal.keys("kiosk", "Escape")
        terminal.wait_for("kiosk", "□ Voorrangsticket")  # back: the screen is not read again
        terminal.keys("kiosk", "0")
        welcome = next_sentence(folder, 0)
        key = re.search(r"Druk op (\d): Burgerlijke stand", welcome).group(1)
        assert "Druk dan eerst op de schuine streep voor een voorrangsticket." in welcome
        terminal.keys("kiosk", "/")
        assert next_sentence(folder, 1) == "Voorrangsticket gekozen. Kies nu uw dienst."
        terminal.keys("kiosk", key)
        assert next_sentence(folder, 2) == "Burgerlijke stand."
        ticket = next_sentence(folder, 3)
        assert ticket.startswith("Uw nummer is C 1. Nog eens, traag: C, 0, 0, 1.")
        assert "Neem uw ticket uit de printer." in ticket
        deadline = time.monotonic() + 15
        while not list((tmp_path / "tickets").glob("C001-*.bin")):  # printed in a worker
            assert time.monotonic() < deadline, "ticket C001 was never printed"
            time.sleep(0.1)
    finally:
        terminal.close()


def test_staff_hear_one_sentence_per_language_and_a_bad_voice_is_refused(tmp_path):
    terminal = Tmux(tmp_path)
    folder = tmp_path / "said"
    done = terminal.loket("kiosk", "--speech-test", "--speech", f"file:{folder}")
    assert done.returncode == 0, done.stderr
    assert [path.name for path in sorted(folder.glob("*.wav"))] == [
        "0001-nl.wav",
        "0002-fr.wav",
        "0003-en.wav",
        "0004-de.wav",
    ]
    assert said(folder)[1] == "Voici la voix de la borne de tickets en français."
    refused = terminal.loket("kiosk", "--speech", "loud")
    assert refused.returncode == 2
    assert "--speech: unknown speech 'loud': use espeak, off or file:DIR" in refused.stderr
    silent = terminal.loket("kiosk", "--speech-test", "--speech", "off")
    assert silent.returncode == 1 and "Traceback" not in silent.stderr


async def test_the_speech_key_speaks_at_once_where_no_code_starts_with_it(make_kiosk, said_folder):
    app = make_kiosk()  # references never hold a 0: no scan can start with it
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0")
        await pilot.pause(0.1)
        assert app.guidance.on and said(said_folder)


async def test_where_booking_numbers_are_typed_the_speech_key_waits_for_a_second_key(
    make_kiosk, said_folder
):
    app = make_kiosk(UID_CONFIG)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0")
        await pilot.pause(0.1)
        assert not app.guidance.on and said(said_folder) == []
        await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
        assert app.guidance.on
