"""The kiosk's voice: queued utterances spoken by espeak-ng, each one stopped at once on a key.

A `Voice` speaks on a thread of its own, one utterance after the other, so the screen never
waits. Unlike the display's announcer it is interrupted all the time: a visitor who presses
a key wants the next thing said now, so `interrupt()` kills the utterance being spoken and
drops the queued ones.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loket.announce import (
    ALSA_LOCATION,
    VOICES,
    WORDS_PER_MINUTE,
    SpeechUnavailable,
    speech_markup,
)

log = logging.getLogger("loket.speech")

VOLUMES = (25, 50, 75, 100, 125, 150, 175, 200)
"""espeak-ng amplitudes the volume keys step through; 100 is espeak-ng's own default."""
DEFAULT_VOLUME = 100
HUNG_SECONDS = 60
"""An espeak-ng still running this long past its sentence's length hangs: killed, a failure."""
SPEC_HELP = "use espeak, off or file:DIR"


@dataclass(frozen=True)
class Utterance:
    """One thing to say, in one language."""

    text: str
    language: str


def espeak_command(
    utterance: Utterance, volume: int, program: str = "espeak-ng", *options: str
) -> list[str]:
    """The espeak-ng command line that says `utterance` at `volume` (0 to 200)."""
    return [
        program,
        "-m",
        "-v",
        VOICES[utterance.language],
        "-s",
        str(WORDS_PER_MINUTE),
        "-a",
        str(volume),
        *options,
        speech_markup(utterance.text),
    ]


def espeak_program() -> str:
    """The espeak-ng program's path; SpeechUnavailable if it is not installed."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise SpeechUnavailable("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    return program


class Playback:
    """A running espeak-ng: waited for by the voice's thread, killed by an interruption."""

    def __init__(self, process: subprocess.Popen, text: str = ""):
        self.process = process
        self.stopped = False
        self.limit = HUNG_SECONDS + 2 * 60 * len(text.split()) / WORDS_PER_MINUTE
        """Seconds it may take: twice its words at the speaking rate, plus a minute."""

    def stop(self) -> None:
        self.stopped = True
        self.process.kill()

    def wait(self) -> str | None:
        """Wait until it is done; the reason it could not speak, or None."""
        try:
            _, errors = self.process.communicate(timeout=self.limit)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            return f"espeak-ng hung (still running after {self.limit:.0f} s)"
        if self.stopped:
            return None
        # Without a sound card espeak-ng still exits 0, but ALSA complains on stderr.
        if self.process.returncode != 0 or "error" in errors.lower():
            lines = errors.strip().splitlines() or [f"exit status {self.process.returncode}"]
            return f"no sound device ({ALSA_LOCATION.sub('', lines[0]).strip()})"
        return None


class Speaker:
    """Speaks aloud on the default sound device, or on `device` (e.g. a headphone jack)."""

    def __init__(self, device: str | None = None):
        self.program = espeak_program()
        self.device = device

    def queued(self, utterance: Utterance) -> None:
        """Nothing to note: the sound is the record."""

    def start(self, utterance: Utterance, volume: int) -> Playback:
        options = ("-d", self.device) if self.device else ()
        command = espeak_command(utterance, volume, self.program, *options)
        return Playback(_popen(command, stdout=subprocess.DEVNULL), utterance.text)


class Recorder:
    """Writes each utterance to `folder` as a numbered .txt, and its sound as a .wav."""

    def __init__(self, folder: str):
        self.program = espeak_program()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = len(list(self.folder.glob("*.txt")))
        self.pending: deque[Path] = deque()

    def queued(self, utterance: Utterance) -> None:
        """The text at once, in the caller's order: what the kiosk meant to say, even if cut off."""
        self.count += 1
        path = self.folder / f"{self.count:04d}-{utterance.language}.txt"
        path.write_text(utterance.text + "\n", encoding="utf-8")
        self.pending.append(path.with_suffix(".wav"))

    def start(self, utterance: Utterance, volume: int) -> Playback:
        wav = self.pending.popleft() if self.pending else self.folder / "unnumbered.wav"
        command = espeak_command(utterance, volume, self.program, "-w", str(wav))
        return Playback(_popen(command, stdout=subprocess.DEVNULL), utterance.text)

    def skipped(self) -> None:
        """Queued utterances were dropped: they get no sound file."""
        self.pending.clear()


def _popen(command: list[str], **kwargs) -> subprocess.Popen:
    try:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs
        )
    except OSError as error:
        raise SpeechUnavailable(f"espeak-ng cannot be started: {error}") from error


