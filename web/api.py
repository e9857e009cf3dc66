"""The JSON API under /api/v1: public figures, tickets and check-ins for integrations.

Reads of public figures need no token; writes need a device token (`loket token create`)
sent as `Authorization: Bearer <secret>`. Every answer is JSON; an error is
{"error": "<one sentence>"} with its status code, never a stack trace.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route

from loket import texts
from loket.errors import LoketError, Refused, StorageError
from web.limits import RateLimit
from web.live import counted_stream, sse, whole_number

log = logging.getLogger("loket.web.api")

MAX_BODY_BYTES = 10_000
CHECK_INS_PER_MINUTE = 30
"""Per device token, from every address together: a kiosk scans one visitor every few
seconds at most, while someone guessing appointment references would need thousands of tries."""
CHECK_INS_PER_ADDRESS = 60
"""Per client address, whatever the tokens: a few devices may share one address (a kiosk LAN
behind NAT), but more tokens from one place do not multiply the guesses."""
MAX_CALLS = 100
KEEP_ALIVE_SECONDS = 15
RETRY_SECONDS = 2
CALL_ACTIONS = ("call", "recall")
KIOSK_ROLES = ("kiosk", "integration")
COUNTER_ROLES = ("counter",)
KIOSK_PRIORITY_REFUSED = (
    "A kiosk token may not issue priority tickets: this office's kiosk does not offer them "
    "([kiosk] priority)."
)
UNAVAILABLE = "the office's database cannot be reached right now; try again in a moment"

CHECK_IN_SENTENCES = {
    "accepted": "Welcome: your ticket is {number}.",
    "already_checked_in": "Already checked in: your ticket is {number}.",
    "reinstated": "Welcome back: ticket {number} is in the line again.",
    "called_now": "Ticket {number} is being called now: please go to {counter}.",
    "already_served": "Ticket {number} of this appointment has been served.",
    "missed": "Ticket {number} was already called: please ask at the desk.",
    "too_early": "Too early: check in from {allowed_from}.",
    "too_late": "Too late for this appointment: {reason}.",
    "other_day": "This appointment is on another day: {day}.",
    "cancelled": "This appointment was cancelled.",
    "not_recognised": "Code not recognised: please go to the reception desk.",
}


class ApiError(Exception):
    """An answer other than success: a status code and one sentence for the client."""

    def __init__(self, status: int, sentence: str, headers: dict[str, str] | None = None):
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence
        self.headers = headers or {}


def error_response(status: int, sentence: str, headers: dict[str, str] | None = None):
    """The API's one shape of error."""
    return JSONResponse({"error": sentence}, status_code=status, headers=headers)


def _guarded(endpoint: Callable[[Request], Awaitable[Response]]):
    """Turn every failure of an endpoint into a JSON error; a bug is logged, never shown."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as error:
            return error_response(error.status, error.sentence, error.headers)
        except StorageError:
            return error_response(503, UNAVAILABLE, {"Retry-After": "5"})
        except Refused as error:
            return error_response(409, _sentence(error))
        except LoketError as error:  # a broken office config: staff must fix it
            log.error("API %s %s: %s", request.method, request.url.path, error)
            return error_response(503, "the office cannot serve this right now")
        except Exception:
            log.exception("API %s %s failed", request.method, request.url.path)
            return error_response(500, "the server could not answer this request")

    return guarded


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# reading the request


async def _call(request: Request, fn):
    """Run fn(engine) on the engine's own thread."""
    return await request.app.state.backend.call(fn)


