"""The JSON API under /api/v1: public figures, device tokens, tickets, check-ins, counters."""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from loket.cli import main
from loket.config import default_config_text
from loket.errors import StorageError
from loket.storage import is_url
from tests.conftest import busy_morning, clerks_at
from web import api
from web.limits import RateLimit
from web.openapi import document

pytestmark = pytest.mark.backends

API = "/api/v1"


def create_app(db, clock=None, public_url=None):
    """The real server's app (web.server), which mounts the API at /api/v1."""
    from web.server import create_app

    return create_app(str(db), clock=clock, public_url=public_url)


@pytest.fixture
def client(office, db_path, clock):
    """A test client of the server on the test's office (the `office` engine sets things up)."""
    with TestClient(create_app(db_path, clock)) as client:
        yield client


def token(office, role: str, name: str = "") -> dict:
    """A new device token's Authorization header."""
    return {"Authorization": f"Bearer {office.create_device_token(role, name)}"}


# public reads


def test_services_show_each_line_and_wait_in_every_language_without_a_token(office, client):
    office.issue_ticket("A")
    office.issue_ticket("A")
    answer = client.get(f"{API}/services")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    services = {s["code"]: s for s in body["services"]}
    assert list(services) == list(office.office.services)
    assert services["A"]["waiting"] == 2 and services["B"]["waiting"] == 0
    assert set(services["A"]["name"]) == set(office.office.languages)
    assert services["A"]["name"]["fr"] == office.office.services["A"].name("fr")
    assert services["D"]["walk_in"] is False
    assert body["time"] == "2026-12-01T08:00:00+00:00"
    assert body["time_local"] == "2026-12-01T09:00:00+01:00"
    assert {"open", "estimated_wait_minutes", "tickets_left"} <= set(services["A"])


def test_services_are_read_once_per_change_and_follow_every_change(office, client):
    def waiting() -> int:
        return client.get(f"{API}/services").json()["services"][0]["waiting"]

    app = client.app
    assert waiting() == 0
    first = app.state.services_answer
    assert waiting() == 0 and app.state.services_answer is first  # no change: no new read
    generation = app.state.live.generation
    office.issue_ticket("A")  # another connection, as a kiosk would
    deadline = time.monotonic() + 10
    while app.state.live.generation == generation and time.monotonic() < deadline:
        time.sleep(0.02)
    assert waiting() == 1


def test_calls_name_the_counter_newest_first_and_no_visitor(office, client, clock):
    busy_morning(office, clock)  # an appointment of "Not Shown" is among the calls
    answer = client.get(f"{API}/calls", params={"limit": 3})
    assert answer.status_code == 200
    calls = answer.json()["calls"]
    assert [c["action"] for c in calls] == ["recall", "call", "call"]
    assert calls[0]["number"] == calls[1]["number"] and calls[0]["counter"] == "1"
    assert calls[0]["counter_name"] == office.office.counters["1"].name
    assert calls[0]["at_local"].endswith("+01:00") and calls[0]["at"].endswith("+00:00")
    assert [c["id"] for c in calls] == sorted((c["id"] for c in calls), reverse=True)
    assert "Not Shown" not in answer.text


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1", "", "²", "٣", "1" * 5000])
def test_a_bad_calls_limit_is_a_400_with_a_sentence(client, limit):
    answer = client.get(f"{API}/calls", params={"limit": limit})
    assert answer.status_code == 400
    assert answer.json() == {"error": "limit must be a whole number from 1 to 100."}


# device tokens


def test_a_kiosk_token_issues_a_ticket_with_its_place_and_phone_page(office, db_path, clock):
    app = create_app(db_path, clock, public_url="https://loket.example.be")
    with TestClient(app) as client:
        office.issue_ticket("A")
        answer = client.post(
            f"{API}/tickets",
            json={"service": "a", "language": "fr"},
            headers=token(office, "kiosk"),
        )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["number"] == "A002" and body["service"] == "A" and body["position"] == 2
    assert body["issued_at_local"] == "2026-12-01T09:00:00+01:00"
    assert body["visitor_url"].startswith("https://loket.example.be/t/")
    assert body["visitor_url"].endswith("?lang=fr")
    assert office.ticket("A002").status == "waiting"


