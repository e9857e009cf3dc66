"""`loket serve`'s pages on both backends: the TV display, the visitor's phone page, /join, health."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from loket.config import default_config_text
from loket.engine import Engine
from tests.conftest import busy_morning, clerks_at
from tests.web_server import free_port, loket_serve
from web.backend import Backend
from web.limits import RateLimit
from web.pages import (
    ADDRESS_PER_MINUTE,
    SPEAKING_AT_ONCE,
    SPEAKING_QUEUED,
    DisplayFilters,
    JoinLimits,
)
from web.server import create_app

pytestmark = pytest.mark.backends

WAIT_SECONDS = 10


@pytest.fixture
def client(office, db_path, clock):
    """The web app on the test's office, with the test's clock; its watcher runs meanwhile."""
    with TestClient(create_app(db_path, clock=clock), follow_redirects=False) as client:
        yield client


def join_office(db_path, clock, per_minute: int = 10, per_phone: int = 2) -> Engine:
    """The demo office with /join on and the given limits."""
    text = (
        default_config_text()
        .replace("join = false", "join = true")
        .replace("join_per_minute = 10", f"join_per_minute = {per_minute}")
        .replace("join_per_phone = 2", f"join_per_phone = {per_phone}")
    )
    return Engine(db_path, clock=clock, config_text=text)


def eventually(check, seconds: float = WAIT_SECONDS):
    """Wait until `check()` is truthy (the watcher polls every 75 ms); returns its value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def caught_up(client, office) -> None:
    """Wait until the server's watcher has read every event the test made."""
    last = office.last_event_id()
    live = client.app.state.live
    assert eventually(lambda: live.board is not None and live.board.last_event_id >= last)


# the TV display


def test_the_display_shows_the_latest_call_with_its_counter_name_and_the_lines(office, client):
    busy_morning(office, office.clock)
    caught_up(client, office)
    page = client.get("/display")
    assert page.status_code == 200
    html = page.text
    latest = html.split('id="now-number">')[1].split("<")[0]
    assert latest == office.calls_today(1)[0].number
    assert "Loket 1" in html and "Stadhuis Demo" in html
    assert "Welkom · Bienvenue · Welcome · Willkommen" in html
    counts = office.waiting_counts()
    assert f'<span class="code">A</span><span class="count">{counts["A"]}</span>' in html
    assert "Een ogenblik geduld" in html  # the hidden 'one moment', ready for an outage
    assert 'class=""' in html  # ...but not shown now


def test_the_display_filters_as_the_terminal_display_does(office, client):
    busy_morning(office, office.clock)
    caught_up(client, office)
    calls = office.calls_today(20)
    only_b = client.get("/display?services=B&history=6").text
    shown_numbers = {c.number for c in calls if c.service == "B"}
    hidden_numbers = {c.number for c in calls if c.service != "B"}
    assert all(number in only_b for number in shown_numbers)
    assert not any(f">{number}<" in only_b for number in hidden_numbers)
    assert '<span class="code">A</span>' not in only_b
    at_counter_3 = client.get("/display?counters=3").text
    assert "Loket 3" in at_counter_3 and "Loket 1" not in at_counter_3
    no_history = client.get("/display?history=0").text
    assert "<ol>" not in no_history


def test_counters_are_picked_by_their_ids_as_the_config_spells_them():
    """Counter ids may hold small letters ("hal"); service codes are read in either case."""
    filters = DisplayFilters.from_query({"counters": "hal,3", "services": "a"}, None)
    assert (filters.counters, filters.services) == ({"hal", "3"}, {"A"})


def test_the_display_names_the_services_in_its_language(office, client):
    french = client.get("/display?lang=fr").text
    assert "Carte d&#39;identité et passeport" in french and "Identiteitskaart" not in french
    assert "Identiteitskaart en paspoort" in client.get("/display").text


