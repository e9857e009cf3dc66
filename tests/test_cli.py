"""The `loket` command as a clerk or a script uses it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from loket.cli import main
from loket.config import default_config_text
from loket.engine import Engine
from tests.conftest import clerks_at


@pytest.fixture
def loket(db_path, clock, capsys):
    """Run `loket --db <fresh demo office> ARGS...`; returns (exit code, stdout, stderr)."""
    assert main(["--db", str(db_path), "init"], clock=clock) == 0
    capsys.readouterr()

    def run(*args: str):
        code = main(["--db", str(db_path), *args], clock=clock)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def table_rows(out: str, title: str) -> list[list[str]]:
    """The body rows of the Rich table titled `title`, each as its stripped cells."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    rows = []
    for line in lines[start + 4 :]:  # title, top border, header, header rule
        if not line.startswith("│"):
            break
        rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


def as_json(result) -> dict:
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def clerks(db_path, clock):
    """Clerks sit at every counter of the demo office (their apps hold the desks)."""

    def arrive():
        with Engine(db_path, clock=clock) as engine:
            clerks_at(engine, *engine.office.counters)

    return arrive


def test_a_walk_in_ticket_in_json_has_what_a_script_needs(loket, clerks):
    clerks()
    ticket = as_json(loket("ticket", "A", "--json"))
    assert {k: ticket[k] for k in ("number", "service", "kind", "status", "position")} == {
        "number": "A001",
        "service": "A",
        "kind": "walk_in",
        "status": "waiting",
        "position": 1,
    }
    assert ticket["estimated_wait_minutes"] == 0  # idle counters: called at once


def test_json_flag_may_come_before_the_command(loket):
    assert as_json(loket("--json", "ticket", "b"))["number"] == "B001"


def test_the_human_ticket_names_number_service_position_and_wait(loket, clerks):
    clerks()
    assert loket("ticket", "A", "--priority") == (
        0,
        "Ticket A001  Identiteitskaart en paspoort  (priority)\n"
        "Position 1 in line, estimated wait ~0 min\n",
        "",
    )


def test_services_lists_waiting_and_estimated_wait(loket, clerks):
    clerks()
    loket("ticket", "A")
    services = {s["code"]: s for s in as_json(loket("services", "--json"))["services"]}
    assert (services["A"]["waiting"], services["A"]["estimated_wait_minutes"]) == (
        1,
        5,
    )  # 8 minutes ahead, 3 counters
    assert (
        services["D"]["walk_in"] is False
        and services["A"]["name"] == "Identiteitskaart en paspoort"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ticket", "Z"), "loket: unknown service 'Z' (known: A, B, C, D)\n"),
        (("ticket", "D"), "loket: service D (Building and housing) takes appointments only\n"),
        (("call", "9"), "loket: unknown counter '9' (known: 1, 2, 3, 4)\n"),
        (("done", "1"), "loket: Loket 1 has no current ticket\n"),
        (("checkin", "nonsense"), "loket: Code not recognised: please go to the reception desk\n"),
        (("cancel", "A999"), "loket: no ticket A999 today\n"),
        (("appointments", "qr", "ABCD-EFGH"), "loket: no appointment with reference 'ABCD-EFGH'\n"),
    ],
)
def test_refusals_exit_1_with_one_line_on_stderr(loket, args, message):
    code, out, err = loket(*args)
    assert (code, out, err) == (1, "", message)


def test_a_database_named_with_db_must_exist(tmp_path, capsys):
    typo = tmp_path / "ofice.db"
    assert main(["--db", str(typo), "ticket", "A"]) == 1
    assert capsys.readouterr().err == (
        f"loket: no database at {typo}: create it with `loket --db {typo} init`\n"
    )
    assert not typo.exists()  # never a second office that hands out A001 again


def test_the_per_user_database_is_created_on_first_use(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LOKET_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["ticket", "A"]) == 0
    assert (tmp_path / "loket" / "loket.db").exists()


