"""300 phones follow their tickets on one `loket serve` while tickets are issued and called.

Each phone is an event stream of `/t/TOKEN/events` on loopback. Every phone whose ticket is
called shows the counter the engine called it to, every phone ends on the ticket's state as
the engine has it (no lost update), the server keeps answering /healthz, and no stream fails.
"""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from html import unescape

import httpx
import pytest

from loket.config import default_config_text
from loket.engine import Engine
from loket.texts import text
from tests.web_server import Server, loket_serve

pytestmark = [pytest.mark.slow, pytest.mark.backends]

PHONES, CALLS = 300, 100
LANGUAGE = "en"  # of the phones' pages
COUNTERS = {"1": "Loket 1", "2": "Loket 2", "3": "Loket 3", "4": "Loket 4"}  # the demo office's
CAP_SECONDS = 60  # the whole day under load; a hung stream fails the test, never hangs it
HEALTH_EVERY_SECONDS = 0.5
ORDER = {"waiting": 0, "called": 1, "done": 2, "no_show": 2, "cancelled": 2, "expired": 2}


class Phone:
    """A visitor's page following its ticket: every visit the server sent, in order."""

    def __init__(self, token: str):
        self.token = token
        self.visits: list[dict] = []
        self.final = False
        self.error = ""

    @property
    def last(self) -> dict:
        return self.visits[-1] if self.visits else {}

    def showed_called(self, counter_name: str) -> bool:
        said = text(LANGUAGE, "web_go_to", counter=counter_name)
        return any(v["state"] == "called" and page_text(v, "called") == said for v in self.visits)

    async def follow(self, client: httpx.AsyncClient, base: str) -> None:
        """Read the stream until cancelled; a stream that fails, or ends unfinished, is an error."""
        url = f"{base}/t/{self.token}/events?lang={LANGUAGE}"
        try:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    self.error = f"status {response.status_code}"
                    return
                event, data = "message", []
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line.removeprefix("event:").strip()
                    elif line.startswith("data:"):
                        data.append(line.removeprefix("data:").strip())
                    elif not line and data:
                        self.receive(event, json.loads("\n".join(data)))
                        event, data = "message", []
            if not self.final:
                self.error = "the stream ended before the ticket's end"
        except httpx.HTTPError as error:
            self.error = f"{type(error).__name__}: {error}"

    def receive(self, event: str, data: dict) -> None:
        if event == "visit":
            self.visits.append(data)
        elif event == "final":
            self.final = True
        else:  # "gone" or "unavailable": neither may happen to a real ticket on a healthy server
            self.error = f"{event}: {data}"


def page_text(visit: dict, css_class: str) -> str:
    """The text of the visitor page's <p class="css_class">, as its visitor reads it."""
    found = re.search(f'<p class="{css_class}"[^>]*>(.*?)</p>', visit.get("html", ""), re.S)
    return " ".join(unescape(found.group(1)).split()) if found else ""  # a no-break space too


def shows(visit: dict, expected: dict) -> bool:
    """Whether a phone's visit says what the engine says: the state, the place, the counter."""
    if visit.get("state") != expected["state"]:
        return False
    if expected["state"] == "waiting":
        ahead = expected["ahead"]
        said = text(LANGUAGE, "web_ahead", count=ahead) if ahead else text(LANGUAGE, "web_next")
        return page_text(visit, "place") == said
    if expected["state"] == "called":
        return page_text(visit, "called") == text(
            LANGUAGE, "web_go_to", counter=expected["counter_name"]
        )
    return True


class Office:
    """The clerks and the kiosk: one engine on a thread of its own (engines are not thread-safe)."""

    def __init__(self, db):
        self.thread = ThreadPoolExecutor(max_workers=1)
        self.engine: Engine = self.thread.submit(Engine, db).result()

    async def run(self, fn):
        """`fn(engine)` on the engine's thread."""
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn, self.engine)

    def close(self) -> None:
        self.thread.submit(self.engine.close).result()
        self.thread.shutdown()


def morning(db) -> list[str]:
    """An office with PHONES visitors waiting for A, B and C, clerks at four counters; tokens."""
    config = default_config_text().replace("daily_limit = 40", "")  # C gets a hundred
    with Engine(db, config_text=config) as engine:
        for counter in COUNTERS:
            engine.open_desk(counter, session=f"clerk-{counter}")
        tickets = [engine.issue_ticket("ABC"[n % 3]).ticket for n in range(PHONES)]
        return [engine.visitor_token(ticket) for ticket in tickets]