@pytest.mark.parametrize(
    "query, sentence",
    [
        ("services=Z", "services: unknown Z (known: A, B, C, D)"),
        ("voice=klingon", "voice=klingon: expected one of nl, fr, en, de or off"),
        ("history=99", "history=99: expected 0 to 50 earlier calls"),
        ("history=-1", "history=-1: expected 0 to 50 earlier calls"),
        ("history=%C2%B2", "history=\u00b2: expected 0 to 50 earlier calls"),  # "²" isdigit()
    ],
)
def test_a_bad_filter_is_one_sentence(client, query, sentence):
    for path in ("/display", "/display/events"):
        answer = client.get(f"{path}?{query}")
        assert (answer.status_code, answer.text.strip()) == (400, sentence)


def test_the_chime_is_a_wav(client):
    answer = client.get("/chime.wav")
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    assert answer.content[:4] == b"RIFF" and len(answer.content) > 20_000


def test_audio_is_made_for_todays_calls_only(office, client):
    office.issue_ticket("A")
    call = office.call_next("1")
    event = office.calls_today(1)[0]
    caught_up(client, office)
    assert client.get("/display/audio/999999.wav?voice=nl").status_code == 404
    assert client.get(f"/display/audio/{event.id}.wav?voice=xx").status_code == 404
    answer = client.get(f"/display/audio/{event.id}.wav?voice=nl")
    assert call.called.number == "A001"
    assert answer.status_code == 200 and answer.content[:4] == b"RIFF"


# no personal data


def test_no_visitors_name_on_any_page(office, client, db_path):
    busy_morning(office, office.clock)  # an appointment booked for "Not Shown" was checked in
    appointment = next(a for a in office.appointments() if a.name == "Not Shown")
    ticket = next(t for t in office.tickets_between(*[office.local(office.now()).date()] * 2)
                  if t.id == appointment.ticket_id)  # fmt: skip
    token = office.visitor_token(ticket)
    caught_up(client, office)
    pages = [
        client.get("/display"),
        client.get(f"/t/{token}?lang=en"),
        client.get(f"/t/{token}/leave?lang=en"),
        client.get("/healthz"),
    ]
    with served(db_path, office.clock) as url:
        pages.append(first_events(f"{url}/display/events?voice=nl", "board"))
        pages.append(first_events(f"{url}/t/{token}/events", "visit"))
    for page in pages:
        text = page if isinstance(page, str) else page.text
        assert "Not Shown" not in text
    assert ticket.number in pages[1].text


# the visitor's page


def walk_in(office, service: str = "A"):
    """A walk-in's ticket and its page's token."""
    ticket = office.issue_ticket(service).ticket
    return ticket, office.visitor_token(ticket)


def test_the_visitors_page_shows_number_place_and_wait_in_their_language(office, client):
    office.issue_ticket("A")
    ticket, token = walk_in(office)
    page = client.get(f"/t/{token}?lang=en")
    assert page.status_code == 200
    assert ticket.number in page.text and "ID card and passport" in page.text
    assert "1 person ahead of you." in page.text
    assert "What to bring" in page.text and "A recent passport photo" in page.text
    assert "Did you know? You can also request this online." in page.text
    assert 'href="https://www.example.be/eid"' in page.text
    refresh = f'<meta http-equiv="refresh" content="20; url=/t/{token}?lang=en">'
    assert refresh in page.text  # inside <noscript>
    french = client.get(f"/t/{token}?lang=fr").text
    assert "1 personne avant vous." in french and "Carte d&#39;identité et passeport" in french
    for language in ("nl", "fr", "de"):
        assert f'href="/t/{token}?lang={language}"' in page.text


def test_the_page_of_a_called_ticket_says_where_to_go_then_thank_you(office, client):
    ticket, token = walk_in(office)
    clerks_at(office, "2")
    office.call_next("2")
    called = client.get(f"/t/{token}?lang=nl").text
    assert "Ga naar Loket\u00a02" in called and 'data-state="called"' in called
    office.finish("2")
    done = client.get(f"/t/{token}?lang=nl").text
    assert "Bedankt voor uw bezoek." in done
    assert "refresh" not in done  # nothing will change any more