class Voice:
    """Speaks queued utterances in turn on its own thread; `interrupt()` silences it at once.

    `sink` makes the sound (a Speaker or a Recorder). When it fails (no sound device, no
    espeak-ng), `warn` is told once and the voice says nothing more: the kiosk works on.
    """

    def __init__(self, sink, warn: Callable[[str], None] = log.warning):
        self.sink = sink
        self.warn = warn
        self.volume = DEFAULT_VOLUME
        self.problem: str | None = None
        """Why the voice went silent for good, or None while it works."""
        self.last: Utterance | None = None
        """What was said last, for the repeat key."""
        self.quiet_since = time.monotonic()
        self._pending: deque[Utterance] = deque()
        self._playing: Playback | None = None
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Speaking, or about to: the kiosk's timers must not cut it off."""
        with self._changed:
            return bool(self._pending or self._playing)

    def say(self, text: str, language: str, repeatable: bool = True) -> None:
        """Queue `text` after whatever is being said; returns at once."""
        utterance = Utterance(text, language)
        with self._changed:
            if repeatable:
                self.last = utterance
            if self.problem is not None or self._closed:
                return
            try:
                self.sink.queued(utterance)
            except OSError as error:  # e.g. the speech folder is gone: the kiosk goes on
                self._fail_locked(f"cannot record speech: {error}")
                return
            self._pending.append(utterance)
            self._changed.notify()

    def remember(self, text: str, language: str) -> None:
        """What the repeat key says from now on, without saying it now."""
        self.last = Utterance(text, language)

    def repeat(self) -> None:
        """Say the last utterance again."""
        if self.last is not None:
            self.say(self.last.text, self.last.language)

    def interrupt(self) -> None:
        """Stop the utterance being spoken now and forget the queued ones."""
        with self._changed:
            self._pending.clear()
            getattr(self.sink, "skipped", lambda: None)()
            if self._playing is not None:
                self._playing.stop()

    def louder(self) -> bool:
        """One step up; False if it is already the loudest."""
        return self._step(+1)

    def softer(self) -> bool:
        """One step down; False if it is already the softest."""
        return self._step(-1)

    def _step(self, direction: int) -> bool:
        index = VOLUMES.index(self.volume) + direction
        if not 0 <= index < len(VOLUMES):
            return False
        self.volume = VOLUMES[index]
        return True

    def wait(self, seconds: float = 60) -> bool:
        """Block until everything queued has been said (tests, `--speech-test`); False on timeout."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while self._pending or self._playing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def close(self) -> None:
        """Stop speaking and end the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self.interrupt()

    def _run(self) -> None:
        while (playback := self._next()) is not None:
            problem = playback.wait()
            with self._changed:
                self._playing = None
                if not self._pending:
                    self.quiet_since = time.monotonic()
                self._changed.notify_all()
            if problem is not None:
                self._fail(problem)

    def _next(self) -> Playback | None:
        """Start the next utterance (under the lock, so an interruption always finds it)."""
        with self._changed:
            while True:
                while not self._pending and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return None
                utterance = self._pending.popleft()
                try:
                    self._playing = self.sink.start(utterance, self.volume)
                    return self._playing
                except SpeechUnavailable as error:
                    self._pending.clear()
                    self._changed.notify_all()
                    self._fail_locked(str(error))
                except Exception:  # a bug must never take the kiosk down
                    log.exception("utterance failed: %s", utterance.text)
                    self._changed.notify_all()

    def _fail(self, problem: str) -> None:
        with self._changed:
            self._fail_locked(problem)

    def _fail_locked(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem
            self._pending.clear()
            self.warn(f"Kiosk without speech: {problem}")


def open_voice(
    spec: str | None, device: str | None = None, warn: Callable[[str], None] = log.warning
) -> Voice | None:
    """The voice for `--speech` (None: espeak if installed); None when speech is off.

    ValueError for a spec that is not one of ours or a folder that cannot be written; a
    missing espeak-ng turns speech off with one log line, never a failure.
    """
    kind, _, folder = parse_spec(spec or "espeak").partition(":")
    if kind == "off":
        return None
    try:
        return Voice(Recorder(folder) if kind == "file" else Speaker(device), warn)
    except SpeechUnavailable as error:
        warn(f"Kiosk without speech: {error}")
        return None
    except OSError as error:
        raise ValueError(f"cannot write speech to {folder}: {error.strerror}") from None


def parse_spec(spec: str) -> str:
    """`spec` if it is espeak, off or file:DIR; else ValueError saying what is expected."""
    kind, _, folder = spec.partition(":")
    if spec in ("espeak", "off") or (kind == "file" and folder):
        return spec
    raise ValueError(f"unknown speech {spec!r}: {SPEC_HELP}")
