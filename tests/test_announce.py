"""What the display says aloud, in each language, and how announcements take turns."""

from __future__ import annotations

import subprocess
import threading
import time
import wave

import pytest

from loket import announce
from loket.announce import Announcer, SpeechUnavailable, announcement, speech_command
from loket.texts import LANGUAGES


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("nl", "Nummer A 12, loket 3."),
        ("fr", "Numéro A 12, guichet 3."),
        ("en", "Number A 12, counter 3."),
        ("de", "Nummer A 12, Schalter 3."),
    ],
)
def test_a_call_is_said_with_letter_number_and_counter(language, sentence):
    assert announcement("A012", "3", language) == sentence


def test_every_letter_and_a_named_counter():
    assert announcement("K101", "B2", "nl") == "Nummer K 101, loket B2."
    assert announcement("XY007", "12", "en") == "Number XY 7, counter 12."


def phonemes(sentence: str, language: str) -> str:
    """What espeak-ng says for a sentence, as its phoneme mnemonics (`-x`)."""
    command = speech_command(sentence, language)
    said = subprocess.run(
        [command[0], "-q", "-x", *command[1:]], capture_output=True, text=True, timeout=60
    )
    return said.stdout


@pytest.mark.parametrize(
    ("language", "number", "heard"),
    [
        ("fr", "B072", "sEptA~td'Y"),  # septante-deux, as in Belgium, not soixante-douze
        ("fr", "B098", "nonA~t_|y'it"),  # nonante-huit
        ("nl", "B072", "tv#'e:Enz,e:v@nt@x"),  # tweeënzeventig
        ("de", "B072", "tsv'aI _|Untz'i:ptsIC"),  # zweiundsiebzig
        ("en", "B072", "s'Ev@nti t'u:"),  # seventy-two
    ],
)
def test_the_voice_reads_ticket_numbers_as_the_office_says_them(language, number, heard):
    assert heard in phonemes(announcement(number, "3", language), language)


def test_letters_are_spelled_for_the_voice():
    markup = announce.speech_markup("Number A 12, counter 3.")
    assert markup == 'Number <say-as interpret-as="characters">A</say-as> 12, counter 3.'


@pytest.mark.parametrize("language", LANGUAGES)
def test_espeak_ng_turns_each_sentence_into_sound(language, tmp_path):
    """The real program, writing to a file instead of the sound card."""
    out = tmp_path / "said.wav"
    command = speech_command(announcement("A012", "3", language), language)
    subprocess.run([*command[:-1], "-w", str(out), command[-1]], check=True, timeout=60)
    with wave.open(str(out)) as sound:
        seconds = sound.getnframes() / sound.getframerate()
    assert 1.5 < seconds < 6, seconds


def test_without_a_sound_device_speaking_is_refused_not_hung(monkeypatch):
    monkeypatch.setenv("ALSA_CONFIG_PATH", "/dev/null")  # no ALSA card, wherever this runs
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent")
    speak = announce.espeak("nl")
    with pytest.raises(SpeechUnavailable, match=r"^no sound device \(Unknown PCM default\)$"):
        speak("Nummer A 12, loket 3.")


class SlowVoice:
    """Takes its time like a real voice, and notes when each sentence starts and ends."""

    def __init__(self, seconds: float = 0.05):
        self.seconds = seconds
        self.spans: list[tuple[str, float, float]] = []

    def __call__(self, sentence: str) -> None:
        start = time.monotonic()
        time.sleep(self.seconds)
        self.spans.append((sentence, start, time.monotonic()))


def test_announcements_take_turns_and_never_block_the_caller():
    voice = SlowVoice()
    chimes = []
    announcer = Announcer(voice, chime=lambda: chimes.append(time.monotonic()))
    started = time.monotonic()
    for n in range(4):
        announcer.announce(f"call {n}")
    assert time.monotonic() - started < 0.02  # the screen goes on at once
    announcer.wait()
    assert [s for s, _, _ in voice.spans] == ["call 0", "call 1", "call 2", "call 3"]
    for (_, _, end), (_, start, _) in zip(voice.spans, voice.spans[1:], strict=False):
        assert start >= end  # none cuts off the one before
    assert len(chimes) == 4
    assert all(chime <= start for chime, (_, start, _) in zip(chimes, voice.spans, strict=True))


def test_a_voice_that_fails_is_reported_once_then_only_chimes():
    warnings, chimes = [], []

    def broken(sentence):
        raise SpeechUnavailable("no sound: Unknown PCM default")

    announcer = Announcer(broken, chime=lambda: chimes.append(1), warn=warnings.append)
    for n in range(3):
        announcer.announce(f"call {n}")
    announcer.wait()
    assert warnings == ["Announcements without voice: no sound: Unknown PCM default"]
    assert len(chimes) == 3


def test_a_backlog_keeps_only_the_latest_announcements():
    gate = threading.Event()
    said = []

    def voice(sentence):
        gate.wait(5)
        said.append(sentence)

    announcer = Announcer(voice)
    announcer.announce("first")  # being said while the others pile up
    time.sleep(0.05)
    for n in range(25):
        announcer.announce(f"call {n}")
    gate.set()
    announcer.wait()
    assert said == ["first"] + [f"call {n}" for n in range(15, 25)]
