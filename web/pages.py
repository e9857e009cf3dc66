"""The pages: the waiting room's TV (/display), the visitor's phone (/t/TOKEN), /join, /healthz."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import logging
import math
import shutil
import struct
import wave
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)

from loket import texts
from loket.announce import announcement, speech_command
from loket.errors import LoketError, Refused, StorageError
from web.limits import RateLimit
from web.live import Board, Call, counted_stream, sse, whole_number

log = logging.getLogger("loket.web")

HERE = Path(__file__).parent
KEEP_ALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
MAX_ANNOUNCED = 10  # as the terminal display: beyond this, older announcements are stale
MAX_HISTORY = 50
ANNOUNCE_WITHIN_SECONDS = 120
FINAL_STATES = ("done", "no_show", "cancelled", "expired")
VOICES = ("nl", "fr", "en", "de")

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class BadRequest(LoketError):
    """A page's address has a parameter that makes no sense: answered 400 with this sentence."""


# the waiting-room display


@dataclass(frozen=True)
class DisplayFilters:
    """The same choices as `loket display`: which services and counters, the voice, history."""

    services: frozenset[str] = frozenset()
    counters: frozenset[str] = frozenset()
    voice: str | None = None
    history: int = 6
    lang: str | None = None

    @classmethod
    def from_query(cls, query, board: Board | None) -> DisplayFilters:
        """Read ?services=A,B&counters=1,2&voice=nl&history=6; raises BadRequest."""
        voice = query.get("voice", "off")
        if voice not in (*VOICES, "off"):
            raise BadRequest(f"voice={voice}: expected one of nl, fr, en, de or off")
        history = query.get("history", "6")
        if whole_number(history) is None or int(history) > MAX_HISTORY:
            raise BadRequest(f"history={history}: expected 0 to {MAX_HISTORY} earlier calls")
        lang = query.get("lang") or None
        if lang is not None and lang not in texts.LANGUAGES:
            raise BadRequest(f"lang={lang}: expected one of nl, fr, en, de")
        return cls(
            services=_codes(query.get("services", ""), "services", board and board.services),
            counters=_codes(query.get("counters", ""), "counters", None, upper=False),
            voice=None if voice == "off" else voice,
            history=int(history),
            lang=lang,
        )

    def wants(self, call: Call) -> bool:
        return (not self.services or call.service in self.services) and (
            not self.counters or call.counter in self.counters
        )

    def query(self) -> str:
        """The filters as a query string, for the page's event stream and audio."""
        parts = {
            "services": ",".join(sorted(self.services)),
            "counters": ",".join(sorted(self.counters)),
            "voice": self.voice or "",
            "history": str(self.history),
            "lang": self.lang or "",
        }
        return "&".join(f"{key}={quote(value)}" for key, value in parts.items() if value)