def test_usage_errors_exit_2(loket):
    with pytest.raises(SystemExit) as exit:
        loket("ticket")
    assert exit.value.code == 2
    with pytest.raises(SystemExit) as exit:
        loket("stats", "--date", "yesterday")
    assert exit.value.code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("counter", "9"), "loket: unknown counter '9' (known: 1, 2, 3, 4)\n"),
        (("display", "--services", "a,z"), "loket: unknown service 'Z' (known: A, B, C, D)\n"),
        (
            ("display", "--counters", "1,7,8"),
            "loket: unknown counter '7', '8' (known: 1, 2, 3, 4)\n",
        ),
        (("display", "--history", "99"), "loket: --history: expected 0 to 50 earlier calls\n"),
    ],
)
def test_apps_refuse_a_typo_before_opening_a_screen(loket, args, message):
    loket("init")
    code, out, err = loket(*args)
    assert (code, err) == (1, message)


def test_display_picks_counters_by_their_ids_as_the_config_spells_them(
    db_path, clock, capsys, tmp_path
):
    config = tmp_path / "office.toml"
    config.write_text(default_config_text().replace('id = "4"', 'id = "hal"'))
    assert main(["--db", str(db_path), "init", "--config", str(config)], clock=clock) == 0
    capsys.readouterr()
    assert main(["--db", str(db_path), "display", "--counters", "hal,7"], clock=clock) == 1
    assert capsys.readouterr().err == "loket: unknown counter '7' (known: 1, 2, 3, hal)\n"


def test_display_voice_must_be_a_language_or_off(loket):
    with pytest.raises(SystemExit) as exit:
        loket("display", "--voice", "es")
    assert exit.value.code == 2