class Day:
    """The scenario: phones follow, counters call while the kiosk issues, /healthz is asked."""

    def __init__(self, server: Server, office: Office, tokens: list[str]):
        self.server, self.office = server, office
        self.phones = {token: Phone(token) for token in tokens}
        self.health: list[int | str] = []
        self.expected: dict[str, dict] = {}
        self.called: list[str] = []
        self.now_waiting_for = "the phones to connect"

    async def until(self, check, what: str) -> None:
        self.now_waiting_for = what
        while not check():
            await asyncio.sleep(0.02)

    async def ask_health(self, client: httpx.AsyncClient) -> None:
        while True:
            try:
                response = await client.get(f"{self.server.url}/healthz", timeout=10)
                self.health.append(response.status_code)
            except httpx.HTTPError as error:
                self.health.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(HEALTH_EVERY_SECONDS)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=PHONES + 10, max_keepalive_connections=PHONES + 10)
        timeout = httpx.Timeout(10, read=None)  # an event stream is quiet between changes
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            tasks = [
                asyncio.create_task(phone.follow(client, self.server.url))
                for phone in self.phones.values()
            ]
            tasks.append(asyncio.create_task(self.ask_health(client)))
            try:
                await self.until(
                    lambda: all(p.visits or p.error for p in self.phones.values()),
                    "every phone's first visit",
                )
                await self.calls_while_issuing()
                self.expected = await self.office.run(self.engine_says)
                await self.until(self.all_agree, "every phone to show what the engine says")
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def calls_while_issuing(self) -> None:
        """CALLS calls over four counters, a new walk-in after each.

        A counter calls its next visitor once the previous one's phone said where to go,
        as a clerk waits for the visitor who was called: a call's "Go to Loket 3" is never
        replaced by "Thank you" before the server could send it.
        """
        at_counter: dict[str, str] = {}
        for n in range(CALLS):
            counter = "1234"[n % 4]
            previous = self.phones.get(at_counter.get(counter, ""))
            if previous is not None:
                name = COUNTERS[counter]
                await self.until(
                    lambda p=previous, name=name: p.showed_called(name) or bool(p.error),
                    f"{previous.token}'s phone to show its call to {name}",
                )
            at_counter[counter] = await self.office.run(lambda e, c=counter: called_token(e, c))
            self.called.append(at_counter[counter])
            await self.office.run(lambda engine, n=n: engine.issue_ticket("ABC"[n % 3]))

    def engine_says(self, engine: Engine) -> dict[str, dict]:
        """What each phone should show once the day's calls are over."""
        said = {}
        for token in self.phones:
            visit = engine.visit(token)
            said[token] = {
                "state": visit.state,
                "ahead": visit.ahead,
                "counter_name": visit.counter_name,
                "called_at": engine.office.counters[visit.ticket.counter].name
                if visit.ticket.counter
                else None,
            }
        return said

    def all_agree(self) -> bool:
        return all(p.error or self.agrees(p) for p in self.phones.values())

    def agrees(self, phone: Phone) -> bool:
        return shows(phone.last, self.expected[phone.token])


def called_token(engine: Engine, counter: str) -> str:
    """Call the next visitor at `counter`; the called ticket's token."""
    call = engine.call_next(counter)
    assert call.called is not None, "the line ran empty: PHONES is too small"
    return engine.visitor_token(call.called)


def went_back(visits: list[dict]) -> bool:
    """Whether a phone ever showed an earlier state after a later one (called after done)."""
    steps = [ORDER[v["state"]] for v in visits]
    return steps != sorted(steps)


def test_300_phones_follow_their_tickets_while_counters_call(db_path, tmp_path):
    tokens = morning(db_path)
    server = loket_serve(db_path, tmp_path / "serve.log").start()
    office = Office(db_path)
    day = Day(server, office, tokens)
    try:
        asyncio.run(play(day))
        still_serving = server.process.poll() is None
    finally:
        office.close()
        server.stop()
    log = (tmp_path / "serve.log").read_text()
    phones = day.phones.values()
    assert not {p.token: p.error for p in phones if p.error}
    called = {p.token: day.expected[p.token]["called_at"] for p in phones}
    called = {token: name for token, name in called.items() if name}
    assert set(called) == {token for token in day.called if token in day.phones}
    assert called, "no followed ticket was called"
    assert all(day.phones[token].showed_called(name) for token, name in called.items())
    assert not [p.token for p in phones if went_back(p.visits)]
    assert day.health and all(status == 200 for status in day.health), day.health
    assert "Traceback" not in log, log
    assert still_serving, log


async def play(day: Day) -> None:
    """The day within CAP_SECONDS; a phone that never shows what it should fails the test."""
    try:
        async with asyncio.timeout(CAP_SECONDS):
            await day.run()
    except TimeoutError:
        pytest.fail(f"after {CAP_SECONDS} s still waiting for {day.now_waiting_for}")