def _codes(text: str, name: str, known, upper: bool = True) -> frozenset[str]:
    """Service codes in either case; counter ids (upper=False) as the config spells them."""
    parts = (part.strip() for part in text.split(",") if part.strip())
    codes = frozenset(part.upper() if upper else part for part in parts)
    unknown = sorted(codes - set(known)) if known else []
    if unknown:
        raise BadRequest(f"{name}: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    return codes


def display_calls(board: Board, filters: DisplayFilters) -> list[Call]:
    """The latest call first, then up to `history` earlier ones; a number recalled shows once."""
    shown: list[Call] = []
    numbers: set[str] = set()
    for call in board.calls:
        if filters.wants(call) and call.number not in numbers:
            numbers.add(call.number)
            shown.append(call)
            if len(shown) > filters.history:
                break
    return shown


def render_board(board: Board, filters: DisplayFilters) -> str:
    """The display's changing part: the latest call, earlier calls, the lines, the message."""
    lang = filters.lang or board.language
    calls = display_calls(board, filters)
    waiting = [
        (code, names[lang], board.waiting.get(code, 0))
        for code, names in board.services.items()
        if not filters.services or code in filters.services
    ]
    return templates.get_template("display_board.html").render(
        board=board,
        latest=calls[0] if calls else None,
        earlier=calls[1:],
        waiting=waiting,
        t=lambda key, **f: texts.text(lang, key, **f),
    )


async def display(request: Request) -> Response:
    """The TV page: a shell that the event stream fills, with the first board already in it."""
    live = request.app.state.live
    filters = DisplayFilters.from_query(request.query_params, live.board)
    board = live.board if live.available else None
    lang = filters.lang or (board.language if board else texts.LANGUAGES[0])
    return _page(
        "display.html",
        lang=lang,
        board_html=render_board(board, filters) if board else "",
        unavailable=[(code, texts.text(code, "display_unavailable")) for code in texts.LANGUAGES],
        query=filters.query(),
        title=board.office_name if board else "Loket",
        sound_off=texts.text(lang, "web_sound_off"),
    )


async def display_events(request: Request) -> Response:
    """The display's server-sent events: a fresh board at each change, with what to announce."""
    live = request.app.state.live
    filters = DisplayFilters.from_query(request.query_params, live.board)
    last = request.headers.get("last-event-id", "")
    return counted_stream(request, _display_stream(request, filters, whole_number(last)))


async def _display_stream(request: Request, filters: DisplayFilters, last: int | None):
    live = request.app.state.live
    clock = request.app.state.backend.clock
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    seen, announced, quiet = -1, last, 0
    while True:
        generation = await live.next_change(seen, KEEP_ALIVE_SECONDS)
        if generation == seen:
            quiet += 1
            # Each minute the clock is set again: a TV's own clock may be wrong, and the
            # office's offset from UTC changes twice a year.
            yield sse("clock", _clock(clock, live.board)) if quiet % 4 == 0 else ": keep-alive\n\n"
            continue
        seen = generation
        board = live.board
        if not live.available or board is None:
            yield sse("unavailable", {})
            continue
        if announced is None or announced > board.last_event_id:  # a new stream, or a new database
            announced = board.last_event_id
        fresh = [
            c
            for c in reversed(board.calls)
            if c.id > announced and filters.wants(c) and _recent(c, board)
        ]
        announced = board.last_event_id
        data = {
            "html": render_board(board, filters),
            "announce": [_announced(call, filters) for call in fresh[-MAX_ANNOUNCED:]],
            "highlight_seconds": board.highlight_seconds if fresh else 0,
            **_clock(clock, board),
        }
        yield sse("board", data, board.last_event_id)


def _recent(call: Call, board: Board) -> bool:
    """Made in the last two minutes: a call missed during a long outage is not said any more."""
    return (board.read_at - call.at).total_seconds() < ANNOUNCE_WITHIN_SECONDS


def _announced(call: Call, filters: DisplayFilters) -> dict:
    """What the page queues for a call: its id, what is said, and the audio to play."""
    item = {"id": call.id, "number": call.number, "counter": call.counter_name}
    if filters.voice:
        item["text"] = announcement(call.number, call.counter, filters.voice)
        item["audio"] = f"/display/audio/{call.id}.wav?voice={filters.voice}"
    return item


def _clock(clock, board: Board | None) -> dict:
    """The server's time and the office's offset from UTC, for the page's clock."""
    now = clock()
    zone = board.timezone if board else UTC
    offset = now.astimezone(zone).utcoffset()
    return {
        "now_ms": int(now.timestamp() * 1000),
        "offset_minutes": int(offset.total_seconds() // 60),
    }


# Spoken calls are WAV files that espeak-ng makes on the server, not the browser's own speech:
# TV browsers and signage players often have no speech voices at all, and the web page then
# says each call in the same voice as the terminal display (loket.announce).
AUDIO_KEPT = 64
SPEAKING_AT_ONCE = 2  # espeak-ng processes at most: the page is public, the server small
SPEAKING_QUEUED = 8  # sentences being made or waiting for espeak-ng; beyond, 503 (try later)
SPEAK_RETRY_SECONDS = 2
SPEAK_SECONDS = 20


class Voice:
    """The WAVs of recent calls, each made once however many screens ask at the same time."""

    def __init__(self):
        self.made: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self.making: dict[tuple[int, str], asyncio.Task] = {}
        self.speakers = asyncio.Semaphore(SPEAKING_AT_ONCE)

    async def sound(self, call: Call, voice: str) -> bytes | None:
        """The call's sentence as WAV; None when espeak-ng is missing or fails, or when
        SPEAKING_QUEUED other sentences are already being made or waiting for it."""
        key = (call.id, voice)
        if key in self.made:
            return self.made[key]
        task = self.making.get(key)
        if task is None:
            if len(self.making) >= SPEAKING_QUEUED:
                return None
            sentence = announcement(call.number, call.counter, voice)
            task = self.making[key] = asyncio.create_task(self._speak(sentence, voice))
            task.add_done_callback(lambda done: self._keep(key, done))
        return await asyncio.shield(task)  # one screen giving up must not stop it for others

    async def _speak(self, sentence: str, voice: str) -> bytes | None:
        async with self.speakers:
            return await _speak(sentence, voice)

    def _keep(self, key: tuple[int, str], task: asyncio.Task) -> None:
        del self.making[key]
        sound = None if task.cancelled() or task.exception() else task.result()
        if sound is not None:
            self.made[key] = sound
            while len(self.made) > AUDIO_KEPT:
                self.made.popitem(last=False)


async def display_audio(request: Request) -> Response:
    """A call's sentence as WAV, for the calls on today's board only: nothing else is spoken."""
    voice = request.query_params.get("voice", "")
    board = request.app.state.live.board
    call = board.call(request.path_params["event_id"]) if board else None
    if voice not in VOICES or call is None:
        return Response("no such announcement", status_code=404, media_type="text/plain")
    sound = await request.app.state.voice.sound(call, voice)
    if sound is None:
        return Response(
            "no voice on this server right now",
            status_code=503,
            media_type="text/plain",
            headers={"Retry-After": str(SPEAK_RETRY_SECONDS)},
        )
    return Response(sound, media_type="audio/wav", headers={"Cache-Control": "max-age=86400"})


async def _speak(sentence: str, voice: str) -> bytes | None:
    """The sentence as espeak-ng's WAV on stdout; None when espeak-ng is missing or fails."""
    program = shutil.which("espeak-ng")
    if program is None:
        return None
    command = speech_command(sentence, voice, program)
    command[-1:-1] = ["--stdout"]
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError as error:
        log.warning("espeak-ng failed: %s", error)
        return None
    try:
        async with asyncio.timeout(SPEAK_SECONDS):
            sound, _ = await process.communicate()
    except TimeoutError:
        log.warning("espeak-ng took longer than %s s", SPEAK_SECONDS)
        return None
    finally:
        if process.returncode is None:  # timed out or cancelled: a hung espeak-ng goes too
            process.kill()
    return sound if process.returncode == 0 and sound.startswith(b"RIFF") else None


@lru_cache(maxsize=1)
def chime_wav() -> bytes:
    """A two-tone chime (E5 then C5, each fading out), made once: no file to ship or lose."""
    rate = 22050
    frames = bytearray()
    for frequency in (659.25, 523.25):
        for i in range(int(rate * 0.55)):
            t = i / rate
            level = 0.5 * math.exp(-4.5 * t) * min(1.0, t * 200)
            frames += struct.pack("<h", int(32767 * level * math.sin(2 * math.pi * frequency * t)))
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(bytes(frames))
    return out.getvalue()


async def chime(request: Request) -> Response:
    return Response(chime_wav(), media_type="audio/wav", headers={"Cache-Control": "max-age=86400"})


# the visitor's page


def _language(request: Request, office=None) -> str:
    lang = request.query_params.get("lang", "")
    if lang in texts.LANGUAGES:
        return lang
    return office.languages[0] if office else texts.LANGUAGES[0]


async def _visit(request: Request, action: str = "visit"):
    """The visit of the token in the path, read (or changed) on the engine's thread."""
    token = request.path_params["token"]
    return await request.app.state.backend.call(lambda engine: getattr(engine, action)(token))


def render_visit(visit, lang: str, token: str, note: str = "") -> str:
    """The visitor page's changing part: number, place in line, wait, the call, the buttons."""
    return templates.get_template("visit_main.html").render(
        visit=visit,
        lang=lang,
        token=token,
        note=note,
        service=visit.service_names.get(lang) or next(iter(visit.service_names.values()), ""),
        bring=visit.bring.get(lang) or next(iter(visit.bring.values()), ()),
        t=lambda key, **f: texts.text(lang, key, **f),
    )


async def visit_page(request: Request, note: str = "", status: int = 200) -> Response:
    """/t/TOKEN: the ticket followed live; works without JavaScript too."""
    token = request.path_params["token"]
    lang = _language(request)
    try:
        visit = await _visit(request)
    except Refused:
        return _not_found(lang)
    note_key = "" if note else _note_key(request)
    note = note or _note(request, lang)
    return _page(
        "visit.html",
        status=status,
        lang=lang,
        token=token,
        note_key=note_key,
        visit=visit,
        main_html=render_visit(visit, lang, token, note),
        t=lambda key, **f: texts.text(lang, key, **f),
        title=visit.ticket.number,
        final=visit.state in FINAL_STATES,
    )


NOTES = {"more_time": "web_more_time_done", "left": "web_left"}


def _note_key(request: Request) -> str:
    """The button that led here (?note=more_time), or ""."""
    key = request.query_params.get("note", "")
    return key if key in NOTES else ""


def _note(request: Request, lang: str) -> str:
    """A sentence after a button's redirect (?note=more_time)."""
    key = _note_key(request)
    return texts.text(lang, NOTES[key]) if key else ""


async def visit_events(request: Request) -> Response:
    """The visitor page's server-sent events: the page's main part anew at each change."""
    token = request.path_params["token"]
    lang = _language(request)
    return counted_stream(request, _visit_stream(request, token, lang, _note(request, lang)))


async def _visit_stream(request: Request, token: str, lang: str, note: str):
    live = request.app.state.live
    backend = request.app.state.backend
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    seen, sent = -1, None
    while True:
        generation = await live.next_change(seen, KEEP_ALIVE_SECONDS)
        if generation == seen:
            yield ": keep-alive\n\n"
            continue
        seen = generation
        try:
            visit = await backend.call(lambda engine: engine.visit(token))
        except StorageError:
            if sent != "unavailable":
                yield sse("unavailable", {"text": texts.text(lang, "web_unavailable")})
                sent = "unavailable"
            continue
        except Refused:
            yield sse("gone", {})
            return
        # The page's note ("you moved back") stays while the ticket waits, as on the page itself.
        html = render_visit(visit, lang, token, note if visit.state == "waiting" else "")
        if html != sent:
            sent = html
            yield sse("visit", _visit_data(visit, html))
        if visit.state in FINAL_STATES:
            yield sse("final", {})
            return  # nothing will change any more: the page stops listening


def _visit_data(visit, html: str) -> dict:
    """What the page's script needs besides the HTML: when to vibrate and sound."""
    ticket = visit.ticket
    called = ticket.called_at.isoformat() if ticket.called_at else ""
    return {
        "html": html,
        "state": visit.state,
        "near_turn": bool(visit.near_turn),
        "call": f"{called}#{ticket.recalls}" if visit.state == "called" else "",
    }


async def visit_leave(request: Request) -> Response:
    """GET asks to confirm; POST cancels the ticket and goes back to the page (303)."""
    token = request.path_params["token"]
    lang = _language(request)
    if request.method == "GET":
        try:
            visit = await _visit(request)
        except Refused:
            return _not_found(lang)
        return _page(
            "visit_leave.html",
            lang=lang,
            token=token,
            visit=visit,
            title=visit.ticket.number,
            t=lambda key, **f: texts.text(lang, key, **f),
        )
    return await _visit_action(request, "leave_line", "left")


async def visit_more_time(request: Request) -> Response:
    return await _visit_action(request, "postpone", "more_time")


async def _visit_action(request: Request, action: str, note: str) -> Response:
    """Do a button's change and redirect back; a refusal is shown on the page (409)."""
    token = request.path_params["token"]
    lang = _language(request)
    try:
        await _visit(request, action)
    except Refused:
        try:
            await _visit(request)
        except Refused:
            return _not_found(lang)
        return await visit_page(request, texts.text(lang, "web_not_possible"), status=409)
    return RedirectResponse(f"/t/{token}?lang={lang}&note={note}", status_code=303)


def _not_found(lang: str) -> Response:
    return _message(lang, "web_not_found_title", "web_not_found", status=404)


# joining the line from the waiting room


# One address may be a phone, or every phone of the city hall's guest wifi behind one
# router: a per-minute brake only, never a daily cap that would shut /join for the hall.
ADDRESS_PER_MINUTE = 5


@dataclass
class JoinLimits:
    """/join's limits: per minute for the office and per address, per day per phone (a
    signed cookie), and the key that signs that cookie."""

    secret: bytes
    per_minute: RateLimit | None = None
    per_address: RateLimit = field(default_factory=lambda: RateLimit(ADDRESS_PER_MINUTE))

    def office_allows(self, per_minute: int) -> bool:
        if self.per_minute is None or self.per_minute.per_minute != per_minute:
            self.per_minute = RateLimit(per_minute)
        return self.per_minute.allow("office")

    def sign(self, value: str) -> str:
        signature = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{value}.{signature}"

    def taken_today(self, cookie: str | None, day: str) -> int:
        """Tickets this phone took today, by its signed cookie ("DAY:COUNT.SIGNATURE")."""
        value, _, signature = (cookie or "").rpartition(".")
        if not value or not hmac.compare_digest(self.sign(value), f"{value}.{signature}"):
            return 0
        cookie_day, _, count = value.partition(":")
        known = whole_number(count) if cookie_day == day else None
        return known or 0


JOIN_COOKIE = "loket_join"
MINUTE = 60


async def join(request: Request) -> Response:
    """/join: pick a service and take a ticket, as at the kiosk (only with `[web] join = true`)."""
    backend = request.app.state.backend

    def read(engine):
        return engine.office, engine.services(), engine.today(), _seconds_to_midnight(engine)

    try:
        office, services, day, until_tomorrow = await backend.call(read)
    except StorageError:
        return unavailable(request, _language(request))
    lang = _language(request, office)
    if not office.web.join:
        return _message(lang, "web_not_found_title", "web_join_off", status=404)
    open_now = [
        s for s in services if s.walk_in and s.open_now and not s.limit_reached and not s.full_today
    ]
    if request.method == "POST":
        codes = {s.code for s in open_now}
        return await _join_line(request, office, lang, codes, day, until_tomorrow)
    return _page(
        "join.html",
        lang=lang,
        services=[(s, office.services[s.code].name(lang)) for s in open_now],
        title=office.name,
        t=lambda key, **f: texts.text(lang, key, **f),
    )


def _seconds_to_midnight(engine) -> int:
    now = engine.local(engine.now())
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


async def _join_line(
    request: Request, office, lang: str, open_codes: set[str], day: str, until_tomorrow: int
) -> Response:
    """Issue the ticket and go to its page. A service not open now is refused before any
    count, so that bad requests use up nobody's allowance; then the limits per phone, per
    address (a minute) and the office's per minute."""
    limits: JoinLimits = request.app.state.join_limits
    web = office.web
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    code = (form.get("service") or [""])[0].strip().upper()
    if code not in open_codes:
        return _message(lang, "web_join_refused", "web_join_closed", 400)
    address = request.client.host if request.client else ""
    taken = limits.taken_today(request.cookies.get(JOIN_COOKIE), day)
    if taken >= web.join_per_phone:
        return _refused(lang, "web_join_per_phone", until_tomorrow, count=taken)
    if not limits.per_address.allow(address):
        return _refused(lang, "web_join_busy", limits.per_address.retry_after(address))
    if not limits.office_allows(web.join_per_minute):
        return _refused(lang, "web_join_busy", MINUTE)

    def take(engine):
        receipt = engine.issue_ticket(code)
        return engine.visitor_token(
            receipt.ticket
        ), engine.public_url or engine.office.web.public_url

    try:
        token, public_url = await request.app.state.backend.call(take)
    except Refused:
        return _message(lang, "web_join_refused", "web_join_closed", 409)
    response = RedirectResponse(f"/t/{token}?lang={lang}", status_code=303)
    response.set_cookie(
        JOIN_COOKIE,
        limits.sign(f"{day}:{taken + 1}"),
        max_age=86400,
        httponly=True,
        samesite="lax",
        secure=(public_url or "").startswith("https://"),
    )
    return response


def _refused(lang: str, sentence: str, retry_after: int, **fields) -> HTMLResponse:
    response = _message(lang, "web_join_refused", sentence, 429, **fields)
    response.headers["Retry-After"] = str(retry_after)
    return response


# health


async def healthz(request: Request) -> Response:
    """For the city's monitoring: 200 while the database answers, else 503 ("degraded")."""
    live = request.app.state.live
    board = live.board if live.available else None
    data = {
        "status": "ok" if live.available else "degraded",
        "database": live.available,
        "office": board.office_name if board else None,
        "event_streams": request.app.state.streams,
    }
    return JSONResponse(data, status_code=200 if live.available else 503)


# shared helpers


def _page(template: str, status: int = 200, **context) -> HTMLResponse:
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)


def _message(lang: str, title: str, sentence: str, status: int, **fields) -> HTMLResponse:
    """A page with one sentence: not found, refused, unavailable."""
    return _page(
        "message.html",
        status=status,
        lang=lang,
        title=texts.text(lang, title),
        sentence=texts.text(lang, sentence, **fields),
    )


UNAVAILABLE_RETRY_SECONDS = 10


def unavailable(request: Request, lang: str) -> HTMLResponse:
    """503 while the database is gone; a GET page reloads itself, for phones without JavaScript."""
    refresh = UNAVAILABLE_RETRY_SECONDS if request.method == "GET" else None
    response = _page(
        "message.html",
        status=503,
        lang=lang,
        title=texts.text(lang, "web_unavailable_title"),
        sentence=texts.text(lang, "web_unavailable"),
        refresh=refresh,
    )
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
    return response