def test_a_frozen_clock_stops_time_for_screenshots(db_path, monkeypatch, capsys):
    monkeypatch.setenv("LOKET_FROZEN_CLOCK", "2026-12-01T08:00:00+00:00")
    assert main(["--db", str(db_path), "init"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db_path), "ticket", "A", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arrived_at"] == "2026-12-01T08:00:00.000000+00:00"
    monkeypatch.setenv("LOKET_FROZEN_CLOCK", "2026-12-01 09:00")
    with pytest.raises(SystemExit, match="needs a UTC offset"):
        main(["--db", str(db_path), "status"])


def test_a_clerk_calls_recalls_transfers_and_finishes(loket):
    loket("ticket", "A")
    loket("ticket", "A")
    call = as_json(loket("call", "1", "--json"))
    assert (call["number"], call["counter"]) == ("A001", "1")
    assert as_json(loket("recall", "1", "--json"))["ticket"]["recalls"] == 1
    moved = as_json(loket("transfer", "1", "C", "--json"))
    assert (moved["number"], moved["ticket"]["service"], moved["position"]) == ("A001", "C", 1)
    assert as_json(loket("call", "2", "--json"))["number"] == "A001"
    assert as_json(loket("noshow", "2", "--json"))["ticket"]["status"] == "no_show"
    assert as_json(loket("call", "1", "A002", "--json"))["number"] == "A002"
    assert as_json(loket("done", "1", "--json"))["ticket"]["status"] == "done"
    assert as_json(loket("call", "1", "--json"))["number"] is None


def test_pause_and_resume(loket):
    assert as_json(loket("pause", "2", "--json"))["state"] == "paused"
    assert loket("call", "2")[2] == "loket: Loket 2 is paused: resume it first\n"
    assert as_json(loket("resume", "2", "--json"))["state"] == "open"


def test_status_shows_lines_counters_and_recent_calls(loket, clerks, clock):
    clerks()
    loket("ticket", "A")
    loket("ticket", "C")
    loket("call", "2")
    status = as_json(loket("status", "--json"))
    assert [c["id"] for c in status["counters"]] == ["1", "2", "3", "4"]
    desk = status["counters"][1]
    assert (desk["name"], desk["state"], desk["services"], desk["current"]["number"]) == (
        "Loket 2",
        "open",
        ["A", "C"],
        "A001",
    )
    assert (
        status["recent_calls"][0]["number"] == "A001"
        and status["recent_calls"][0]["counter"] == "2"
    )
    assert {s["code"]: s["tickets"] for s in status["services"]}["C"] == ["C001"]
    code, out, _ = loket("status")
    assert code == 0
    assert table_rows(out, "Counters")[1] == ["Loket 2", "open", "A C", "A001"]
    assert "Needs attention" not in out
    assert table_rows(out, "Lines")[2] == ["C Burgerlijke stand", "1", "~10 min", "C001"]
    assert table_rows(out, "Latest calls") == [["09:00:00", "A001", "Loket 2"]]


def test_an_appointment_booked_then_checked_in_by_reference(loket):
    booked = as_json(
        loket("appointments", "add", "B", "--at", "09:20", "--name", "Jan Janssens", "--json")
    )
    assert booked["at"] == "2026-12-01T08:20:00+00:00" and len(booked["reference"]) == 9
    listed = as_json(loket("appointments", "list", "--json"))["appointments"]
    assert [a["reference"] for a in listed] == [booked["reference"]]
    result = as_json(loket("checkin", booked["reference"].lower(), "--json"))
    assert (result["outcome"], result["number"], result["kind"]) == (
        "accepted",
        "R001",
        "appointment",
    )
    again = as_json(loket("checkin", booked["qr_payload"], "--json"))
    assert (again["outcome"], again["number"]) == ("already_checked_in", "R001")


def test_a_refused_check_in_prints_the_outcome_as_json_and_exits_1(loket):
    booked = as_json(loket("appointments", "add", "B", "--at", "11:00", "--json"))
    code, out, err = loket("checkin", booked["qr_payload"], "--json")
    assert code == 1 and json.loads(out)["outcome"] == "too_early"
    assert err == "loket: Too early: check in from 10:30\n"


def test_qr_png_decodes_to_the_payload(loket, tmp_path):
    import zxingcpp
    from PIL import Image

    booked = as_json(loket("appointments", "add", "A", "--at", "10:00", "--json"))
    png = tmp_path / "qr.png"
    assert loket("appointments", "qr", booked["reference"], "--png", str(png))[0] == 0
    (found,) = zxingcpp.read_barcodes(Image.open(png))
    assert found.text == booked["qr_payload"]


def test_qr_in_the_terminal_is_drawn_with_blocks(loket):
    from loket import qr

    booked = as_json(loket("appointments", "add", "A", "--at", "10:00", "--json"))
    code, out, _ = loket("appointments", "qr", booked["reference"])
    assert code == 0
    assert out == qr.as_text(booked["qr_payload"]) + f"\n{booked['reference']}  2026-12-01\n"


def test_init_with_an_invalid_config_file_exits_1_and_creates_nothing(tmp_path, capsys):
    bad = tmp_path / "office.toml"
    bad.write_text('office = "X"\ntimezone = "Nowhere/Town"\n')
    fresh = tmp_path / "new.db"
    code = main(["--db", str(fresh), "init", "--config", str(bad)])
    err = capsys.readouterr().err
    assert (
        code == 1
        and err == "loket: invalid office config: timezone: unknown time zone 'Nowhere/Town'\n"
    )
    assert not fresh.exists()


def test_stats_of_a_day_as_json_and_csv(loket, clock, tmp_path):
    loket("ticket", "A")
    clock.advance(minutes=6)
    loket("call", "1")
    clock.advance(minutes=4)
    loket("done", "1")
    csv_file = tmp_path / "day.csv"
    report = as_json(loket("stats", "--date", "2026-12-01", "--csv", str(csv_file), "--json"))
    assert report["overall"]["served"] == 1 and report["overall"]["median_wait_minutes"] == 6.0
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert (rows[0]["group"], rows[0]["served"], rows[0]["median_wait_minutes"]) == (
        "overall",
        "1",
        "6.0",
    )
    code, out, _ = loket("stats", "--from", "2026-11-30", "--to", "2026-12-01")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "Stadhuis Demo: 2026-11-30 to 2026-12-01"
    assert lines[-2:] == ["Arrivals per hour", "09 " + "█" * 40 + " 1"]


def test_purge_reports_how_many_names_it_erased(loket, clock):
    loket("appointments", "add", "A", "--at", "10:00", "--name", "Piet")
    clock.advance(days=40)
    assert as_json(loket("purge", "--json")) == {"purged": 1}


def test_status_lists_waiting_numbers_in_calling_order(loket, clock):
    loket("ticket", "A")
    clock.advance(minutes=1)
    loket("ticket", "A", "--priority")
    status = as_json(loket("status", "--json"))
    assert {s["code"]: s["tickets"] for s in status["services"]}["A"] == ["A002", "A001"]


# --- Times as a clerk types them, and bookings in the past ------------------------------


@pytest.mark.parametrize("typed", ["9:05", "09:05", " 9:05 "])
def test_an_hour_is_typed_with_one_digit_or_two_as_in_csv_imports(loket, typed):
    booked = as_json(loket("appointments", "add", "A", "--at", typed, "--json"))
    assert booked["at"] == "2026-12-01T08:05:00+00:00"  # 09:05 in Brussels


@pytest.mark.parametrize("typed", ["now", "NOW"])
def test_now_books_this_very_moment(loket, clock, typed):
    clock.advance(seconds=42)
    booked = as_json(loket("appointments", "add", "A", "--at", typed, "--json"))
    assert booked["at"] == "2026-12-01T08:00:42+00:00"


def test_a_time_already_past_today_is_refused_and_nothing_is_booked(loket):
    assert loket("appointments", "add", "A", "--at", "8:59") == (
        1,
        "",
        "loket: 2026-12-01 08:59 is in the past (it is now 2026-12-01 09:00): "
        "give a later time or another --date, or --at now\n",
    )
    assert as_json(loket("appointments", "list", "--json"))["appointments"] == []


def test_a_past_day_is_refused(loket):
    code, out, err = loket("appointments", "add", "A", "--at", "10:00", "--date", "2026-11-30")
    assert (code, out) == (1, "")
    assert err.startswith("loket: 2026-11-30 10:00 is in the past (it is now 2026-12-01 09:00)")


def test_the_minute_that_is_running_is_not_past(loket, clock):
    clock.advance(seconds=59)
    booked = as_json(loket("appointments", "add", "A", "--at", "9:00", "--json"))
    assert booked["at"] == "2026-12-01T08:00:00+00:00"


def test_now_on_another_day_is_refused(loket):
    code, out, err = loket("appointments", "add", "A", "--at", "now", "--date", "2026-12-02")
    assert (code, out) == (1, "")
    assert err == "loket: --at now is today: give a time such as 9:05 for another day\n"
    assert as_json(
        loket("appointments", "add", "A", "--at", "now", "--date", "2026-12-01", "--json")
    )


def write_bookings(tmp_path, *rows: str):
    path = tmp_path / "bookings.csv"
    path.write_text("uid;date;time;service;status\n" + "".join(f"{r}\n" for r in rows))
    return str(path)


def test_an_import_with_past_rows_imports_them_and_warns_once_with_the_count(loket, tmp_path):
    bookings = write_bookings(
        tmp_path,
        "w-1;2026-11-30;10:00;A;",
        "w-2;2026-12-01;8:45;A;",
        "w-3;2026-12-01;8:50;A;cancelled",  # a cancellation in the past is no surprise
        "w-4;2026-12-01;9:30;A;",
    )
    code, out, err = loket("appointments", "import", bookings)
    assert (code, out) == (0, f"Imported {bookings}: 3 added, 0 updated, 1 cancelled\n")
    assert err == "loket: warning: 2 appointments are already past (line 2, line 3)\n"
    assert as_json(loket("appointments", "import", bookings, "--json"))["past"] == [
        "line 2",
        "line 3",
    ]


def test_one_past_row_is_warned_about_in_the_singular(loket, tmp_path):
    bookings = write_bookings(tmp_path, "w-1;2026-12-01;8:45;A;", "w-2;2026-12-01;9:30;A;")
    assert loket("appointments", "import", bookings)[2] == (
        "loket: warning: 1 appointment is already past (line 2)\n"
    )


def test_many_past_rows_are_named_five_then_counted(loket, tmp_path):
    bookings = write_bookings(tmp_path, *(f"w-{n};2026-11-{n:02d};10:00;A;" for n in range(1, 9)))
    assert loket("appointments", "import", bookings)[2] == (
        "loket: warning: 8 appointments are already past "
        "(line 2, line 3, line 4, line 5, line 6 and 3 more)\n"
    )


def test_an_import_of_future_bookings_says_nothing_on_stderr(loket):
    sample = Path(__file__).parent.parent / "data" / "appointments-sample.csv"
    code, _, err = loket("appointments", "import", str(sample))
    assert (code, err) == (0, "")


# --- Counts in the singular and the plural -----------------------------------------------


def test_init_counts_services_and_counters_in_the_singular_or_plural(loket, tmp_path, capsys):
    assert loket("init")[1].startswith("Stadhuis Demo: 4 services, 4 counters, database ")
    config = tmp_path / "small.toml"
    config.write_text(
        'office = "Dorp"\ntimezone = "Europe/Brussels"\nlanguages = ["nl"]\n'
        '[[services]]\ncode = "A"\nname = { nl = "Alles" }\n'
        '[[counters]]\nid = "1"\nname = "Loket"\nservices = ["A"]\n',
        encoding="utf-8",
    )
    small = tmp_path / "dorp.db"
    assert main(["--db", str(small), "init", "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"Dorp: 1 service, 1 counter, database {small}\n"


@pytest.mark.parametrize(("names", "erased"), [(1, "1 appointment"), (2, "2 appointments")])
def test_purge_counts_the_names_it_erased(loket, clock, names, erased):
    for n in range(names):
        loket("appointments", "add", "A", "--at", f"10:0{n}", "--name", "Piet")
    clock.advance(days=40)
    assert loket("purge") == (0, f"erased the names of {erased} older than 30 days\n", "")


def test_purge_after_one_day_says_day(tmp_path, clock, capsys):
    config = tmp_path / "office.toml"
    config.write_text(
        default_config_text().replace("retention_days = 30", "retention_days = 1"),
        encoding="utf-8",
    )
    db = str(tmp_path / "short.db")
    assert main(["--db", db, "init", "--config", str(config)], clock=clock) == 0
    clock.advance(days=3)
    capsys.readouterr()
    assert main(["--db", db, "purge"], clock=clock) == 0
    assert capsys.readouterr().out == "erased the names of 0 appointments older than 1 day\n"


def test_a_no_show_is_brought_back_behind_the_next_three(loket, clerks, clock):
    for _ in range(5):
        loket("ticket", "A")
        clock.advance(minutes=1)
    clerks()
    loket("call", "1")
    loket("noshow", "1")
    code, out, err = loket("reinstate", "a001")
    assert (code, err) == (0, "")
    assert out == "A001 is back in line for service A: position 4, estimated wait ~10 min\n"
    status = as_json(loket("status", "--json"))
    assert status["services"][0]["tickets"] == ["A002", "A003", "A004", "A001", "A005"]


def test_a_reinstated_ticket_in_json_says_where_it_is_and_how_often_it_came_back(loket, clerks):
    clerks()
    loket("ticket", "B")
    loket("call", "3")
    loket("noshow", "3")
    back = as_json(loket("reinstate", "B001", "--json"))
    assert (back["number"], back["status"], back["reinstated"], back["position"]) == (
        "B001",
        "waiting",
        1,
        1,
    )
    assert back["estimated_wait_minutes"] == 0 and back["called_around"] is not None


@pytest.mark.parametrize(
    ("story", "said"),
    [
        ((), "loket: A001 cannot come back: it is still waiting\n"),
        (("call", "noshow", "reinstate", "call", "noshow"),
         "loket: A001 cannot come back: it came back once already\n"),
        (("call", "noshow", "later"),
         "loket: A001 cannot come back: it was missed more than 30 minutes ago\n"),
        ((), "loket: no ticket A009 today\n"),
    ],
)  # fmt: skip
def test_a_ticket_the_policy_does_not_take_back_is_refused_and_stays_as_it_was(
    loket, clock, story, said
):
    loket("ticket", "A")
    for step in story:
        if step == "later":
            clock.advance(minutes=31)
        elif step == "reinstate":
            loket("reinstate", "A001")
        else:
            loket(step, "1")
    before = loket("--json", "status")
    number = "A009" if "A009" in said else "A001"
    assert loket("reinstate", number) == (1, "", said)
    assert loket("--json", "status") == before