def test_a_retried_request_key_gets_the_same_ticket(office, client):
    headers = token(office, "integration")
    ticket = {"service": "B", "priority": True, "request_key": "booking-42"}
    first = client.post(f"{API}/tickets", json=ticket, headers=headers).json()
    again = client.post(f"{API}/tickets", json=ticket, headers=headers).json()
    assert first["number"] == again["number"] == "B001"
    assert first["priority"] is True and first["visitor_url"] is None
    assert office.services()[1].issued_today == 1


def test_a_kiosk_token_gets_priority_tickets_only_when_the_kiosk_offers_them(
    office, db_path, clock
):
    wish = {"service": "A", "priority": True}
    with TestClient(create_app(db_path, clock)) as client:
        refused = client.post(f"{API}/tickets", json=wish, headers=token(office, "kiosk"))
        desk = client.post(f"{API}/tickets", json=wish, headers=token(office, "integration"))
    assert (refused.status_code, refused.json()) == (403, {"error": api.KIOSK_PRIORITY_REFUSED})
    assert desk.status_code == 201 and desk.json()["priority"] is True
    assert office.waiting_counts()["A"] == 1
    office.init(default_config_text().replace("\npriority = false", "\npriority = true"))
    assert office.office.kiosk.priority
    with TestClient(create_app(db_path, clock)) as client:
        offered = client.post(f"{API}/tickets", json=wish, headers=token(office, "kiosk"))
    assert offered.status_code == 201 and offered.json()["priority"] is True


