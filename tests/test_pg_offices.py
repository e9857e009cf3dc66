"""PostgreSQL only: offices side by side in one database, device roles, and moving up from SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from loket.cli import main
from loket.engine import Engine
from loket.errors import Refused, StorageError

DEMO = Path(__file__).parent.parent / "loket" / "office.toml"


@pytest.fixture
def city(pg_cluster):
    """An empty database for a city's offices."""
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


def loket(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_each_office_has_its_own_numbers_counters_and_config(city, clock):
    with (
        Engine(city, clock=clock, office="gent") as gent,
        Engine(city, clock=clock, office="deurne") as deurne,
    ):
        assert gent.issue_ticket("A").ticket.number == "A001"
        assert gent.issue_ticket("A").ticket.number == "A002"
        assert deurne.issue_ticket("A").ticket.number == "A001"
        gent.open_desk("1", session="clerk")
        assert gent.call_next("1").called.number == "A001"
        assert deurne.waiting_counts()["A"] == 1
        assert gent.waiting_counts()["A"] == 1


def test_prepared_statements_outlive_reads_refusals_and_rollbacks(city, clock):
    """psycopg forgets its prepared statements on a ROLLBACK; in pipeline mode it used to
    forget, on the server, the one it was preparing at that moment as well."""
    with Engine(city, clock=clock) as engine:
        engine.store.conn.prepare_threshold = 0  # as the tests' connections (conftest)
        engine.open_desk("1", session="clerk")
        for _ in range(3):
            engine.issue_ticket("A")
            engine.status()  # a read: its own snapshot
            with pytest.raises(Refused, match="no current ticket"):
                engine.finish("2")  # a write refused and rolled back
            assert engine.call_next("1").called is not None
        rows = engine.store._q("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    assert rows > 10


def ended(pg_cluster, pid: int) -> None:
    """End one server connection, as a DBA or a pooler would, and wait until it is gone."""
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            time.sleep(0.01)


def test_a_lost_listening_connection_is_opened_again_not_taken_for_an_outage(
    pg_cluster, city, clock
):
    with Engine(city, clock=clock) as app, Engine(city, clock=clock) as kiosk:
        seen = app.store.data_version()
        ended(pg_cluster, app.store._listener.info.backend_pid)
        # Never a StorageError (an app would show "one moment" for good, as it once did);
        # once the end is read, what happened while nobody listened is looked at again.
        assert changed_since(app, seen) > seen
        after = app.store.data_version()
        kiosk.issue_ticket("A")
        assert changed_since(app, after) > after  # and it hears the others again


def changed_since(engine: Engine, version: int) -> int:
    deadline = time.monotonic() + 10
    while (now := engine.store.data_version()) == version and time.monotonic() < deadline:
        time.sleep(0.01)
    return now


def test_the_servers_idle_session_timeout_does_not_end_a_waiting_device(pg_cluster, city, clock):
    database = city.rpartition("/")[2].partition("?")[0]
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {database} SET idle_session_timeout = '300ms'")
    with Engine(city, clock=clock) as display:
        seen = display.store.data_version()
        time.sleep(0.6)  # idle between two visitors
        looks = [display.store.data_version() for _ in range(20) if not time.sleep(0.02)]
        assert set(looks) == {seen}  # still listening, never opened again: nothing happened
        assert display.waiting_counts()["A"] == 0  # and its own connection still answers


@pytest.mark.parametrize("command", [["counter", "1"], ["display"], ["kiosk"]])
def test_an_app_on_a_database_without_an_office_says_so_before_its_screen_opens(
    city, command, tmp_path
):
    run = subprocess.run(
        [sys.executable, "-m", "loket", "--db", city, *command],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.endswith("holds no Loket office: set it up with `loket --db URL init`\n")


def test_without_an_office_name_the_only_one_is_opened_and_several_are_refused(city, clock):
    with Engine(city, clock=clock) as first:
        first.issue_ticket("A")
    with Engine(city, clock=clock) as again:  # the only office: `main`
        assert again.issue_ticket("A").ticket.number == "A002"
    Engine(city, clock=clock, office="deurne").close()
    with pytest.raises(StorageError, match=r"several offices \(deurne, main\)"):
        Engine(city, clock=clock, create=False)


def test_stats_of_all_offices_sum_them(city, capsys, monkeypatch):
    monkeypatch.delenv("LOKET_OFFICE", raising=False)
    for office, services in (("gent", "AAB"), ("deurne", "A")):
        assert loket(capsys, "--db", city, "--office", office, "init")[0] == 0
        for service in services:
            assert loket(capsys, "--db", city, "--office", office, "ticket", service)[0] == 0
    code, out = loket(capsys, "--db", city, "--json", "stats", "--office", "all")
    assert code == 0
    figures = json.loads(out)
    assert {name: row["issued"] for name, row in figures.items()} == {
        "deurne": 1,
        "gent": 3,
        "All offices": 4,
    }


def test_a_bad_or_unknown_office_name_is_one_clear_sentence(city, capsys):
    assert loket(capsys, "--db", city, "--office", "gent", "init")[0] == 0
    code, out = loket(capsys, "--db", city, "--office", "Gent; DROP", "status")
    assert code == 1 and "is not an office name" in out and "Traceback" not in out
    code, out = loket(capsys, "--db", city, "--office", "brugge", "status")
    assert code == 1 and "holds no Loket office 'brugge'" in out


def connect_as(pg_cluster, url: str, login: str, role: str) -> str:
    """A device's login in one of the device roles; returns its URL."""
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {role}")
    return url.replace(f"{pg_cluster.user}@", f"{login}@", 1)


def test_the_display_role_reads_calls_but_never_names_and_writes_nothing(pg_cluster, city, clock):
    with Engine(city, clock=clock) as office:
        assert office.create_device_roles() == [
            "loket_main_display",
            "loket_main_kiosk",
            "loket_main_counter",
        ]
        booking = office.add_appointment("A", clock.now, name="Jan Peeters")
        office.check_in(booking.reference)
        office.open_desk("1", session="clerk")
        office.call_next("1")
    tv = connect_as(pg_cluster, city, "tv1", "loket_main_display")
    with Engine(tv, clock=clock, create=False) as display:
        assert [call.number for call in display.calls_today(5)] == ["R001"]
        assert display.waiting_counts()["A"] == 0
        with pytest.raises(StorageError, match="may not"):
            display.issue_ticket("A")
        for column in ("name", "reference", "uid"):
            with pytest.raises(StorageError, match="may not"):
                display.store._q(f"SELECT {column} FROM appointments").fetchall()
        # The key that signs ticket codes is not the display's to read: it could forge them.
        assert display.store.setting("config") is not None
        assert display.store.setting("qr_secret") is None


def test_the_display_role_shows_the_morning_while_yesterday_is_still_open(pg_cluster, city, clock):
    with Engine(city, clock=clock) as office:
        office.create_device_roles()
        office.issue_ticket("A")  # left waiting overnight: only a writer may close it
    clock.advance(days=1)
    tv = connect_as(pg_cluster, city, "tv2", "loket_main_display")
    with Engine(tv, clock=clock, create=False) as display:
        assert display.status().services[0].waiting == 0
        assert display.calls_today(5) == []


def test_the_kiosk_role_issues_and_checks_in_but_cannot_load_a_config(pg_cluster, city, clock):
    with Engine(city, clock=clock) as office:
        office.create_device_roles()
        booking = office.add_appointment("A", clock.now, name="An Claes")
    kiosk = connect_as(pg_cluster, city, "kiosk1", "loket_main_kiosk")
    with Engine(kiosk, clock=clock, create=False) as device:
        assert device.issue_ticket("B").ticket.number == "B001"
        assert device.check_in(booking.reference).receipt.ticket.number == "R001"
        with pytest.raises(StorageError, match="may not"):
            device.init(DEMO.read_text().replace("Stadhuis Demo", "Overgenomen"))
        with pytest.raises(StorageError, match="may not"):
            device.add_appointment("A", clock.now, name="Ingevoerd Door Kiosk")


def test_a_device_of_one_office_can_do_nothing_in_another(pg_cluster, city, clock):
    for name in ("gent", "deurne"):
        with Engine(city, clock=clock, office=name) as office:
            office.create_device_roles()
    kiosk = connect_as(pg_cluster, city, "kiosk_gent", "loket_gent_kiosk")
    with Engine(kiosk, clock=clock, office="gent", create=False) as gent:
        assert gent.issue_ticket("A").ticket.number == "A001"
    with pytest.raises(StorageError, match="holds no Loket office 'deurne'"):  # unseen
        Engine(kiosk, clock=clock, office="deurne", create=False)


def test_roles_are_refused_on_sqlite_in_one_sentence(tmp_path, capsys):
    code, out = loket(capsys, "--db", str(tmp_path / "o.db"), "init", "--roles")
    assert code == 1 and "device roles are for PostgreSQL" in out


def test_copy_moves_a_sqlite_office_with_its_history_checked_by_counts(tmp_path, city, clock):
    source = tmp_path / "office.db"
    with Engine(source, clock=clock) as office:
        for service in "AABC":
            office.issue_ticket(service)
        office.open_desk("1", session="clerk")
        office.call_next("1")
        clock.advance(minutes=4)
        office.finish("1")
        office.add_appointment("A", clock.now, name="Els Maes")
        counts = office.copy_to(city, "brugge")
        before = office.status()
        with pytest.raises(StorageError, match="already holds tickets"):
            office.copy_to(city, "brugge")
    assert counts["tickets"] == 4 and counts["appointments"] == 1 and counts["events"] >= 6
    with Engine(city, clock=clock, office="brugge", create=False) as moved:
        after = moved.status()
        assert [s.waiting for s in after.services] == [s.waiting for s in before.services]
        assert [c.number for c in after.recent_calls] == [c.number for c in before.recent_calls]
        assert moved.issue_ticket("A").ticket.number == "A003"  # the numbering goes on
        assert moved.store.count_rows("tickets") == 5  # new ids follow the copied ones


def test_an_office_of_schema_5_gains_more_time_and_device_tokens(city, clock):
    with Engine(city, clock=clock) as office:
        office.issue_ticket("A")
        clock.advance(seconds=30)
        office.issue_ticket("A")
        with office.store.write():  # as the previous Loket left it
            office.store._q("ALTER TABLE tickets DROP COLUMN postponed")
            office.store._q("DROP TABLE device_tokens")
            office.store._q("UPDATE schema_version SET version = 5")
    with Engine(city, clock=clock, create=False) as upgraded:
        first = upgraded.ticket("A001")
        assert upgraded.postpone(upgraded.visitor_token(first)).ahead == 1
        secret = upgraded.create_device_token("integration")
        assert upgraded.device_role(secret) == "integration"


def test_an_upgrade_grants_the_device_roles_their_new_tables(pg_cluster, city, clock):
    with Engine(city, clock=clock) as office:
        office.create_device_roles()
        with office.store._unprepared(), office.store.write():  # as schema 5 left it
            office.store._q("ALTER TABLE tickets DROP COLUMN postponed")
            office.store._q("DROP TABLE device_tokens")
            office.store._q("UPDATE schema_version SET version = 5")
    with Engine(city, clock=clock, create=False) as upgraded:
        secret = upgraded.create_device_token("kiosk", "web server")
    kiosk_url = connect_as(pg_cluster, city, "upgraded_kiosk", "loket_main_kiosk")
    with Engine(kiosk_url, clock=clock, create=False) as kiosk:
        assert kiosk.device_role(secret) == "kiosk"  # device_tokens came with the upgrade


def test_the_web_server_runs_on_a_kiosk_login(pg_cluster, city, clock):
    """`loket serve` with the kiosk role: phone pages, their buttons and the API's checks."""
    from starlette.testclient import TestClient

    from web.server import create_app

    with Engine(city, clock=clock) as office:
        office.create_device_roles()
        secret = office.create_device_token("integration", "booking system")
        waiting = [office.issue_ticket("A").ticket for _ in range(2)]
        token = office.visitor_token(waiting[0])
    web = connect_as(pg_cluster, city, "web1", "loket_main_kiosk")
    with TestClient(create_app(web, clock=clock)) as client:
        assert client.get(f"/t/{token}").status_code == 200
        moved = client.post(f"/t/{token}/more-time", follow_redirects=False)
        assert moved.status_code == 303
        issued = client.post(
            "/api/v1/tickets",
            json={"service": "B"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert issued.status_code == 201 and issued.json()["number"] == "B001"
        assert client.get("/display").status_code == 200
    with Engine(city, clock=clock) as office:
        assert office.ticket("A001").postponed == 1