async def _role(request: Request, allowed: tuple[str, ...]) -> str:
    """The device token's role, if it is one of `allowed`; else 401 or 403."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    challenge = {"WWW-Authenticate": 'Bearer realm="loket"'}
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(401, "This needs a device token: Authorization: Bearer <token>.", challenge)
    role = await _call(request, lambda engine: engine.device_role(secret))
    if role is None:
        raise ApiError(401, "This device token is unknown or revoked.", challenge)
    if role not in allowed:
        needed = " or ".join(allowed)
        raise ApiError(403, f"A {role} token may not do this: it needs a {needed} token.")
    return role


async def _body(request: Request, fields: dict[str, type]) -> dict:
    """The request's JSON object, with only `fields` (of their types); at most MAX_BODY_BYTES."""
    length = request.headers.get("content-length", "")
    if whole_number(length) is not None and int(length) > MAX_BODY_BYTES:
        raise _too_big()
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise _too_big()
    if not raw.strip():
        data = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    for name, value in data.items():
        if name not in fields:
            known = ", ".join(fields)
            raise ApiError(400, f"Unknown field {name!r} (known: {known}).")
        if value is not None and not isinstance(value, fields[name]):
            kind = {str: "a string", bool: "true or false"}[fields[name]]
            raise ApiError(400, f"The field {name!r} must be {kind}.")
    return data


def _too_big() -> ApiError:
    return ApiError(413, f"The body is larger than {MAX_BODY_BYTES // 1000} kB.")


