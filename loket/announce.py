"""Spoken announcements of calls: the sentence in each language, and a queue that speaks them.

The display hands each call to an `Announcer`, which chimes and speaks on a thread of its own,
one announcement after the other: the screen never waits for the voice, and no announcement
cuts off the one before it.
"""

from __future__ import annotations

import logging
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable

from loket import texts

log = logging.getLogger("loket.announce")

# espeak-ng voices: Belgian French, British English.
VOICES = {"nl": "nl", "fr": "fr-be", "en": "en-gb", "de": "de"}
WORDS_PER_MINUTE = 140  # a little slower than espeak's 175: a waiting room echoes
NUMBER = re.compile(r"([A-Z]{1,2})0*(\d+)")
LETTERS = re.compile(r"\b([A-Z]{1,2})\b")
ALSA_LOCATION = re.compile(r"^ALSA lib \S+ ")

Speak = Callable[[str], None]


class SpeechUnavailable(Exception):
    """The voice cannot be used here: no espeak-ng, or no sound device."""


def announcement(number: str, counter: str, language: str) -> str:
    """What is said for a call: "Nummer A 12, loket 3." for A012 at counter 3.

    Numbers stay digits: espeak-ng reads them better in each voice than words we spell
    (septante and nonante in Belgian French too); `make bench` of 1 December 2026 compared
    the phonemes of both for 0..9999 (benchmarks/README.md).
    """
    match = NUMBER.fullmatch(number)
    series, digits = (match.group(1), str(int(match.group(2)))) if match else ("", number)
    return texts.text(language, "announce_call", series=series, number=digits, counter=counter)


def speech_markup(sentence: str) -> str:
    """The sentence as SSML for espeak-ng, with ticket letters spelled ("A", not the article)."""
    escaped = sentence.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return LETTERS.sub(r'<say-as interpret-as="characters">\1</say-as>', escaped)


def speech_command(sentence: str, language: str, program: str = "espeak-ng") -> list[str]:
    """The espeak-ng command line that says `sentence` in `language`."""
    return [
        program,
        "-m",
        "-v",
        VOICES[language],
        "-s",
        str(WORDS_PER_MINUTE),
        speech_markup(sentence),
    ]


def espeak(language: str) -> Speak:
    """A voice that speaks through espeak-ng to the sound device; raises SpeechUnavailable."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise SpeechUnavailable("espeak-ng is not installed (Debian: apt-get install espeak-ng)")

    def speak(sentence: str) -> None:
        command = speech_command(sentence, language, program)
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SpeechUnavailable(f"espeak-ng failed: {error}") from error
        # Without a sound card espeak-ng still exits 0, but ALSA complains on stderr.
        problem = result.returncode != 0 or "error" in result.stderr.lower()
        if problem:
            raise SpeechUnavailable(f"no sound device ({_first_complaint(result)})")

    return speak


def _first_complaint(result: subprocess.CompletedProcess) -> str:
    """ALSA's first line without its source location: "Unknown PCM default"."""
    lines = result.stderr.strip().splitlines()
    if not lines:
        return f"espeak-ng exited with {result.returncode}"
    return ALSA_LOCATION.sub("", lines[0]).strip()


class Announcer:
    """Chimes and speaks each announcement in turn on its own thread.

    `speak` is the voice (None: chime only), `chime` the sound before each sentence and
    `warn` is told once, with the reason, when the voice turns out not to work; from then
    on the announcer only chimes.
    """

    MAX_PENDING = 10
    """Beyond this many waiting announcements the oldest is dropped: it is stale by then."""

    def __init__(
        self,
        speak: Speak | None,
        chime: Callable[[], None] = lambda: None,
        warn: Callable[[str], None] = log.warning,
    ):
        self.speak = speak
        self.chime = chime
        self.warn = warn
        self._closed = False
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()

    def announce(self, sentence: str) -> None:
        """Queue a sentence; returns at once."""
        if self._queue.qsize() >= self.MAX_PENDING:
            try:
                dropped = self._queue.get_nowait()
            except queue.Empty:
                pass
            else:
                self._queue.task_done()
                log.info("announcement dropped, too many waiting: %s", dropped)
        self._queue.put(sentence)

    def wait(self) -> None:
        """Block until every queued announcement has been made (for tests and shut-down)."""
        self._queue.join()

    def close(self) -> None:
        """Stop after the announcement being made now; queued ones are dropped."""
        self._closed = True
        self._queue.put(None)

    def _run(self) -> None:
        while (sentence := self._queue.get()) is not None:
            try:
                if not self._closed:
                    self._make(sentence)
            except Exception:  # an announcement must never take the display down
                log.exception("announcement failed: %s", sentence)
            finally:
                self._queue.task_done()

    def _make(self, sentence: str) -> None:
        self.chime()
        if self.speak is None:
            return
        try:
            self.speak(sentence)
        except SpeechUnavailable as error:
            self.speak = None
            self.warn(f"Announcements without voice: {error}")