def test_a_write_without_a_token_is_refused_and_changes_nothing(office, client):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic a2lvc2s="}):
        answer = client.post(f"{API}/tickets", json={"service": "A"}, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "device token" in answer.json()["error"]
    assert office.waiting_counts()["A"] == 0


def test_an_unknown_and_a_revoked_token_are_refused(office, client, db_path, clock):
    forged = {"Authorization": "Bearer loket_" + "x" * 43}
    answer = client.post(f"{API}/tickets", json={"service": "A"}, headers=forged)
    assert answer.status_code == 401
    headers = token(office, "kiosk", "entrance")
    assert client.post(f"{API}/tickets", json={"service": "A"}, headers=headers).status_code == 201
    assert main(["--db", str(db_path), "token", "revoke", "1"], clock=clock) == 0
    answer = client.post(f"{API}/tickets", json={"service": "A"}, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"error": "This device token is unknown or revoked."}
    assert office.waiting_counts()["A"] == 1


def test_a_token_of_the_wrong_role_is_forbidden(office, client):
    counter = token(office, "counter")
    answer = client.post(f"{API}/tickets", json={"service": "A"}, headers=counter)
    assert answer.status_code == 403
    assert answer.json()["error"] == (
        "A counter token may not do this: it needs a kiosk or integration token."
    )
    kiosk = token(office, "kiosk")
    assert client.post(f"{API}/counters/1/next", headers=kiosk).status_code == 403
    assert client.post(f"{API}/check-ins", json={"code": "x"}, headers=counter).status_code == 403
    assert office.waiting_counts()["A"] == 0


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"service": "A"', 400, "The body is not valid JSON."),
        (b"\xff\xfe{}", 400, "The body is not valid JSON."),
        (b'["A"]', 400, "The body must be a JSON object."),
        (b"", 400, "The field 'service' is required."),
        (b'{"service": " "}', 400, "The field 'service' is required."),
        (b'{"service": 1}', 400, "The field 'service' must be a string."),
        (
            b'{"service": "A", "priority": "yes"}',
            400,
            "The field 'priority' must be true or false.",
        ),
        (
            b'{"servcie": "A"}',
            400,
            "Unknown field 'servcie' (known: service, priority, request_key, language).",
        ),
        (
            b'{"service": "A", "language": "es"}',
            400,
            "Unknown language 'es' (this office: nl, fr, en, de).",
        ),
        (b'{"service": "Z"}', 404, "Unknown service 'Z' (known: A, B, C, D)."),
        (b'{"service": "D"}', 409, "Service D (Building and housing) takes appointments only."),
    ],
)
def test_a_bad_ticket_request_gets_its_status_and_one_sentence(office, client, body, status, error):
    headers = {**token(office, "kiosk"), "Content-Type": "application/json"}
    answer = client.post(f"{API}/tickets", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (status, {"error": error})
    assert sum(office.waiting_counts().values()) == 0


def test_a_body_over_ten_kilobytes_is_refused_unread(office, client):
    headers = token(office, "kiosk")
    big = json.dumps({"service": "A", "request_key": "x" * 20_000})
    answer = client.post(f"{API}/tickets", content=big, headers=headers)
    assert answer.status_code == 413 and "10 kB" in answer.json()["error"]

    def chunks():  # no Content-Length: the cap holds while reading
        for _ in range(30):
            yield b" " * 1000

    answer = client.post(f"{API}/tickets", content=chunks(), headers=headers)
    assert answer.status_code == 413
    assert office.waiting_counts()["A"] == 0


# check-ins


def test_a_check_in_hands_out_a_ticket_and_a_refusal_says_why(office, client, clock):
    booking = office.add_appointment("A", clock.now + timedelta(minutes=10), name="Jan Peeters")
    headers = token(office, "kiosk")
    answer = client.post(f"{API}/check-ins", json={"code": booking.reference}, headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] is True and body["outcome"] == "accepted"
    assert body["ticket"]["number"] == body["number"] == office.ticket(body["number"]).number
    assert body["message"] == f"Welcome: your ticket is {body['number']}."
    assert "Jan Peeters" not in answer.text
    again = client.post(f"{API}/check-ins", json={"code": booking.qr_payload}, headers=headers)
    assert again.json()["outcome"] == "already_checked_in"
    unknown = client.post(f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=headers).json()
    assert unknown == {
        "outcome": "not_recognised",
        "accepted": False,
        "message": "Code not recognised: please go to the reception desk.",
        "number": None,
        "ticket": None,
    }
    missing = client.post(f"{API}/check-ins", json={}, headers=headers)
    assert missing.status_code == 400


def test_check_in_attempts_are_limited_per_client(office, client):
    kiosk, tablet = token(office, "kiosk"), token(office, "integration")
    for _ in range(api.CHECK_INS_PER_MINUTE):
        answer = client.post(f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=kiosk)
        assert answer.status_code == 200
    answer = client.post(f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=kiosk)
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert answer.json()["error"].startswith("Too many check-in attempts: try again in ")
    other = client.post(f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=tablet)
    assert other.status_code == 200
    # The kiosk's refused attempt used up nothing: the tablet has the address's other 29.
    for _ in range(api.CHECK_INS_PER_ADDRESS - api.CHECK_INS_PER_MINUTE - 1):
        answer = client.post(f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=tablet)
        assert answer.status_code == 200
    # More tokens from one address do not multiply the guesses.
    third = client.post(
        f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=token(office, "kiosk")
    )
    assert third.status_code == 429 and 1 <= int(third.headers["retry-after"]) <= 60


def test_a_token_has_one_check_in_budget_whatever_address_it_claims(office, db_path, clock):
    kiosk = token(office, "kiosk")
    # Behind a proxy (`loket serve --behind-proxy`), X-Forwarded-For is the client's address.
    with (
        serving(create_app(db_path, clock), proxy_headers=True) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        for _ in range(api.CHECK_INS_PER_MINUTE):
            answer = http.post(f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=kiosk)
            assert answer.status_code == 200
        for i in range(5):
            headers = {**kiosk, "X-Forwarded-For": f"10.9.{i}.1"}
            answer = http.post(f"{API}/check-ins", json={"code": "ZZZZ-ZZZZ"}, headers=headers)
            assert answer.status_code == 429, i


# counters


def test_a_counter_token_calls_recalls_and_finishes(office, client, clock):
    clerks_at(office, "1")
    office.issue_ticket("A")
    office.issue_ticket("A")
    headers = token(office, "counter", "clerk's phone")
    called = client.post(f"{API}/counters/1/next", headers=headers)
    assert called.status_code == 200, called.text
    assert called.json() == {
        "counter": "1",
        "counter_name": office.office.counters["1"].name,
        "finished": None,
        "number": "A001",
        "status": "called",
    }
    recalled = client.post(f"{API}/counters/1/recall", json={"current": "A001"}, headers=headers)
    assert recalled.json()["number"] == "A001" and office.ticket("A001").recalls == 1
    stale = client.post(f"{API}/counters/1/done", json={"current": "A002"}, headers=headers)
    assert stale.status_code == 409 and office.ticket("A001").status == "called"
    done = client.post(f"{API}/counters/1/done", headers=headers)
    assert done.json()["status"] == "done" and office.ticket("A001").status == "done"
    nobody = client.post(f"{API}/counters/1/recall", headers=headers)
    assert nobody.status_code == 409 and nobody.json()["error"].endswith(".")
    unknown = client.post(f"{API}/counters/99/next", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"].startswith("Unknown counter '99' (known: 1,")
    assert office.ticket("A002").status == "waiting"


# everything else


def test_an_unknown_path_and_a_wrong_method_answer_in_json(office, client):
    missing = client.get(f"{API}/tickets/A001")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "There is no such API endpoint."},
    )
    wrong = client.get(f"{API}/tickets")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json() == {"error": "GET is not allowed here (allowed: POST)."}
    deleted = client.delete(f"{API}/services")
    assert (deleted.status_code, deleted.headers["allow"]) == (405, "GET, HEAD")
    assert deleted.json()["error"].startswith("DELETE is not allowed here")
    assert client.put(f"{API}/nothing").json() == {"error": "There is no such API endpoint."}


def test_a_bug_is_a_500_without_details_and_a_lost_database_a_503(office, client, monkeypatch):
    from loket.engine import Engine

    def broken(engine):
        raise RuntimeError("secret internals at /srv/loket/office.db")

    monkeypatch.setattr(Engine, "services", broken)
    answer = client.get(f"{API}/services")
    assert answer.status_code == 500
    assert answer.json() == {"error": "the server could not answer this request"}

    def gone(engine):
        raise StorageError("cannot open /srv/loket/office.db: disk I/O error")

    monkeypatch.setattr(Engine, "services", gone)
    answer = client.get(f"{API}/services")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert "/srv" not in answer.text and "cannot be reached" in answer.json()["error"]


def test_the_openapi_document_and_the_routes_agree(client):
    answer = client.get(f"{API}/openapi.json")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["openapi"] == "3.1.0" and doc == document()
    served = {
        (route.path, method.lower())
        for route in api.routes()
        if isinstance(route, Route) and route.path != "/{path:path}"
        for method in route.methods - {"HEAD"}
    }
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert described == served
    assert doc["components"]["securitySchemes"]["deviceToken"]["scheme"] == "bearer"
    for action in ("next", "recall", "done"):
        assert (
            "any counter" in doc["paths"][f"/counters/{{counter}}/{action}"]["post"]["description"]
        )
    priority = doc["components"]["schemas"]["NewTicket"]["properties"]["priority"]
    assert "[kiosk] priority" in priority["description"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            writes = method == "post"
            assert bool(op["security"]) == writes, (path, method)
            if writes:
                assert {"401", "403"} <= set(op["responses"]), (path, method)
    for ref in _refs(doc):
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # a dangling $ref raises KeyError here


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# the event stream, from a real server


@contextmanager
def serving(app, proxy_headers: bool = False):
    """The app on a real uvicorn server on a free loopback port, in a thread; yields its URL.

    With `proxy_headers`, X-Forwarded-For from loopback names the client, as behind a proxy."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        proxy_headers=proxy_headers,
        forwarded_allow_ips="127.0.0.1",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def streaming(app, path: str):
    """The lines of an event stream of the app on a real server."""
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream("GET", path) as stream,
    ):
        yield stream.iter_lines()


def read_events(lines, count: int) -> list[dict]:
    """The next `count` events (id, event, data) of a server-sent event stream."""
    events, event = [], {}
    for line in lines:
        if line == "":  # the end of one event (or of the `retry` advice)
            if "event" in event:
                events.append(event)
                if len(events) == count:
                    return events
            event = {}
        elif line and not line.startswith(":"):
            field, _, value = line.partition(": ")
            event[field] = json.loads(value) if field == "data" else value
    raise AssertionError(f"the stream ended after {events}")


def test_the_call_stream_sends_calls_and_recalls_and_resumes_after_a_reconnect(
    office, db_path, clock
):
    clerks_at(office, "2")
    office.issue_ticket("C")
    office.issue_ticket("C")
    app = create_app(db_path, clock)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        with http.stream("GET", f"{API}/calls/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            office.call_next("2")
            office.recall("2")
            call, recall = read_events(stream.iter_lines(), 2)
        assert (call["event"], recall["event"]) == ("call", "recall")
        assert call["data"]["number"] == recall["data"]["number"] == "C001"
        assert call["data"]["counter_name"] == office.office.counters["2"].name
        assert call["id"] == str(call["data"]["id"])
        assert call["data"] == client_call(http, call["data"]["id"])
        # Gone while C002 was called: back with Last-Event-ID, it gets what it missed first.
        office.call_next("2")
        headers = {"Last-Event-ID": call["id"]}
        with http.stream("GET", f"{API}/calls/stream", headers=headers) as stream:
            missed = read_events(stream.iter_lines(), 2)
        assert [(e["event"], e["data"]["number"]) for e in missed] == [
            ("recall", "C001"),
            ("call", "C002"),
        ]
        bad = http.get(f"{API}/calls/stream", headers={"Last-Event-ID": "x"})
        assert bad.status_code == 400


@pytest.mark.parametrize("last", [b"x", b"\xb2", b"-1", b"9" * 5000])
def test_a_bad_last_event_id_is_a_400_with_a_sentence(client, last):
    answer = client.get(f"{API}/calls/stream", headers={"Last-Event-ID": last})
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "Last-Event-ID must be an event id (a whole number)."},
    )


def test_healthz_counts_the_call_streams_while_they_are_open(office, db_path, clock):
    app = create_app(db_path, clock)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/healthz").json()["event_streams"] == 0
        with http.stream("GET", f"{API}/calls/stream") as stream:
            lines = stream.iter_lines()  # kept: a dropped iterator closes the stream
            assert next(lines) == "retry: 2000"  # the stream is open
            assert http.get("/healthz").json()["event_streams"] == 1
        deadline = time.monotonic() + 10
        while http.get("/healthz").json()["event_streams"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert http.get("/healthz").json()["event_streams"] == 0


def test_the_call_stream_says_when_the_database_is_gone_and_carries_on_after(
    office, db_path, clock, backend, request
):
    clerks_at(office, "2")
    office.issue_ticket("C")
    with streaming(create_app(db_path, clock), f"{API}/calls/stream") as lines:
        with database_gone(db_path, backend, request):
            (gone,) = read_events(lines, 1)
        # A new connection: the test's own engine lost its connection to a stopped server.
        assert main(["--db", str(db_path), "call", "2"], clock=clock) == 0
        (call,) = read_events(lines, 1)
    assert gone == {"event": "unavailable", "data": {"error": api.UNAVAILABLE}}
    assert (call["event"], call["data"]["number"]) == ("call", "C001")


def test_a_call_made_through_the_api_reaches_the_call_stream(office, db_path, clock):
    clerks_at(office, "1")
    office.issue_ticket("A")
    headers = token(office, "counter")
    app = create_app(db_path, clock)
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream("GET", f"{API}/calls/stream") as stream,
    ):
        assert http.post(f"{API}/counters/1/next", headers=headers).status_code == 200
        (call,) = read_events(stream.iter_lines(), 1)
    assert (call["event"], call["data"]["number"]) == ("call", "A001")


@contextmanager
def database_gone(db_path, backend, request):
    """The database is unreachable inside the block: a stopped server, a moved file."""
    if backend == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        cluster.stop()
        try:
            yield
        finally:
            cluster.start()
    else:
        moved = db_path.with_name("moved.db")
        db_path.rename(moved)
        try:
            yield
        finally:
            moved.rename(db_path)


def client_call(http, event_id: int) -> dict:
    """The same call as /calls lists it."""
    return next(c for c in http.get(f"{API}/calls").json()["calls"] if c["id"] == event_id)


# the token command


def test_token_create_shows_the_secret_once_and_stores_only_its_hash(
    office, db_path, capsys, clock
):
    assert (
        main(["--db", str(db_path), "token", "create", "--role", "integration"], clock=clock) == 0
    )
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("loket_") and len(secret) > 40
    assert "shown only this once" in err and secret not in err
    assert office.device_role(secret) == "integration"
    stored = dump(db_path)
    assert secret not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    assert main(["--db", str(db_path), "token", "list", "--json"], clock=clock) == 0
    listed = json.loads(capsys.readouterr().out)["tokens"]
    assert [(t["id"], t["role"], t["name"], t["revoked_at"]) for t in listed] == [
        (1, "integration", "integration", None)
    ]
    assert main(["--db", str(db_path), "token", "list"], clock=clock) == 0
    table = capsys.readouterr().out
    assert "integration" in table and secret not in table and "hash" not in table


def dump(db) -> str:
    """Every row of the office's database as text."""
    if not is_url(str(db)):
        with sqlite3.connect(db) as connection:
            return "\n".join(connection.iterdump())
    import psycopg

    with psycopg.connect(str(db)) as connection:
        schemas = connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'loket%'"
        ).fetchall()
        rows = [
            connection.execute(f'SELECT * FROM "{schema}".device_tokens').fetchall()
            for (schema,) in schemas
        ]
    return repr(rows)


def test_token_revoke_and_bad_input_are_one_sentence_each(office, db_path, capsys, clock):
    office.create_device_token("kiosk", "entrance")
    db = ["--db", str(db_path), "token"]
    assert main([*db, "revoke", "1"], clock=clock) == 0
    assert "Token 1 (kiosk 'entrance') is revoked" in capsys.readouterr().out
    for args, sentence in (
        (
            ["create", "--role", "printer"],
            "loket: unknown role 'printer': choose kiosk, counter, integration",
        ),
        (["revoke", "seven"], "loket: 'seven' is not a token id: see `loket token list`"),
        (["revoke", "7"], "loket: no token 7"),
    ):
        assert main([*db, *args], clock=clock) == 1
        out, err = capsys.readouterr()
        assert (out, err.strip()) == ("", sentence)
    assert [t.id for t in office.device_tokens()] == [1]


# the rate limit itself


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_rate_limit_slides_over_the_last_minute_per_key():
    clock = Ticking()
    limit = RateLimit(3, clock=clock)
    assert [limit.allow("kiosk") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("tablet") and limit.retry_after("tablet") == 0
    assert limit.retry_after("a stranger") == 0 and len(limit) == 2  # asking remembers nobody
    assert limit.retry_after("kiosk") == 60
    clock.now += 30
    assert not limit.allow("kiosk") and limit.retry_after("kiosk") == 30
    clock.now += 30
    assert limit.allow("kiosk")  # the first three hits are a minute old now


def test_a_rate_limit_forgets_clients_idle_for_a_minute():
    clock = Ticking()
    limit = RateLimit(5, clock=clock)
    for phone in range(1000):
        limit.allow(phone)
    assert len(limit) == 1000
    clock.now += 61
    limit.allow("new phone")
    assert len(limit) == 1