def test_a_forged_or_expired_token_is_a_clear_404(office, client, clock):
    ticket, token = walk_in(office)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (f"/t/{forged}?lang=en", "/t/nonsense", f"/t/{forged}/leave"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert (
            "This link is not valid." in answer.text or "Deze link is niet geldig." in answer.text
        )
        assert "Traceback" not in answer.text
    assert client.post(f"/t/{forged}/more-time").status_code == 404
    clock.advance(days=1)
    assert client.get(f"/t/{token}?lang=en").status_code == 404


def test_more_time_moves_the_ticket_back_once(office, client):
    ticket, token = walk_in(office)
    for _ in range(4):
        office.clock.advance(seconds=20)
        office.issue_ticket("A")
    answer = client.post(f"/t/{token}/more-time?lang=en")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/t/{token}?lang=en&note=more_time"
    page = client.get(answer.headers["location"]).text
    assert "You have moved back a few places." in page
    assert "3 people ahead of you." in page
    assert "I need more time" not in page  # once only
    again = client.post(f"/t/{token}/more-time?lang=en")
    assert again.status_code == 409
    assert "That is no longer possible for this ticket." in again.text


def test_the_more_time_note_stays_on_the_live_page_but_not_in_its_refresh(office, db_path, clock):
    ticket, token = walk_in(office)
    for _ in range(4):
        office.issue_ticket("A")
    with served(db_path, clock) as url:
        answer = httpx.post(f"{url}/t/{token}/more-time?lang=en", timeout=WAIT_SECONDS)
        page = httpx.get(url + answer.headers["location"], timeout=WAIT_SECONDS).text
        assert "You have moved back a few places." in page
        assert f'content="20; url=/t/{token}?lang=en"' in page  # a reload says it no more
        events = page.split('data-events="')[1].split('"')[0].replace("&amp;", "&")
        assert "You have moved back a few places." in first_events(url + events, "visit")
        assert "moved back" not in first_events(f"{url}/t/{token}/events?lang=en", "visit")


def test_leaving_the_line_asks_first_then_cancels(office, client):
    ticket, token = walk_in(office)
    ask = client.get(f"/t/{token}/leave?lang=en")
    assert ask.status_code == 200
    assert f"Really leave the line? Number {ticket.number} will be cancelled." in ask.text
    assert f'action="/t/{token}/leave?lang=en"' in ask.text and 'method="post"' in ask.text
    assert office.visit(token).state == "waiting"  # asking changed nothing
    left = client.post(f"/t/{token}/leave?lang=en")
    assert (left.status_code, left.headers["location"]) == (303, f"/t/{token}?lang=en&note=left")
    assert office.visit(token).state == "cancelled"
    page = client.get(left.headers["location"]).text
    assert "You have left the line." in page and "This ticket has been cancelled." in page
    assert client.post(f"/t/{token}/leave?lang=en").status_code == 409


def test_the_visitors_page_leaks_no_token(office, client):
    ticket, token = walk_in(office)
    page = client.get(f"/t/{token}?lang=en")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'rel="noreferrer noopener"' in page.text  # the online link


# joining the line from the waiting room


def test_join_is_off_by_default(client):
    answer = client.get("/join?lang=en")
    assert answer.status_code == 404
    assert "please use the kiosk" in answer.text
    assert client.post("/join", content="service=A").status_code == 404


def test_join_hands_out_a_ticket_and_its_page(db_path, clock):
    join_office(db_path, clock).close()
    with TestClient(create_app(db_path, clock=clock), follow_redirects=False) as client:
        page = client.get("/join?lang=en")
        assert page.status_code == 200
        assert 'value="A"' in page.text and "ID card and passport" in page.text
        taken = client.post(
            "/join?lang=en",
            content="service=A",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert taken.status_code == 303
        location = taken.headers["location"]
        assert location.startswith("/t/") and location.endswith("?lang=en")
        ticket_page = client.get(location).text
        assert "A001" in ticket_page


def post_join(client, service: str = "A"):
    return client.post(
        "/join?lang=en",
        content=f"service={service}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def test_join_is_limited_per_phone_and_per_minute(db_path, clock):
    join_office(db_path, clock, per_minute=3, per_phone=2).close()
    with TestClient(create_app(db_path, clock=clock), follow_redirects=False) as phone:
        assert [post_join(phone).status_code for _ in range(2)] == [303, 303]
        refused = post_join(phone)
        assert refused.status_code == 429
        assert "You already took 2 tickets with this phone today." in refused.text
        phone.cookies.clear()  # a phone that forgets its cookie meets the office's limit
        assert post_join(phone).status_code == 303
        busy = post_join(TestClient(phone.app, follow_redirects=False))
        assert busy.status_code == 429
        assert "Many tickets are being taken right now." in busy.text
    with Engine(db_path, clock=clock, create=False) as engine:
        assert engine.waiting_counts()["A"] == 3


def test_what_the_server_itself_changes_reaches_the_display(db_path, clock):
    """data_version tells of other connections' commits only: the server's own count too."""
    join_office(db_path, clock).close()
    with TestClient(create_app(db_path, clock=clock), follow_redirects=False) as client:
        waiting_a = '<span class="code">A</span><span class="count">{}</span>'
        assert waiting_a.format(0) in client.get("/display").text
        token = post_join(client).headers["location"].split("/")[2].split("?")[0]
        assert eventually(lambda: waiting_a.format(1) in client.get("/display").text)
        assert client.post(f"/t/{token}/leave").status_code == 303
        assert eventually(lambda: waiting_a.format(0) in client.get("/display").text)


def test_a_phones_count_is_signed_and_of_today():
    limits = JoinLimits(b"k" * 32)
    cookie = limits.sign("2026-12-01:2")
    assert limits.taken_today(cookie, "2026-12-01") == 2
    assert limits.taken_today(cookie, "2026-12-02") == 0  # a new day, a new count
    forged = cookie.replace(":2.", ":9.")
    assert limits.taken_today(forged, "2026-12-01") == 0  # as if it had none: no gain
    assert limits.taken_today("nonsense", "2026-12-01") == 0
    assert limits.taken_today(None, "2026-12-01") == 0
    assert JoinLimits(b"x" * 32).taken_today(cookie, "2026-12-01") == 0  # another server's


def test_join_refuses_an_unknown_or_closed_service(db_path, clock):
    join_office(db_path, clock).close()
    with TestClient(create_app(db_path, clock=clock), follow_redirects=False) as client:
        assert post_join(client, "Z").status_code == 400
        assert "This service does not hand out tickets right now." in post_join(client, "Z").text


def test_join_counts_nothing_for_a_service_that_takes_no_ticket_now(db_path, clock):
    join_office(db_path, clock, per_minute=2).close()
    with TestClient(create_app(db_path, clock=clock), follow_redirects=False) as client:
        junk = [post_join(client, code).status_code for code in ("ZZ", "D", "", "ZZ", "D")]
        assert junk == [400] * 5  # D is by appointment only
        assert [post_join(client).status_code for _ in range(2)] == [303, 303]


def post_join_without_cookie(client, **headers):
    client.cookies.clear()
    return client.post(
        "/join?lang=en",
        content="service=A",
        headers={"content-type": "application/x-www-form-urlencoded", **headers},
    )


def test_join_is_limited_per_address_when_the_phone_drops_its_cookie(db_path, clock):
    join_office(db_path, clock, per_minute=60, per_phone=1).close()
    with TestClient(create_app(db_path, clock=clock), follow_redirects=False) as client:
        answers = [post_join_without_cookie(client) for _ in range(ADDRESS_PER_MINUTE + 1)]
        assert [a.status_code for a in answers] == [303] * ADDRESS_PER_MINUTE + [429]
        assert 0 < int(answers[-1].headers["retry-after"]) <= 60
        assert "Many tickets are being taken right now." in answers[-1].text
        # A guest wifi puts the hall's phones behind one address: no daily cap for it.
        client.app.state.join_limits.per_address = RateLimit(1000)  # as if minutes went by
        more = [post_join_without_cookie(client) for _ in range(25)]
        assert {a.status_code for a in more} == {303}


@pytest.mark.parametrize("public_url, secure", [("https://loket.example.be", True), (None, False)])
def test_the_join_cookie_is_secure_when_phones_come_over_https(db_path, clock, public_url, secure):
    join_office(db_path, clock).close()
    app = create_app(db_path, clock=clock, public_url=public_url)
    with TestClient(app, follow_redirects=False) as client:
        cookie = post_join(client).headers["set-cookie"].lower()
    assert cookie.startswith("loket_join=") and ("; secure" in cookie) == secure


# health and outages


def test_healthz_says_ok(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "database": True,
        "office": "Stadhuis Demo",
        "event_streams": 0,
    }


@contextmanager
def database_gone(db_path, backend, pg_cluster_getter):
    """The database unreachable meanwhile: the file moved away, or the database renamed."""
    if backend == "sqlite":
        os.rename(db_path, f"{db_path}.away")
        try:
            yield
        finally:
            os.rename(f"{db_path}.away", db_path)
        return
    cluster = pg_cluster_getter()
    name = str(db_path).split("/")[3].split("?")[0]
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"')
        try:
            yield
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (f"{name}_away",),
            )
            admin.execute(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"')


def test_pages_say_so_while_the_database_is_gone_and_recover(
    office, client, db_path, backend, request
):
    ticket, token = walk_in(office)
    office.close()
    with database_gone(db_path, backend, lambda: request.getfixturevalue("pg_cluster")):
        assert eventually(lambda: client.get("/healthz").status_code == 503)
        assert client.get("/healthz").json()["status"] == "degraded"
        display = client.get("/display")
        assert display.status_code == 200 and 'class="unavailable"' in display.text
        assert "Een ogenblik geduld" in display.text and ticket.number not in display.text
        visit = client.get(f"/t/{token}?lang=en")
        assert visit.status_code == 503
        assert "the queue cannot be reached right now" in visit.text
        # without JavaScript too, the page comes back by itself
        assert visit.headers["retry-after"] == "10"
        assert '<meta http-equiv="refresh" content="10">' in visit.text
        assert "Traceback" not in visit.text
    assert eventually(lambda: client.get("/healthz").status_code == 200)
    assert client.get(f"/t/{token}?lang=en").status_code == 200
    assert 'class="unavailable"' not in client.get("/display").text


# the live streams, from a real server


@contextmanager
def served(db_path, clock, app=None):
    """The app on a real uvicorn server in a thread, so that event streams really stream."""
    import uvicorn

    port = free_port()
    app = app or create_app(db_path, clock=clock)
    config = uvicorn.Config(app, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert eventually(lambda: server.started), "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_SECONDS)


def read_events(lines, wanted: int, names=("board", "visit", "unavailable", "final")):
    """The next `wanted` named events from a stream's lines, as (name, data) pairs."""
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name in names:
            events.append((name, json.loads(line[len("data: ") :])))
            if len(events) == wanted:
                return events
    return events


def first_events(url: str, name: str) -> str:
    """The data of the first `name` event a stream sends."""
    with httpx.stream("GET", url, timeout=WAIT_SECONDS) as stream:
        return json.dumps(read_events(stream.iter_lines(), 1, (name,)))


def test_a_call_reaches_the_display_stream_with_its_announcement(office, db_path, clock):
    office.issue_ticket("A")
    with (
        served(db_path, clock) as url,
        httpx.stream("GET", f"{url}/display/events?voice=nl", timeout=WAIT_SECONDS) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        stream = stream.iter_lines()
        ((name, first),) = read_events(stream, 1)
        assert name == "board" and first["announce"] == []  # calls before it are not said
        office.call_next("1")
        office.recall("1")
        announced = []
        while len(announced) < 2:
            ((name, board),) = read_events(stream, 1)
            announced += board["announce"]
        assert [a["text"] for a in announced] == ["Nummer A 1, loket 1."] * 2
        assert announced[0]["id"] != announced[1]["id"]  # the recall is said again
        assert 'id="now-number">A001<' in board["html"]
        assert board["highlight_seconds"] == 8
        audio = httpx.get(url + announced[1]["audio"], timeout=WAIT_SECONDS)
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


def test_a_visitors_stream_follows_the_ticket_to_the_end(office, db_path, clock):
    ticket, token = walk_in(office)
    with (
        served(db_path, clock) as url,
        httpx.stream("GET", f"{url}/t/{token}/events?lang=en", timeout=WAIT_SECONDS) as stream,
    ):
        stream = stream.iter_lines()
        ((name, waiting),) = read_events(stream, 1)
        assert (name, waiting["state"], waiting["near_turn"]) == ("visit", "waiting", True)
        clerks_at(office, "2")  # more clerks: a shorter estimate, another "waiting" event
        office.call_next("2")
        called = waiting
        while called["state"] == "waiting":
            ((name, called),) = read_events(stream, 1)
        assert called["state"] == "called" and "Go to Loket\u00a02" in called["html"]
        office.finish("2")
        assert [n for n, _ in read_events(stream, 2)] == ["visit", "final"]


def test_a_last_event_id_that_is_no_number_starts_the_stream_afresh(office, db_path, clock):
    with (
        served(db_path, clock) as url,
        httpx.stream(
            "GET", f"{url}/display/events", headers={"Last-Event-ID": b"\xb2"}, timeout=WAIT_SECONDS
        ) as stream,
    ):
        assert stream.status_code == 200  # "²".isdigit(), yet int("²") fails
        assert [name for name, _ in read_events(stream.iter_lines(), 1)] == ["board"]


@contextmanager
def released(path):
    """Touch `path` at the end, even when the test failed: no fake espeak-ng is left waiting."""
    try:
        yield
    finally:
        path.touch()


FAKE_ESPEAK = """#!/bin/sh
echo started >> "$LOKET_TEST_SPOKEN"
while [ ! -e "$LOKET_TEST_RELEASE" ]; do sleep 0.02; done
printf 'RIFF-a-fake-wav'
"""


def test_audio_is_made_once_per_call_and_voice_by_two_espeaks_at_most(
    office, db_path, clock, tmp_path, monkeypatch
):
    """Many screens asking for many calls start neither many espeak-ng nor queue forever."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "espeak-ng").write_text(FAKE_ESPEAK)
    (tmp_path / "bin" / "espeak-ng").chmod(0o755)
    spoken, release = tmp_path / "spoken", tmp_path / "release"
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("LOKET_TEST_SPOKEN", str(spoken))
    monkeypatch.setenv("LOKET_TEST_RELEASE", str(release))
    for _ in range(3):
        office.issue_ticket("A")
        office.call_next("1")
    ids = [event.id for event in office.calls_today(3)]
    wanted = [f"/display/audio/{i}.wav?voice={v}" for i in ids for v in ("nl", "fr", "en", "de")]
    app = create_app(db_path, clock=clock)
    with served(db_path, clock, app) as url, released(release):
        assert eventually(lambda: app.state.live.board.call(ids[0]) is not None)
        answers = {}

        def ask(n: int, path: str) -> None:
            answers[n] = httpx.get(url + path, timeout=WAIT_SECONDS * 3)

        asking = [
            threading.Thread(target=ask, args=(n, path))
            for n, path in enumerate([wanted[0], *wanted[:SPEAKING_QUEUED]])  # the first twice
        ]
        for thread in asking:
            thread.start()
        assert eventually(lambda: len(app.state.voice.making) == SPEAKING_QUEUED)
        one_too_many = httpx.get(url + wanted[SPEAKING_QUEUED], timeout=WAIT_SECONDS)
        assert one_too_many.status_code == 503 and one_too_many.headers["retry-after"] == "2"
        assert eventually(lambda: spoken.exists() and len(spoken.read_text().split()) == 2)
        assert len(spoken.read_text().split()) == SPEAKING_AT_ONCE
        release.touch()
        for thread in asking:
            thread.join()
    assert [answers[n].status_code for n in sorted(answers)] == [200] * (SPEAKING_QUEUED + 1)
    assert answers[0].content == answers[1].content == b"RIFF-a-fake-wav"
    assert len(spoken.read_text().split()) == SPEAKING_QUEUED  # the first made once, for both


def test_closing_the_server_leaves_its_event_loop_free(office, db_path):
    """The engine's close (a checkpoint) runs on its thread while the loop goes on."""

    async def close_and_see() -> list[str]:
        backend = Backend(db_path)
        await backend.call(lambda engine: None)  # opens the engine
        loop, seen = asyncio.get_running_loop(), []
        engine_close = backend._engine.close

        async def ping() -> str:
            return "free"

        def close(**options) -> None:
            try:
                seen.append(asyncio.run_coroutine_threadsafe(ping(), loop).result(timeout=5))
            except TimeoutError:
                seen.append("blocked")
            engine_close(**options)

        backend._engine.close = close
        await backend.close()
        return seen

    assert asyncio.run(close_and_see()) == ["free"]


# the command


def loket(*arguments: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loket", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("options", [(), ("--behind-proxy", "127.0.0.1")])
def test_x_forwarded_for_is_believed_only_from_the_proxy(db_path, clock, options, tmp_path):
    """Else anyone could send a made-up address with each request and dodge /join's limit."""
    join_office(db_path, clock, per_minute=60).close()
    at_the_tests_moment = {**os.environ, "LOKET_FROZEN_CLOCK": clock.now.isoformat()}
    log = tmp_path / "serve.log"
    with loket_serve(db_path, log, *options, env=at_the_tests_moment) as server:
        answers = [
            httpx.post(
                f"{server.url}/join",
                content="service=A",
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "x-forwarded-for": f"10.9.{n}.1",
                },
            ).status_code
            for n in range(ADDRESS_PER_MINUTE + 1)
        ]
    behind_proxy = bool(options)
    assert answers == [303] * ADDRESS_PER_MINUTE + [303 if behind_proxy else 429]


def test_serve_refuses_a_proxy_that_is_no_address(office, db_path):
    result = loket("--db", str(db_path), "serve", "--behind-proxy", "proxy.local")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "loket: --behind-proxy proxy.local: expected the proxy's IP address, e.g. 127.0.0.1"
    )


def test_serve_refuses_a_missing_database_in_one_line(tmp_path):
    result = loket("--db", str(tmp_path / "none.db"), "serve", "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("loket: no database at")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_serve_refuses_a_port_in_use_in_one_line(office, db_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = loket("--db", str(db_path), "serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"loket: port {port} on 127.0.0.1 is already in use: choose another with --port"
    )


def test_serve_imports_no_textual_and_other_commands_no_starlette(office, db_path):
    probe = (
        "import sys, loket.cli\n"
        f"loket.cli.main(['--db', {str(db_path)!r}, 'services'])\n"
        "print('starlette' in sys.modules, 'uvicorn' in sys.modules)\n"
        "import web.server\n"
        "print('textual' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-2:] == ["False False", "False"], result.stderr


def test_yesterdays_calls_leave_the_display_at_midnight(office, client, clock):
    """As on the terminal display: a new service day starts with an empty board."""
    office.issue_ticket("A")
    office.call_next("1")
    assert eventually(lambda: 'id="now-number">A001<' in client.get("/display").text)
    clock.advance(days=1)
    assert eventually(lambda: 'id="now-number">' not in client.get("/display").text)


def test_the_servers_connections_send_without_waiting_for_an_ack():
    """TCP_NODELAY on every accepted connection: without it each answer stalled ~40 ms."""
    import asyncio
    import socket

    from web.server import _listen

    async def accepted_nodelay() -> int:
        listening = _listen("127.0.0.1", 0)
        seen = asyncio.get_running_loop().create_future()

        def connected():
            class Probe(asyncio.Protocol):
                def connection_made(self, transport):
                    sock = transport.get_extra_info("socket")
                    seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

            return Probe()

        server = await asyncio.get_running_loop().create_server(connected, sock=listening)
        port = listening.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay())
