"""One watcher of the database for every open page: it reads what changed once, then wakes them all.

A single task polls `store.data_version()` (SQLite's PRAGMA data_version, or the NOTIFYs that
reached PostgreSQL's LISTEN connection: no round trip) on the engine's thread. When another
process committed, it reads the shared things once: today's calls and the lines. Every
subscriber then wakes once and filters that same `Board`; 300 phones cost 300 wake-ups, not
300 polls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from starlette.responses import StreamingResponse

from loket import texts
from loket.engine import Engine
from loket.errors import StorageError

log = logging.getLogger("loket.web")

POLL_SECONDS = 0.075
CALLS = ("call", "recall")
KEPT_CALLS = 500  # today's calls kept for the displays' history and their audio
BATCH = 500


@dataclass(frozen=True)
class Call:
    """One call or recall as screens show it: never a name, only the number and the counter."""

    id: int
    number: str
    counter: str
    counter_name: str
    service: str
    action: str
    at: datetime


@dataclass(frozen=True)
class Board:
    """What every display shows, read once per change: the office, today's calls, the lines."""

    office_name: str
    message: str
    language: str
    highlight_seconds: int
    timezone: object
    services: dict[str, dict[str, str]]
    """Each service's name in every language: {"A": {"nl": ..., "fr": ...}}, in config order."""
    waiting: dict[str, int]
    calls: tuple[Call, ...]
    """Today's calls and recalls, newest first."""
    last_event_id: int
    day: str
    read_at: datetime

    def call(self, event_id: int) -> Call | None:
        return next((call for call in self.calls if call.id == event_id), None)


@dataclass
class _Followed:
    """The watcher's own state, touched only on the engine's thread."""

    opened: int = -1
    version: object = None
    engine_calls: int = 0
    newest_event: int = 0
    day: str = ""
    last_event_id: int = 0
    calls: deque[Call] = field(default_factory=lambda: deque(maxlen=KEPT_CALLS))


class Live:
    """Watches the database for every page; `board` is the latest shared state.

    Subscribers loop on `await live.next_change(seen, timeout)` and read `live.available`,
    `live.board` and `live.generation` (which grows by one at each change, availability too).
    """

    def __init__(self, backend, poll_seconds: float = POLL_SECONDS):
        self.backend = backend
        self.poll_seconds = poll_seconds
        self.board: Board | None = None
        self.available = False
        self.generation = 0
        self._changed = asyncio.Event()
        self._followed = _Followed()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Read the first board (if the database is there) and start watching."""
        await self.look()
        self._task = asyncio.create_task(self._watch(), name="loket-live")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        self._wake()  # subscribers see the end at their next look

    async def next_change(self, seen: int, timeout: float) -> int:
        """Wait until the generation differs from `seen`, at most `timeout` seconds."""
        if self.generation == seen:
            changed = self._changed
            with suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await changed.wait()
        return self.generation

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.look()
            except Exception:  # the watcher must outlive any one bad read
                log.exception("watching the database failed")

    async def look(self) -> None:
        """One poll: a new board when something changed, 'unavailable' when the database is gone."""
        try:
            board = await self.backend.call(self._read_if_changed)
        except StorageError:
            if self.available or self.generation == 0:
                self.available, self.board = False, None
                self._wake()
            return
        if board is not None or not self.available:
            self.board = board or self.board
            self.available = self.board is not None
            self._wake()

    def _wake(self) -> None:
        self.generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # on the engine's thread

    def _read_if_changed(self, engine: Engine) -> Board | None:
        """A new board if another process committed, the engine was reopened or a day began."""
        followed = self._followed
        if not engine.store.same_file():
            raise StorageError(f"the database {engine.path} was moved, deleted or replaced")
        version = (engine.store.data_version(), self._own_writes(engine))
        fresh = followed.opened != self.backend.opened or engine.today() != followed.day
        if not fresh and version == followed.version:
            return None
        if fresh or engine.refresh_config():  # a new config may rename counters: read anew
            self._load_today(engine)
        else:
            self._read_new_calls(engine)
        followed.opened, followed.version = self.backend.opened, version
        return self._board(engine)

    def _own_writes(self, engine: Engine) -> int:
        """The newest event id, read again only when pages or the API used the engine since
        the last look: data_version tells of other connections' commits, never of this one's
        (a ticket from /join or the API would not reach the displays). One indexed read per
        poll at most, and none while the server is idle."""
        followed = self._followed
        used = self.backend.calls != followed.engine_calls + 1  # +1: this look itself
        followed.engine_calls = self.backend.calls
        if used:
            followed.newest_event = engine.last_event_id()
        return followed.newest_event

    def _load_today(self, engine: Engine) -> None:
        """Today's calls so far (at start, after a reopen and at midnight)."""
        followed = self._followed
        followed.last_event_id = engine.last_event_id()  # first: a call in between comes later
        followed.day = engine.today()
        followed.calls.clear()
        followed.calls.extend(self._call(engine, e) for e in engine.calls_today(limit=KEPT_CALLS))

    def _read_new_calls(self, engine: Engine) -> None:
        followed = self._followed
        while True:
            events = engine.events_after(followed.last_event_id, CALLS, limit=BATCH)
            if events:
                followed.last_event_id = events[-1].id
            for event in events:
                if event.number is not None:
                    followed.calls.appendleft(self._call(engine, event))
            if len(events) < BATCH:
                break

    @staticmethod
    def _call(engine: Engine, event) -> Call:
        counter = event.counter or ""
        desk = engine.office.counters.get(counter)
        language = engine.office.languages[0]
        name = desk.name if desk else f"{texts.text(language, 'display_counter')} {counter}"
        return Call(
            event.id, event.number, counter, name, event.service or "", event.action, event.at
        )

    def _board(self, engine: Engine) -> Board:
        office = engine.office
        language = office.languages[0]
        return Board(
            office_name=office.name,
            message=office.display.message,
            language=language,
            highlight_seconds=office.display.highlight_seconds,
            timezone=office.timezone,
            services={
                code: {lang: s.name(lang) for lang in texts.LANGUAGES}
                for code, s in office.services.items()
            },
            waiting=engine.waiting_counts(),
            calls=tuple(self._followed.calls),
            last_event_id=self._followed.last_event_id,
            day=self._followed.day,
            read_at=engine.now(),
        )


def sse(name: str, data: dict, event_id: int | None = None) -> str:
    """One server-sent event: its name, JSON data and, for a call, its id (Last-Event-ID)."""
    head = "" if event_id is None else f"id: {event_id}\n"
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def whole_number(text: str, most_digits: int = 18) -> int | None:
    """`text` as a whole number, if it is one in ASCII digits ("²" and "٣" pass isdigit(),
    and int() then refuses the first)."""
    if re.fullmatch(f"[0-9]{{1,{most_digits}}}", text) is None:
        return None
    return int(text)


def counted_stream(request, stream) -> StreamingResponse:
    """A server-sent event stream, counted in app.state.streams (for /healthz) while open."""
    state = request.app.state

    async def counted():
        state.streams += 1
        try:
            async for chunk in stream:
                yield chunk
        finally:
            state.streams -= 1

    return StreamingResponse(
        counted(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
