"""Kiosk figures: from a tap on a service to the ticket on screen, and cold start to first screen."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time

from timing import process_times

TAPS = 60
COLD_STARTS = 10

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
        }


if __name__ == "__main__":
    figures = measure()
    for name, values in figures.items():
        p95 = statistics.quantiles(values, n=20, method="inclusive")[-1]
        print(name, f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms")
