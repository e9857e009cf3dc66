"""Bad input at the `loket` command: one clear sentence and nothing changed, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket.cli import main
from loket.config import default_config_text

ICS_IN_YEAR_9999 = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:late\r\n"
    "SUMMARY:paspoort\r\nDTSTART:99991231T233000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def loket(db_path, clock, capsys, monkeypatch):
    """Run `loket --db <fresh demo office> ARGS...`; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that Rich never cuts a name short
    assert main(["--db", str(db_path), "init"], clock=clock) == 0
    capsys.readouterr()

    def run(*args: str):
        try:
            code = main(["--db", str(db_path), *args], clock=clock)
        except SystemExit as usage:  # argparse refuses a malformed command line this way
            code = usage.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def booked(loket, *extra: str) -> dict:
    code, out, err = loket("appointments", "add", "A", "--at", "10:00", *extra, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_one_sentence(result, code: int) -> None:
    exit_code, _out, err = result
    assert exit_code == code, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("loket") and "unexpected error" not in err and "Traceback" not in err


# --- Item 16: each of these used to print "unexpected error" ------------------------------


def test_a_huge_number_of_calls_is_a_usage_error(loket):
    result = loket("status", "--calls", "99999999999999999999999")
    assert_one_sentence(result, 2)
    assert "--calls: expected a whole number from 0 to 1000" in result[2]


@pytest.mark.parametrize("where", ["missing/x.csv", "", "n" * 300 + ".csv"])
def test_stats_csv_that_cannot_be_written_is_one_sentence(loket, tmp_path, where):
    target = tmp_path / where  # "" is the folder itself
    code, out, err = loket("stats", "--csv", str(target))
    assert (code, out) == (1, "")
    assert err.startswith(f"loket: cannot write {target}: ") and err.count("\n") == 1


def test_a_qr_png_that_cannot_be_written_is_one_sentence(loket, tmp_path):
    reference = booked(loket)["reference"]
    target = tmp_path / "missing" / "q.png"
    code, out, err = loket("appointments", "qr", reference, "--png", str(target))
    assert (code, out) == (1, "")
    assert err.startswith(f"loket: cannot write {target}: ") and err.count("\n") == 1


def test_an_appointment_in_year_one_is_refused(loket):
    result = loket("appointments", "add", "A", "--at", "00:10", "--date", "0001-01-01")
    assert result == (1, "", "loket: 0001-01-01 00:10 is out of the range of dates Loket keeps\n")


def test_an_ics_event_in_year_9999_is_refused_naming_it(loket, tmp_path):
    path = tmp_path / "late.ics"
    path.write_text(ICS_IN_YEAR_9999, encoding="utf-8")
    code, out, err = loket("appointments", "import", str(path), "--service", "A")
    assert (code, out) == (1, "")
    assert err == "loket: UID late: 9999-12-31 23:30 is out of the range of dates Loket keeps\n"
    assert loket("appointments", "list", "--json")[1].count('"reference"') == 0


def test_an_empty_db_option_is_refused_not_the_per_user_office(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LOKET_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["--db", "", "ticket", "A"]) == 1
    assert capsys.readouterr().err == "loket: --db: the path is empty\n"
    assert not (tmp_path / "loket").exists()


@pytest.mark.parametrize("target", ["mysql://loket@db/loket", "postgresql:/db.stad.local/loket"])
@pytest.mark.parametrize("command", [["status"], ["counter", "1"], ["display"], ["kiosk"]])
def test_a_database_that_is_no_file_nor_postgresql_url_is_one_sentence(
    tmp_path, monkeypatch, target, command
):
    """Said before any screen opens: an app would otherwise wait for it forever."""
    monkeypatch.chdir(tmp_path)  # a relative "file" named so would land here, never elsewhere
    run = subprocess.run(
        [sys.executable, "-m", "loket", "--db", target, *command],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert (run.returncode, run.stderr) == (
        1,
        f"loket: {target} is neither a file nor a postgresql://USER@HOST/DATABASE URL\n",
    )
    assert list(tmp_path.iterdir()) == []


# --- Item 15: names from outside print as the characters they are ------------------------


@pytest.mark.parametrize(
    "name",
    ["[/]", "[link=https://example.org]click[/link]", "[bold red]boo", "Jan \\[x]"],
)
def test_an_appointment_name_with_rich_markup_prints_literally(loket, name):
    booked(loket, "--name", name)
    code, out, err = loket("appointments", "list")
    assert (code, err) == (0, "")
    assert name in out


def test_terminal_escapes_in_a_name_are_shown_never_sent(loket):
    booked(loket, "--name", "\x1b[2J\x1b]8;;https://example.org\x07Jan")
    code, out, _ = loket("appointments", "list")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out


def test_office_service_and_counter_names_with_markup_print_literally(loket, tmp_path):
    config = (
        default_config_text()
        .replace('office = "Stadhuis Demo"', 'office = "Stadhuis [/] [red]Demo"', 1)
        .replace('name = "Loket 1"', 'name = "[link=https://x.test]Loket 1[/link]"', 1)
    )
    assert config != default_config_text()
    (tmp_path / "office.toml").write_text(config, encoding="utf-8")
    assert loket("init", "--config", str(tmp_path / "office.toml"))[0] == 0
    loket("ticket", "A")
    loket("call", "1")
    for command in (("status",), ("stats",), ("init",), ("recall", "1")):
        code, out, err = loket(*command)
        assert (code, err) == (0, ""), command
        assert "\x1b" not in out, command
    assert "[link=https://x.test]Loket 1[/link]" in loket("status")[1]
    assert "Stadhuis [/] [red]Demo" in loket("stats")[1]


# --- No argument list ends in a traceback ------------------------------------------------

WORDS = st.sampled_from(
    [
        "init",
        "services",
        "ticket",
        "cancel",
        "checkin",
        "call",
        "recall",
        "done",
        "noshow",
        "pause",
        "resume",
        "transfer",
        "status",
        "appointments",
        "add",
        "import",
        "list",
        "qr",
        "stats",
        "purge",
        "--json",
        "--priority",
        "--at",
        "--date",
        "--name",
        "--calls",
        "--csv",
        "--png",
        "--images",
        "--format",
        "svg",
        "9:05",
        "--from",
        "--to",
        "--service",
        "--config",
        "A",
        "b",
        "Z",
        "1",
        "9",
        "A001",
        "0",
        "-1",
        "99999999999999999999",
        "10:30",
        "25:00",
        "02:30",
        "10:30+05:00",
        "now",
        "2026-03-29",
        "0001-01-01",
        "9999-12-31",
        "[/]",
        "\x1b[31m",
        "",
        " ",
        "ABCD-EFGH",
        "out.csv",
        "in.csv",
        "in.ics",
        "q.png",
        "office.toml",
        "sub/",
        "sub/x.csv",
    ]  # fmt: skip
)


COMMANDS = st.sampled_from(
    [[], ["status", "--calls"], ["stats", "--csv"], ["stats", "--date"], ["ticket"], ["call"],
     ["appointments", "add", "A", "--at"], ["appointments", "add", "A", "--date"],
     ["appointments", "import"], ["appointments", "qr"], ["init", "--config"], ["checkin"],
     ["appointments", "export", "--csv"], ["appointments", "export", "--images"]]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.builds(lambda command, rest: command + rest, COMMANDS, st.lists(WORDS, max_size=5)))
def test_no_command_line_ends_in_a_traceback(tmp_path_factory, monkeypatch, words):
    # Every path the words name is relative to this throwaway folder, and so is the database.
    folder = tmp_path_factory.mktemp("fuzz")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    monkeypatch.delenv("LOKET_DB", raising=False)
    (folder / "sub").mkdir()
    (folder / "in.csv").write_text("date;time;service\n2026-12-07;09:00;A\n", encoding="utf-8")
    (folder / "in.ics").write_text(ICS_IN_YEAR_9999, encoding="utf-8")
    (folder / "office.toml").write_text('office = "[/]"\n', encoding="utf-8")
    assert main(["--db", "loket.db", "init"]) == 0
    before = set(os.listdir(folder))
    run_without_traceback(["--db", "loket.db", *words])
    # Every path is relative to the folder; a file the command wrote is one the words name.
    assert set(os.listdir(folder)) - before <= {*words, "loket.db-wal", "loket.db-shm"}


def run_without_traceback(argv: list[str]) -> None:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as usage:
            code = usage.code
    assert code in (0, 1, 2), (argv, err.getvalue())
    assert "unexpected error" not in err.getvalue(), (argv, err.getvalue())


# --- Item 11: a time is kept as given, or refused; never silently moved -----------------


def test_a_time_the_spring_clocks_skip_is_refused(loket):
    result = loket("appointments", "add", "A", "--at", "02:30", "--date", "2026-03-29")
    assert result == (
        1,
        "",
        "loket: 2026-03-29 02:30 does not exist in Europe/Brussels: "
        "the clocks go forward that night\n",
    )
    assert json.loads(loket("appointments", "list", "--json")[1])["appointments"] == []


def test_a_time_the_autumn_clocks_pass_twice_is_the_first_one(loket):
    booked = json.loads(
        loket("appointments", "add", "A", "--at", "2:30", "--date", "2027-10-31", "--json")[1]
    )
    assert booked["at"] == "2027-10-31T00:30:00+00:00"  # 02:30 summer time (UTC+2)


def test_a_time_with_its_own_offset_is_that_moment(loket):
    code, out, err = loket("appointments", "add", "A", "--at", "14:30+05:00", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["at"] == "2026-12-01T09:30:00+00:00"  # 10:30 in Brussels


@pytest.mark.parametrize("typed", ["9:5", "24:00", "9.05", "9u05", "905", "", "9:05 pm", "nu"])
def test_a_time_that_is_not_a_time_is_one_sentence(loket, typed):
    assert loket("appointments", "add", "A", "--at", typed) == (
        1,
        "",
        f"loket: --at {typed!r} is not a time like 9:05 or 10:30\n",
    )


def test_a_past_time_with_its_own_offset_is_refused_in_office_time(loket):
    code, out, err = loket("appointments", "add", "A", "--at", "10:30+05:00")
    assert (code, out) == (1, "")
    assert err.startswith("loket: 2026-12-01 06:30 is in the past (it is now 2026-12-01 09:00)")


def test_the_python_api_refuses_a_naive_datetime(office):
    from datetime import datetime

    from loket.errors import Refused

    with pytest.raises(Refused) as refusal:
        office.add_appointment("A", datetime(2026, 12, 1, 10, 30))
    assert str(refusal.value) == (
        "2026-12-01 10:30 has no time zone: give a time zone or UTC offset"
    )
    assert office.appointments() == []


def test_the_python_api_refuses_a_zoned_time_the_clocks_skip(office):
    from datetime import datetime

    from loket.errors import Refused

    gap = datetime(2026, 3, 29, 2, 30, tzinfo=office.office.timezone)
    with pytest.raises(Refused, match="does not exist in Europe/Brussels"):
        office.add_appointment("A", gap)
    assert office.appointments() == []


def test_json_output_escapes_the_controls_json_itself_leaves_raw(loket):
    # json.dumps(ensure_ascii=False) leaves DEL and the C1 controls (U+009B is a CSI) raw.
    booked(loket, "--name", "Jan\x7f\x9b2J")
    code, out, _ = loket("appointments", "list", "--json")
    assert code == 0 and "\x7f" not in out and "\x9b" not in out
    assert json.loads(out)["appointments"][0]["name"] == "Jan\x7f\x9b2J"


def test_a_damaged_database_schema_is_one_sentence(loket, db_path):
    # A byte flipped inside the schema makes SQLite's own error message undecodable:
    # Python's sqlite3 then raises UnicodeDecodeError instead of a database error.
    import sqlite3

    loket("ticket", "A")
    with sqlite3.connect(db_path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    data = db_path.read_bytes()
    # In the counters table, where a constraint must follow UNIQUE: SQLite quotes the bad word.
    at = data.index(b"UNIQUE REFERENCES tickets") + len("UNIQUE RE")
    db_path.write_bytes(data[:at] + b"\xff" + data[at + 1 :])
    code, out, err = loket("status")
    assert (code, out) == (1, "")
    assert (
        err == f"loket: {db_path} is damaged (it holds bytes that are not text); restore a backup\n"
    )


def test_stats_and_report_call_a_period_ending_before_it_starts_a_usage_error(tmp_path, capsys):
    db = str(tmp_path / "o.db")
    assert main(["--db", db, "init"]) == 0
    capsys.readouterr()
    period = ["--from", "2026-12-07", "--to", "2026-12-01"]
    assert main(["--db", db, "stats", *period]) == 2
    assert capsys.readouterr().err == "loket: --to 2026-12-01 is before --from 2026-12-07\n"
    assert main(["--db", db, "report", *period, "--html", str(tmp_path / "r.html")]) == 2
    assert "is before --from" in capsys.readouterr().err
