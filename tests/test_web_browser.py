"""`loket serve` in a real browser: Debian's chromium, driven by Playwright, against a real server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from loket.engine import Engine
from tests.web_server import free_port, loket_serve

ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / "test-artifacts" / "screens"
# Every wait is bounded, never timed: how fast a call reaches the TV is a `make bench` figure.
WAIT_MS = 10_000
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A TV in kiosk mode is started so: sound without a click first.
    "--autoplay-policy=no-user-gesture-required",
]


def loket(db, *arguments: str) -> subprocess.CompletedProcess:
    """A `loket` command on the office, as a clerk would type it."""
    return subprocess.run(
        [sys.executable, "-m", "loket", "--db", str(db), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )


@pytest.fixture
def serving(tmp_path):
    """`loket serve` on a database while in the block: its address; its output in tmp_path."""

    @contextmanager
    def serve(db, port: int | None = None) -> Iterator[str]:
        with loket_serve(db, tmp_path / "serve.log", port=port) as server:
            yield server.url

    return serve


@pytest.fixture
def office_file(tmp_path) -> Path:
    path = tmp_path / "loket.db"
    loket(path, "init")
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "install Debian's chromium: bash .ci/system-packages"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        yield browser
        browser.close()


@contextmanager
def page_at(browser, url: str, width: int, height: int):
    """A page at `url`; every request it makes must go to the server, nowhere else."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    elsewhere: list[str] = []
    server = url.split("/")[2]
    page.on(
        "request",
        lambda request: (
            None if request.url.split("/")[2] == server else elsewhere.append(request.url)
        ),
    )
    page.goto(url)
    try:
        yield page
    finally:
        context.close()
    assert elsewhere == [], "the page fetched from elsewhere"


def wait_until(page, expression: str, timeout: int = WAIT_MS) -> None:
    """Poll a JavaScript expression until it is true. (Playwright's wait_for_function evals
    its predicate in the page, which the pages' Content-Security-Policy rightly forbids.)"""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still not true after {timeout} ms: {expression}"
        time.sleep(0.02)


def wait_for_board(page, boards: int = 1) -> None:
    wait_until(page, f"window.loketBoards >= {boards}")


def screenshot(page, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / name
    page.screenshot(path=str(path))
    return path


# the TV display


def test_a_call_shows_on_the_display_and_a_recall_is_said_again(browser, serving, office_file):
    loket(office_file, "ticket", "A")
    with (
        serving(office_file) as url,
        page_at(browser, f"{url}/display?voice=nl", 1280, 720) as page,
    ):
        wait_for_board(page)
        assert page.inner_text("#now").strip().endswith("Nog niemand opgeroepen")
        loket(office_file, "call", "1")
        wait_until(
            page,
            "document.getElementById('now-number')?.textContent === 'A001'",
            timeout=WAIT_MS,
        )
        assert "Loket 1" in page.inner_text("#now-counter")
        assert "fresh" in page.get_attribute("#now", "class")  # highlighted
        loket(office_file, "recall", "1")
        wait_until(page, "window.loketAnnounced.length === 2")
        said = page.evaluate("window.loketAnnounced.map(a => a.text)")
        assert said == ["Nummer A 1, loket 1.", "Nummer A 1, loket 1."]
        # Chime, sentence, chime, sentence: each played to its end before the next began.
        wait_until(page, "window.loketPlayed.length === 4", timeout=30_000)
        played = page.evaluate("window.loketPlayed")
        audio = page.evaluate("window.loketAnnounced.map(a => a.audio)")
        assert played == ["/chime.wav", audio[0], "/chime.wav", audio[1]]
        assert audio[0] != audio[1]  # the recall has an announcement of its own


def test_the_display_says_one_moment_while_the_server_is_gone_and_recovers(
    browser, serving, office_file
):
    loket(office_file, "ticket", "A")
    loket(office_file, "call", "1")
    port = free_port()
    with serving(office_file, port) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(f"{url}/display")
        wait_for_board(page)
        assert page.inner_text("#now-number") == "A001"
    try:
        # The server stopped under the open page: the calm message, no stale calls.
        wait_until(page, "document.body.classList.contains('unavailable')", timeout=WAIT_MS)
        assert page.is_visible("#unavailable") and not page.is_visible("#now-number")
        assert "One moment please." in page.inner_text("#unavailable")
        assert "Een ogenblik geduld." in page.inner_text("#unavailable")
        loket(office_file, "ticket", "A")
        loket(office_file, "call", "1")  # made while the server was away
        with serving(office_file, port):
            wait_until(
                page,
                "!document.body.classList.contains('unavailable')"
                " && document.getElementById('now-number')?.textContent === 'A002'",
                timeout=20_000,
            )
    finally:
        context.close()


class Relay:
    """A TCP relay in front of the server that can drop every open connection at once, as a
    reverse proxy does with a stream it finds idle for too long."""

    def __init__(self, port: int):
        self.port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.port))
            self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        for connection in self.open:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self.open = []

    def close(self) -> None:
        self.listener.close()
        self.cut()


