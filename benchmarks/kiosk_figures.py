"""Kiosk figures: a tap to the ticket on screen, cold start to first screen, a key to first sound."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from timing import process_times

TAPS = 60
COLD_STARTS = 10
SPEECH_KEYS = 40
WAV_HEADER = 44

# Run in a fresh interpreter: imports, database, first screen painted, then exit.
FIRST_SCREEN = """
import sys
from kiosk.app import KioskApp
from kiosk.start import StartScreen

shown = StartScreen.on_mount

def exit_once_painted(screen):
    shown(screen)
    screen.call_after_refresh(screen.app.exit)

StartScreen.on_mount = exit_once_painted
KioskApp(sys.argv[1]).run(headless=True, size=(160, 48))
"""


async def tap_latencies(path: str, size: tuple[int, int]) -> list[float]:
    """Milliseconds from the tap on a service button to the ticket painted on screen.

    The clock starts when the button receives the click: Pilot waits for the app to
    settle between its simulated mouse-down, mouse-up and click, which a real tap does not.
    """
    from kiosk.app import KioskApp
    from kiosk.base import TouchButton
    from kiosk.ticket import TicketScreen

    app = KioskApp(path, cursor_blink=False)
    tapped, painted, painted_at = [0.0], asyncio.Event(), [0.0]
    clicked, hand_out = TouchButton.on_click, app.hand_out

    def stamp_tap(button, event):
        tapped[0] = time.perf_counter()
        clicked(button, event)

    def stamp_paint():
        painted_at[0] = time.perf_counter()
        painted.set()

    def hand_out_and_stamp(*args, **kwargs):
        hand_out(*args, **kwargs)
        app.call_after_refresh(stamp_paint)

    TouchButton.on_click, app.hand_out = stamp_tap, hand_out_and_stamp
    latencies = []
    try:
        async with app.run_test(size=size) as pilot:
            for _ in range(TAPS):
                painted.clear()
                await pilot.click("#service-A")
                await painted.wait()
                latencies.append((painted_at[0] - tapped[0]) * 1000)
                assert isinstance(app.screen, TicketScreen)
                app.back_to_start()
                await pilot.pause()
    finally:
        TouchButton.on_click = clicked
    return latencies


class FirstSound:
    """A voice sink that runs espeak-ng to stdout and notes when its first audio bytes arrive."""

    def __init__(self):
        from loket.speech import espeak_program

        self.program = espeak_program()
        self.heard = threading.Event()
        self.heard_at = 0.0

    def queued(self, utterance) -> None:
        pass

    def start(self, utterance, volume: int):
        from loket.speech import espeak_command

        command = espeak_command(utterance, volume, self.program, "--stdout")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return Listening(process, self)


class Listening:
    """One utterance's espeak-ng: its first audio bytes are timed, the rest is read away."""

    def __init__(self, process: subprocess.Popen, sink: FirstSound):
        self.process, self.sink = process, sink
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        if len(self.process.stdout.read(WAV_HEADER + 2)) == WAV_HEADER + 2:
            self.sink.heard_at = time.perf_counter()
            self.sink.heard.set()
        self.process.stdout.read()

    def stop(self) -> None:
        self.process.kill()

    def wait(self) -> None:
        self.reader.join()
        self.process.wait()


async def key_to_sound_latencies(path: str) -> list[float]:
    """Milliseconds from the speech key reaching the kiosk to its first sound.

    The clock starts when the app receives the key, as for taps; it stops when espeak-ng has
    written its WAV header and the first sample to its stdout, where a sound card would read.
    """
    from kiosk.app import KioskApp
    from loket.speech import Voice

    sink = FirstSound()
    app = KioskApp(path, cursor_blink=False, voice=Voice(sink))
    pressed, action = [0.0], app.guidance.action

    def stamp_key(event):
        pressed[0] = time.perf_counter()
        return action(event)

    app.guidance.action = stamp_key
    latencies = []
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(SPEECH_KEYS):
            sink.heard.clear()
            await pilot.press("0")  # speech on: the start screen is said
            if not await asyncio.to_thread(sink.heard.wait, 10):
                raise RuntimeError("the speech key gave no sound within 10 s")
            latencies.append((sink.heard_at - pressed[0]) * 1000)
            app.guidance.stop()  # silently off, for the next visitor
            await pilot.pause(0.05)
    return latencies


def cold_starts(path: str) -> list[float]:
    """Milliseconds for a new process to import, open the database and paint the start screen."""
    pycache = os.path.join(os.path.dirname(path), "pycache")
    return process_times([sys.executable, "-c", FIRST_SCREEN, path], COLD_STARTS, pycache)


def measure() -> dict[str, list[float]]:
    from loket.config import default_config_text
    from loket.engine import Engine

    with tempfile.TemporaryDirectory(prefix="loket-kiosk-") as folder:
        path = os.path.join(folder, "loket.db")
        with Engine(path) as engine:
            engine.init(default_config_text())
        return {
            "tap 80x24": asyncio.run(tap_latencies(path, (80, 24))),
            "tap 160x48": asyncio.run(tap_latencies(path, (160, 48))),
            "cold": cold_starts(path),
            "speech": asyncio.run(key_to_sound_latencies(path)),
        }


if __name__ == "__main__":
    figures = measure()
    for name, values in figures.items():
        p95 = statistics.quantiles(values, n=20, method="inclusive")[-1]
        print(name, f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms")