def _text(data: dict, name: str, most: int = 200, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or not value.strip():
        if required:
            raise ApiError(400, f"The field {name!r} is required.")
        return None
    if len(value) > most:
        raise ApiError(400, f"The field {name!r} is longer than {most} characters.")
    return value.strip()


def _times(engine, moment: datetime | None, name: str) -> dict:
    """A moment as ISO 8601 UTC and in the office's local time."""
    if moment is None:
        return {name: None, f"{name}_local": None}
    return {
        name: moment.astimezone(UTC).isoformat(),
        f"{name}_local": engine.local(moment).isoformat(),
    }


# public reads


# A city's website may ask for the waiting times on every page view: the answer is read
# once per change of the queue, and again after this many seconds (estimates age).
SERVICES_FRESH_SECONDS = 5


@_guarded
async def services(request: Request) -> JSONResponse:
    """Every service with its line and estimated wait (public)."""
    state = request.app.state
    key = (state.live.generation, int(time.monotonic() // SERVICES_FRESH_SECONDS))
    cached = getattr(state, "services_answer", None)
    if cached is None or cached[0] != key:
        cached = (key, await _call(request, _services))
        state.services_answer = cached
    return JSONResponse(cached[1])


def _services(engine) -> dict:
    office = engine.office
    now = engine.now()
    listed = []
    for status in engine.services():
        svc = office.services[status.code]
        listed.append(
            {
                "code": status.code,
                "name": {language: svc.name(language) for language in office.languages},
                "walk_in": status.walk_in,
                "open": status.open_now,
                **_times(engine, status.opens_at, "opens_at"),
                "waiting": status.waiting,
                "open_counters": status.open_counters,
                "estimated_wait_minutes": status.estimated_wait_minutes,
                "tickets_left": not (status.limit_reached or status.full_today),
            }
        )
    return {"office": office.name, **_times(engine, now, "time"), "services": listed}


@_guarded
async def calls(request: Request) -> JSONResponse:
    """Today's latest calls and recalls, newest first (public; no personal data)."""
    limit = whole_number(request.query_params.get("limit", "10"), 3)
    if limit is None or not 1 <= limit <= MAX_CALLS:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_CALLS}.")
    return JSONResponse(
        await _call(
            request,
            lambda engine: {"calls": [_call_data(engine, e) for e in engine.calls_today(limit)]},
        )
    )


def _call_data(engine, event) -> dict:
    desk = engine.office.counters.get(event.counter or "")
    language = engine.office.languages[0]
    name = desk.name if desk else f"{texts.text(language, 'display_counter')} {event.counter}"
    return {
        "id": event.id,
        "action": event.action,
        "number": event.number,
        "service": event.service,
        "counter": event.counter,
        "counter_name": name,
        **_times(engine, event.at, "at"),
    }


@_guarded
async def calls_stream(request: Request) -> Response:
    """Server-sent events: each call and recall from now (or after Last-Event-ID)."""
    last = request.headers.get("last-event-id", "").strip()
    resumed = whole_number(last)
    if last and resumed is None:
        raise ApiError(400, "Last-Event-ID must be an event id (a whole number).")
    board = request.app.state.live.board
    if resumed is not None:  # a reconnect: it resumes after the last call it had
        after = resumed
    else:
        after = board.last_event_id if board else await _call(request, _last_event_id)
    return counted_stream(request, _call_events(request.app.state.live, after))


def _last_event_id(engine) -> int:
    return engine.last_event_id()


async def _call_events(live, after: int) -> AsyncIterator[str]:
    """The stream's text: `retry`, then each call after `after` as the shared board shows it
    (today's calls: no database read per client), and a comment now and then to keep it open."""
    yield f"retry: {RETRY_SECONDS * 1000}\n\n"
    available = True
    while True:
        seen, board = live.generation, live.board
        if board is None:
            if available:
                yield sse("unavailable", {"error": UNAVAILABLE})
            available = False
        else:
            available = True
            for call in reversed(board.calls):  # the board lists them newest first
                if call.id > after:
                    yield sse(call.action, _board_call(call, board.timezone), call.id)
                    after = call.id
        if await live.next_change(seen, KEEP_ALIVE_SECONDS) == seen:
            yield ": keep-alive\n\n"


def _board_call(call, timezone) -> dict:
    """A call from the live board, in the same shape as `_call_data`."""
    return {
        "id": call.id,
        "action": call.action,
        "number": call.number,
        "service": call.service,
        "counter": call.counter,
        "counter_name": call.counter_name,
        "at": call.at.astimezone(UTC).isoformat(),
        "at_local": call.at.astimezone(timezone).isoformat(),
    }


# writes (device tokens)


@_guarded
async def tickets(request: Request) -> JSONResponse:
    """Issue a walk-in ticket, as the kiosk does (kiosk or integration token)."""
    role = await _role(request, KIOSK_ROLES)
    data = await _body(
        request, {"service": str, "priority": bool, "request_key": str, "language": str}
    )
    service = _text(data, "service", 20, required=True).upper()
    priority = bool(data.get("priority"))
    request_key = _text(data, "request_key", 100)
    language = _text(data, "language", 10)

    def issue(engine) -> dict:
        office = engine.office
        # A reception desk (integration) judges who needs priority; a kiosk is self-service,
        # so its token may ask only when the office's kiosks offer priority tickets.
        if priority and role == "kiosk" and not office.kiosk.priority:
            raise ApiError(403, KIOSK_PRIORITY_REFUSED)
        if service not in office.services:
            raise ApiError(
                404, f"Unknown service {service!r} (known: {', '.join(office.services)})."
            )
        if language is not None and language not in office.languages:
            known = ", ".join(office.languages)
            raise ApiError(400, f"Unknown language {language!r} (this office: {known}).")
        receipt = engine.issue_ticket(service, priority=priority, request_key=request_key)
        ticket = receipt.ticket
        return {
            "number": ticket.number,
            "service": ticket.service,
            "priority": ticket.priority,
            **_times(engine, ticket.arrived_at, "issued_at"),
            "position": receipt.position,
            "estimated_wait_minutes": receipt.estimated_wait_minutes,
            "visitor_url": engine.visitor_url(ticket, language or office.languages[0]),
        }

    return JSONResponse(await _call(request, issue), status_code=201)


def _check_ins(per_token: RateLimit, per_address: RateLimit):
    @_guarded
    async def check_ins(request: Request) -> JSONResponse:
        """Check an appointment in by QR payload or reference (kiosk or integration token)."""
        await _role(request, KIOSK_ROLES)
        secret = request.headers["authorization"].partition(" ")[2].strip()
        counted = (
            (per_token, hashlib.sha256(secret.encode()).hexdigest()),
            (per_address, _address(request)),
        )
        # Both must have room before either counts: a refused attempt uses up nothing.
        seconds = max(limit.retry_after(key) for limit, key in counted)
        if seconds:
            raise ApiError(
                429,
                f"Too many check-in attempts: try again in {seconds} seconds.",
                {"Retry-After": str(seconds)},
            )
        for limit, key in counted:
            limit.allow(key)
        code = _text(await _body(request, {"code": str}), "code", 500, required=True)
        return JSONResponse(await _call(request, lambda engine: _check_in(engine, code)))

    return check_ins


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _check_in(engine, code: str) -> dict:
    result = engine.check_in(code)
    receipt = result.receipt
    number = receipt.ticket.number if receipt else result.number
    fields = {
        "number": number,
        "counter": result.counter,
        "reason": result.reason or "not in time",
        "day": result.day,
        "allowed_from": result.allowed_from and f"{engine.local(result.allowed_from):%H:%M}",
    }
    sentence = CHECK_IN_SENTENCES.get(result.outcome, "Please go to the reception desk.")
    answer = {
        "outcome": result.outcome,
        "accepted": result.accepted,
        "message": sentence.format(**fields),
        "number": number,
        "ticket": None,
    }
    if receipt is not None:
        answer["ticket"] = {
            "number": receipt.ticket.number,
            "service": receipt.ticket.service,
            "position": receipt.position,
            "estimated_wait_minutes": receipt.estimated_wait_minutes,
            "visitor_url": engine.visitor_url(receipt.ticket, engine.office.languages[0]),
        }
    return answer


def _counter_action(action: str):
    @_guarded
    async def counter_action(request: Request) -> JSONResponse:
        """A clerk's tool acts at a counter (counter token): call next, recall, done."""
        await _role(request, COUNTER_ROLES)
        counter = request.path_params["counter"]
        current = _text(await _body(request, {"current": str}), "current", 20)

        def act(engine) -> dict:
            desk = engine.office.counters.get(counter)
            if desk is None:
                known = ", ".join(engine.office.counters)
                raise ApiError(404, f"Unknown counter {counter!r} (known: {known}).")
            answer = {"counter": desk.id, "counter_name": desk.name}
            if action == "next":
                call = engine.call_next(desk.id, current=current)
                called, finished = call.called, call.finished
                answer["finished"] = None if finished is None else finished.number
            else:
                act = engine.recall if action == "recall" else engine.finish
                called = act(desk.id, current=current)
            answer["number"] = None if called is None else called.number
            answer["status"] = None if called is None else called.status
            return answer

        return JSONResponse(await _call(request, act))

    return counter_action


# the document and the rest


@_guarded
async def openapi_document(request: Request) -> JSONResponse:
    """The OpenAPI 3.1 document of this API."""
    from web.openapi import document

    return JSONResponse(document())


def _not_found(api_routes: list[BaseRoute]):
    """JSON for a path the API lacks (404) or a method a path lacks (405)."""

    async def not_found(request: Request) -> JSONResponse:
        allowed = [
            method
            for route in api_routes
            if route.matches(request.scope)[0] == Match.PARTIAL
            for method in sorted(route.methods or ())
        ]
        if allowed:
            return error_response(
                405,
                f"{request.method} is not allowed here (allowed: {', '.join(allowed)}).",
                {"Allow": ", ".join(allowed)},
            )
        return error_response(404, "There is no such API endpoint.")

    return not_found


def routes(
    check_ins_per_minute: int = CHECK_INS_PER_MINUTE,
    check_ins_per_address: int = CHECK_INS_PER_ADDRESS,
) -> list[BaseRoute]:
    """The API's routes, mounted at /api/v1 by web.server.create_app (new rate limits each call)."""
    check_ins = _check_ins(RateLimit(check_ins_per_minute), RateLimit(check_ins_per_address))
    api = [
        Route("/services", services, methods=["GET"]),
        Route("/calls", calls, methods=["GET"]),
        Route("/calls/stream", calls_stream, methods=["GET"]),
        Route("/tickets", tickets, methods=["POST"]),
        Route("/check-ins", check_ins, methods=["POST"]),
        *(
            Route(f"/counters/{{counter}}/{action}", _counter_action(action), methods=["POST"])
            for action in ("next", "recall", "done")
        ),
        Route("/openapi.json", openapi_document, methods=["GET"]),
    ]
    # Last, for every method: JSON for what no route above takes (a function endpoint would
    # otherwise answer only GET, and Starlette's plain-text 405 would answer the rest).
    every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return [*api, Route("/{path:path}", _not_found(api), methods=every)]