WATCH_UNAVAILABLE = """() => {
  window.seenUnavailable = false;
  new MutationObserver(() => {
    if (document.body.classList.contains("unavailable")) window.seenUnavailable = true;
  }).observe(document.body, {attributes: true});
}"""


def test_a_stream_dropped_and_back_at_once_shows_no_one_moment(browser, serving, office_file):
    """A proxy that closes an idle stream must not flash "one moment please" on the TV."""
    loket(office_file, "ticket", "A")
    loket(office_file, "call", "1")
    with serving(office_file) as url:
        relay = Relay(int(url.rsplit(":", 1)[1]))
        try:
            with page_at(browser, f"{relay.url}/display", 1280, 720) as page:
                wait_for_board(page)
                page.evaluate(WATCH_UNAVAILABLE)
                relay.cut()
                wait_for_board(page, 2)  # the stream came back (after the server's 2 s retry)
                assert page.evaluate("window.seenUnavailable") is False
                assert page.inner_text("#now-number") == "A001"
        finally:
            relay.close()


def busy_office(path) -> None:
    """A morning's queue: calls at three counters, a few visitors waiting."""
    for service in "AABBCAC":
        loket(path, "ticket", service)
    for counter in ("1", "2", "3", "1", "2"):
        loket(path, "call", counter)


@pytest.mark.parametrize("width, height", [(1280, 720), (3840, 2160)])
def test_display_screenshots(browser, serving, office_file, width, height):
    busy_office(office_file)
    with serving(office_file) as url, page_at(browser, f"{url}/display", width, height) as page:
        wait_for_board(page)
        # Everything fits: nothing scrolls, the latest call is the largest text on screen.
        size = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        assert size == [width, height]
        number = page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('now-number')).fontSize)"
        )
        assert number >= height * 0.2
        assert len(page.query_selector_all(".earlier li")) == 4
        wait_until(
            page, "!document.getElementById('now').classList.contains('fresh')", timeout=WAIT_MS
        )
        screenshot(page, f"display-{width}x{height}.png")


# the visitor's phone


def test_the_visitors_page_follows_a_ticket_from_waiting_to_called_to_done(
    browser, serving, office_file
):
    with Engine(office_file, create=False) as engine:
        token = engine.visitor_token(engine.issue_ticket("A").ticket)
    with (
        serving(office_file) as url,
        page_at(browser, f"{url}/t/{token}?lang=en", 360, 740) as page,
    ):
        assert page.inner_text("#ticket .number") == "A001"
        wait_until(page, "window.loketAlerts.includes('near')")  # nobody ahead: near
        assert "You are next." in page.inner_text("#ticket")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, "visitor-waiting-360x740.png")
        loket(office_file, "call", "1")
        page.wait_for_selector("text=Go to Loket 1")
        wait_until(page, "window.loketAlerts.includes('call')")
        screenshot(page, "visitor-called-360x740.png")
        loket(office_file, "done", "1")
        page.wait_for_selector("text=Thank you for your visit.")
        assert page.evaluate("window.loketAlerts") == ["near", "call"]


def test_the_visitors_page_works_without_javascript(browser, serving, office_file):
    with Engine(office_file, create=False) as engine:
        engine.issue_ticket("A")
        token = engine.visitor_token(engine.issue_ticket("A").ticket)
    with serving(office_file) as url:
        context = browser.new_context(
            viewport={"width": 320, "height": 640}, java_script_enabled=False
        )
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(f"{url}/t/{token}?lang=nl")
            assert "Er is nog 1 persoon voor u." in page.inner_text("#ticket")
            page.click("text=De wachtrij verlaten")
            page.click("text=Ja, de wachtrij verlaten")
            page.wait_for_selector("text=U hebt de wachtrij verlaten.")
            assert page.url.startswith(f"{url}/t/{token}?lang=nl")
        finally:
            context.close()
    with Engine(office_file, create=False) as engine:
        assert engine.visit(token).state == "cancelled"


# PostgreSQL


def test_a_call_reaches_the_display_on_postgresql(browser, serving, pg_cluster):
    url_of_db = pg_cluster.create_database()
    try:
        loket(url_of_db, "init")
        loket(url_of_db, "ticket", "B")
        with (
            serving(url_of_db) as url,
            page_at(browser, f"{url}/display", 1280, 720) as page,
        ):
            wait_for_board(page)
            loket(url_of_db, "call", "3")
            wait_until(
                page,
                "document.getElementById('now-number')?.textContent === 'B001'",
                timeout=WAIT_MS,
            )
    finally:
        pg_cluster.drop_database(url_of_db)
