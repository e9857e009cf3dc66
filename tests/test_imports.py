"""A clerk imports the booking system's appointments: iCalendar or CSV, all or nothing."""

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket.config import default_config_text, load_config
from loket.errors import ImportRefused
from loket.imports import ImportPlan, Row, read_appointments, started_before

pytestmark = pytest.mark.backends

SAMPLES = Path(__file__).parent / "samples" / "ical"
DATA = Path(__file__).parent.parent / "data"
OFFICE = load_config(default_config_text())
EXCHANGE_UID = (
    "040000008200E00074C5B7101A82E00800000000EF8046288216DB01000000000000000"
    "0100000000D748168D60A25439FA3E76297E80CB0"
)

ROMANCE_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Romance Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def calendar(*events: str, extra: str = "") -> str:
    """An iCalendar file holding the given VEVENT bodies."""
    body = "".join(f"BEGIN:VEVENT\n{event.strip()}\nEND:VEVENT\n" for event in events)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{extra}{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n")


def event(uid: str = "a1@booking", start: str = "DTSTART:20261207T090000", **props: str) -> str:
    lines = [f"UID:{uid}"] if uid else []
    lines.append(start)
    lines += [f"{key.replace('_', '-').upper()}:{value}" for key, value in props.items()]
    return "\n".join(lines)


def read_ics(tmp_path: Path, *events: str, service: str | None = None, extra: str = ""):
    path = write(tmp_path, "export.ics", calendar(*events, extra=extra))
    return read_appointments(path, OFFICE, service)


def read_csv(tmp_path: Path, text: str, service: str | None = None) -> ImportPlan:
    return read_appointments(write(tmp_path, "export.csv", text), OFFICE, service)


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ImportRefused) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def office_where_d_takes_no_appointments():
    services = dict(OFFICE.services)
    services["D"] = replace(services["D"], appointments=False)
    return replace(OFFICE, services=services)


# --- The sample calendars from real calendar programs -----------------------------------


def test_exchange_export_with_windows_time_zone_imports_at_the_right_utc_time():
    plan = read_appointments(SAMPLES / "exchange-2010-export.ics", OFFICE, service="A")
    # 18:30 "GMT Standard Time" on 4 October 2024 is British Summer Time (UTC+1).
    assert plan.rows == [
        Row(f"UID {EXCHANGE_UID}", EXCHANGE_UID, "A", utc(2024, 10, 4, 17, 30), None, False)
    ]
    assert plan.skipped == [
        "UID 111: all-day event, not an appointment",
        "UID 040000008200E00074C5B7101A82E00800000000C41E94C5B4F3DA01000000000000000"
        "0100000007EA1D0AA9DB96545A536FABC0B0C1F5A: all-day event, not an appointment",
    ]


def test_exchange_export_without_a_service_is_refused_naming_the_timed_event():
    message = refused(read_appointments, SAMPLES / "exchange-2010-export.ics", OFFICE)
    assert f"UID {EXCHANGE_UID}" in message
    assert "outlook event with alarm" in message


def test_google_export_in_utc_imports_with_a_chosen_service():
    plan = read_appointments(SAMPLES / "google-calendar-export.ics", OFFICE, service="A")
    [row] = plan.rows
    assert row.uid == "79fs7pkqvht9m5igs0vjv1sfra@google.com"
    assert row.starts_at == utc(2024, 10, 4, 18, 15)
    assert row.name is None  # the attendee of an alarm is not the visitor
    assert plan.skipped == []


def test_google_export_without_matching_keywords_is_refused_naming_the_uid():
    message = refused(read_appointments, SAMPLES / "google-calendar-export.ics", OFFICE)
    assert "UID 79fs7pkqvht9m5igs0vjv1sfra@google.com" in message
    assert "no service matches" in message


@pytest.mark.parametrize(
    ("sample", "problem"),
    [
        ("bad-bom-empty.ics", "holds no appointments"),
        ("bad-double-semicolon.ics", "UID abc: has no readable start time (DTSTART)"),
        ("bad-empty-events.ics", "is not a valid iCalendar file"),
        ("bad-fuzz-truncated.ics", "is not a valid iCalendar file"),
    ],
)
def test_broken_calendars_are_refused_with_one_clear_sentence(sample, problem):
    for service in (None, "A"):
        message = refused(read_appointments, SAMPLES / sample, OFFICE, service)
        assert problem in message
        assert len(message) < 250


# --- The demo files in data/ -------------------------------------------------------------


def test_demo_ics_export_imports_five_appointments_and_skips_the_rest():
    plan = read_appointments(DATA / "appointments-sample.ics", OFFICE)
    summary = [
        (r.uid.split("@")[0], r.service, r.starts_at, r.name, r.cancelled) for r in plan.rows
    ]
    assert summary == [
        ("bk-2026-0001", "A", utc(2026, 12, 7, 8, 0), "Jan Peeters", False),
        ("bk-2026-0002", "B", utc(2026, 12, 7, 9, 20), "An Janssens", False),
        ("bk-2026-0003", "A", utc(2026, 12, 8, 9, 0), "Pieter De Smet", False),
        ("bk-2026-0004", "C", utc(2026, 12, 9, 13, 0), "Sofie Willems", True),
        ("bk-2026-0005", "D", utc(2026, 12, 10, 9, 30), None, False),
    ]
    assert [reason.split(": ")[1] for reason in plan.skipped] == [
        "all-day event, not an appointment",
        "recurring event, not an appointment",
    ]


def test_demo_csv_export_imports_six_appointments_one_cancelled():
    plan = read_appointments(DATA / "appointments-sample.csv", OFFICE)
    assert [(r.where, r.uid, r.service, r.cancelled) for r in plan.rows] == [
        ("line 2", "web-5001", "A", False),
        ("line 3", "web-5002", "B", False),
        ("line 4", "web-5003", "A", False),
        ("line 5", "web-5004", "C", True),
        ("line 6", "web-5005", "D", False),
        ("line 7", "web-5006", "B", False),
    ]
    assert plan.rows[0].starts_at == utc(2026, 12, 14, 7, 45)
    assert plan.rows[0].name == "Lotte Maes"
    assert plan.rows[4].name is None


# --- Which file and which service ---------------------------------------------------------


def test_a_file_that_is_neither_ics_nor_csv_is_refused(tmp_path):
    path = write(tmp_path, "export.xlsx", "date,time\n2026-12-07,09:00\n")
    assert "not an .ics or .csv file" in refused(read_appointments, path, OFFICE)


def test_the_extension_is_recognised_in_capitals(tmp_path):
    path = write(tmp_path, "EXPORT.ICS", calendar(event(categories="Paspoort")))
    assert read_appointments(path, OFFICE).rows[0].service == "A"


def test_a_missing_file_is_refused_naming_it(tmp_path):
    message = refused(read_appointments, tmp_path / "nowhere.csv", OFFICE)
    assert "nowhere.csv" in message


def test_the_chosen_service_overrides_categories_and_columns(tmp_path):
    assert read_ics(tmp_path, event(categories="Verhuizing"), service="C").rows[0].service == "C"
    plan = read_csv(tmp_path, "date,time,service\n2026-12-07,09:00,A\n", service="c")
    assert plan.rows[0].service == "C"


def test_an_unknown_chosen_service_is_refused(tmp_path):
    message = refused(read_csv, tmp_path, "date,time\n2026-12-07,09:00\n", service="Z")
    assert message == "--service: unknown service 'Z'"


def test_a_chosen_service_that_takes_no_appointments_is_refused(tmp_path):
    path = write(tmp_path, "export.csv", "date,time\n2026-12-07,09:00\n")
    message = refused(read_appointments, path, office_where_d_takes_no_appointments(), "D")
    assert message == "--service: service 'D' does not take appointments"


def test_a_category_leading_to_a_service_without_appointments_is_refused(tmp_path):
    path = write(tmp_path, "export.csv", "date,time,category\n2026-12-07,09:00,Bouwaanvraag\n")
    message = refused(read_appointments, path, office_where_d_takes_no_appointments())
    assert message == "line 2: service 'D' does not take appointments"


def test_ics_categories_choose_the_service(tmp_path):
    plan = read_ics(tmp_path, event(categories="Afspraak,Burgerlijke stand", summary="Balie"))
    assert plan.rows[0].service == "C"


def test_a_keyword_in_the_summary_chooses_the_service(tmp_path):
    plan = read_ics(tmp_path, event(summary="Nieuwe IDENTITEITSKAART ophalen"))
    assert plan.rows[0].service == "A"


def test_a_summary_naming_two_services_is_refused_as_ambiguous(tmp_path):
    message = refused(read_ics, tmp_path, event(summary="Verhuizing en nieuw paspoort"))
    assert message.startswith("UID a1@booking: summary 'Verhuizing en nieuw paspoort'")
    assert "matches services" in message


def test_an_event_that_maps_to_no_service_is_refused_naming_its_uid(tmp_path):
    message = refused(read_ics, tmp_path, event(summary="Koffie"), event("b2", summary="Paspoort"))
    assert message.startswith("UID a1@booking: no service matches summary 'Koffie'")


# --- iCalendar times ---------------------------------------------------------------------


def test_windows_time_zone_without_vtimezone_is_mapped_to_the_real_zone(tmp_path):
    winter = event("w", "DTSTART;TZID=Romance Standard Time:20261207T093000", categories="Paspoort")
    summer = event("s", "DTSTART;TZID=Romance Standard Time:20260707T093000", categories="Paspoort")
    plan = read_ics(tmp_path, winter, summer)
    assert [row.starts_at for row in plan.rows] == [utc(2026, 12, 7, 8, 30), utc(2026, 7, 7, 7, 30)]


def test_windows_time_zone_with_its_vtimezone_gives_the_same_utc_time(tmp_path):
    start = "DTSTART;TZID=Romance Standard Time:20260707T093000"
    plan = read_ics(tmp_path, event(start=start, categories="Paspoort"), extra=ROMANCE_VTIMEZONE)
    assert plan.rows[0].starts_at == utc(2026, 7, 7, 7, 30)


def test_floating_time_is_read_in_the_office_time_zone(tmp_path):
    plan = read_ics(tmp_path, event(summary="Rijbewijs"))
    assert plan.rows[0].starts_at == utc(2026, 12, 7, 8, 0)


def test_utc_time_stays_utc(tmp_path):
    plan = read_ics(tmp_path, event(start="DTSTART:20261207T090000Z", summary="Rijbewijs"))
    assert plan.rows[0].starts_at == utc(2026, 12, 7, 9, 0)


def test_an_unknown_time_zone_is_refused_rather_than_guessed(tmp_path):
    start = "DTSTART;TZID=Atlantis Standard Time:20261207T090000"
    message = refused(read_ics, tmp_path, event(start=start, summary="Paspoort"))
    assert message == "UID a1@booking: unknown time zone 'Atlantis Standard Time'"


def test_a_broken_start_time_is_refused_naming_the_uid(tmp_path):
    message = refused(read_ics, tmp_path, event(start="DTSTART:2026120", summary="Paspoort"))
    assert message.startswith("UID a1@booking:")


# --- iCalendar events that are not appointments ------------------------------------------


def test_all_day_and_recurring_events_are_skipped_with_a_reason(tmp_path):
    plan = read_ics(
        tmp_path,
        event("closed", "DTSTART;VALUE=DATE:20261225", summary="Gesloten"),
        event("team", "DTSTART:20261201T083000", rrule="FREQ=WEEKLY;COUNT=4", summary="Overleg"),
        event("visit", summary="Paspoort"),
    )
    assert [row.uid for row in plan.rows] == ["visit"]
    assert plan.skipped == [
        "UID closed: all-day event, not an appointment",
        "UID team: recurring event, not an appointment",
    ]


def test_a_calendar_of_only_skipped_events_holds_no_appointments(tmp_path):
    message = refused(read_ics, tmp_path, event("closed", "DTSTART;VALUE=DATE:20261225"))
    assert "holds no appointments" in message
    assert "UID closed: all-day event" in message


def test_a_calendar_without_events_holds_no_appointments(tmp_path):
    assert "holds no appointments" in refused(read_ics, tmp_path)


def test_a_cancelled_event_is_imported_as_cancelled(tmp_path):
    plan = read_ics(tmp_path, event(summary="Paspoort", status="CANCELLED"))
    assert plan.rows[0].cancelled is True


def test_an_event_without_uid_is_refused_naming_its_summary(tmp_path):
    message = refused(
        read_ics, tmp_path, event("b1", summary="Paspoort"), event("", summary="Rijbewijs")
    )
    assert message.startswith("event 2 ('Rijbewijs'): has no UID")


def test_the_same_uid_twice_in_a_calendar_is_refused(tmp_path):
    message = refused(read_ics, tmp_path, event(summary="Paspoort"), event(summary="Rijbewijs"))
    assert message.startswith("UID a1@booking: the same UID appears twice")


def test_the_visitor_name_is_the_first_attendee_never_the_summary(tmp_path):
    named = event("named", summary="Paspoort voor Karel") + (
        "\nATTENDEE;CN=Marie Dubois:mailto:marie@example.be\nATTENDEE;CN=Tolk:mailto:t@x.be"
    )
    anonymous = event("anon", summary="Paspoort", attendee="mailto:jan@example.be")
    plan = read_ics(tmp_path, named, anonymous, event("nobody", summary="Paspoort voor Karel"))
    assert [row.name for row in plan.rows] == ["Marie Dubois", None, None]


def test_an_event_with_two_start_times_is_refused(tmp_path):
    twice = event(summary="Paspoort") + "\nDTSTART:20261207T100000"
    assert refused(read_ics, tmp_path, twice) == "UID a1@booking: DTSTART appears 2 times"


def test_a_file_that_is_not_a_calendar_is_refused_naming_the_file(tmp_path):
    path = write(tmp_path, "agenda.ics", "Dit is geen agenda.\n")
    assert refused(read_appointments, path, OFFICE).startswith(
        "agenda.ics is not a valid iCalendar"
    )


def test_a_lone_event_without_calendar_is_refused(tmp_path):
    path = write(
        tmp_path, "agenda.ics", "BEGIN:VEVENT\nUID:x\nDTSTART:20261207T090000\nEND:VEVENT\n"
    )
    assert "no VCALENDAR" in refused(read_appointments, path, OFFICE)


# --- CSV -------------------------------------------------------------------------------


def test_belgian_excel_csv_with_semicolons_and_bom_imports(tmp_path):
    text = "\ufeffUID ; Datum;Date;Time ;Category;Name\r\nx1;;2026-12-07;9:05;Rijbewijs;Jan\r\n"
    plan = read_csv(tmp_path, text)
    assert plan.rows == [Row("line 2", "x1", "A", utc(2026, 12, 7, 8, 5), "Jan", False)]


def test_comma_separated_csv_with_quoted_names_imports(tmp_path):
    text = 'date,time,service,name\n2026-12-07,09:00,b,"Peeters, Jan"\n'
    [row] = read_csv(tmp_path, text).rows
    assert (row.service, row.name, row.uid) == ("B", "Peeters, Jan", None)


def test_csv_seconds_written_by_excel_are_accepted(tmp_path):
    plan = read_csv(tmp_path, "date;time;service\n2026-12-07;09:00:00;A\n")
    assert plan.rows[0].starts_at == utc(2026, 12, 7, 8, 0)


@pytest.mark.parametrize("typed", ["8:45", "08:45"])
def test_csv_hours_with_one_digit_or_two_are_read_alike(tmp_path, typed):
    plan = read_csv(tmp_path, f"date;time;service\n2026-12-07;{typed};A\n")
    assert plan.rows[0].starts_at == utc(2026, 12, 7, 7, 45)


def test_past_booked_rows_are_found_for_a_warning_but_not_cancellations(tmp_path):
    plan = read_csv(
        tmp_path,
        "date;time;service;status\n2026-12-07;9:00;A;\n2026-12-07;8:59;A;\n"
        "2026-12-07;8:00;A;cancelled\n2026-12-06;16:00;B;booked\n",
    )
    nine_in_brussels = utc(2026, 12, 7, 8, 0)
    assert [row.where for row in started_before(plan.rows, nine_in_brussels)] == [
        "line 3",
        "line 5",
    ]


def test_csv_without_a_time_column_is_refused_naming_the_header(tmp_path):
    message = refused(read_csv, tmp_path, "date;service\n2026-12-07;A\n")
    assert message.startswith("export.csv line 1: the header has no time column")


def test_csv_with_a_column_twice_is_refused(tmp_path):
    message = refused(read_csv, tmp_path, "date;time;Date\n2026-12-07;09:00;x\n")
    assert "the column 'date' appears twice" in message


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("07/12/2026;09:00;A", "line 3: date '07/12/2026' is not written as YYYY-MM-DD"),
        ("2026-12-07;9u30;A", "line 3: time '9u30' is not written as H:MM or HH:MM"),
        ("2026-02-30;09:00;A", "line 3: 2026-02-30 09:00 is not a real date and time"),
        ("2026-12-07;25:00;A", "line 3: 2026-12-07 25:00 is not a real date and time"),
        ("2026-12-07;09:00;Z", "line 3: unknown service 'Z'"),
        ("2026-12-07;09:00;;Koffie", "line 3: no service matches category 'Koffie'"),
        ("2026-12-07;09:00;;", "line 3: no service or category given"),
        ("2026-12-07;09:00;A;;maybe", "line 3: status 'maybe' is not 'booked' or 'cancelled'"),
        ("2026-12-07", "line 3: time '' is not written as H:MM or HH:MM"),
    ],
)
def test_a_bad_csv_line_is_refused_naming_its_spreadsheet_line(tmp_path, line, problem):
    text = f"date;time;service;category;status\n2026-12-07;08:00;A;;\n{line}\n"
    assert refused(read_csv, tmp_path, text) == problem


def test_blank_rows_are_skipped_but_still_counted_as_lines(tmp_path):
    text = "date;time;service\n2026-12-07;08:00;A\n;;\n\n2026-12-07;nine;A\n"
    assert refused(read_csv, tmp_path, text).startswith("line 5:")


def test_the_same_uid_twice_in_a_csv_is_refused_naming_both_lines(tmp_path):
    text = "uid;date;time;service\nk1;2026-12-07;08:00;A\nk2;2026-12-07;08:10;A\nk1;2026-12-07;09:00;B\n"
    assert refused(read_csv, tmp_path, text) == "line 4: uid 'k1' is already used on line 2"


def test_csv_cancelled_status_marks_the_appointment_cancelled(tmp_path):
    text = "date;time;service;status\n2026-12-07;08:00;A;Cancelled\n2026-12-07;09:00;A;booked\n"
    assert [row.cancelled for row in read_csv(tmp_path, text).rows] == [True, False]


def test_a_local_time_skipped_by_the_spring_dst_change_is_refused(tmp_path):
    # It used to become 03:30 without a word: the visitor would come an hour late.
    message = refused(read_csv, tmp_path, "date;time;service\n2026-03-29;02:30;A\n")
    assert message == (
        "line 2: 2026-03-29 02:30 does not exist in Europe/Brussels: "
        "the clocks go forward that night"
    )


def test_an_ics_local_time_skipped_by_the_spring_dst_change_is_refused(tmp_path):
    event = "UID:gap\nSUMMARY:paspoort\nDTSTART;TZID=Europe/Brussels:20260329T023000"
    message = refused(read_appointments, write(tmp_path, "gap.ics", calendar(event)), OFFICE)
    assert message == (
        "UID gap: 2026-03-29 02:30 does not exist in Europe/Brussels: "
        "the clocks go forward that night"
    )


def test_a_local_time_repeated_by_the_autumn_dst_change_is_the_first_one(tmp_path):
    plan = read_csv(tmp_path, "date;time;service\n2026-10-25;02:30;A\n")
    assert plan.rows[0].starts_at == utc(2026, 10, 25, 0, 30)


def test_csv_with_only_a_header_holds_no_appointments(tmp_path):
    assert "holds no appointments" in refused(read_csv, tmp_path, "date;time\n")


@pytest.mark.parametrize("name", ["export.csv", "export.ics"])
def test_an_empty_file_is_refused(tmp_path, name):
    assert refused(read_appointments, write(tmp_path, name, b""), OFFICE) == f"{name} is empty"
    assert refused(read_appointments, write(tmp_path, name, b"\xef\xbb\xbf \r\n"), OFFICE)


def test_a_latin1_csv_is_refused_with_a_hint_to_save_as_utf8(tmp_path):
    path = write(
        tmp_path, "export.csv", "date;time;name\n2026-12-07;09:00;Jérôme\n".encode("cp1252")
    )
    assert "is not UTF-8 text" in refused(read_appointments, path, OFFICE)


def test_binary_junk_is_refused(tmp_path):
    junk = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256))
    for name in ("export.csv", "export.ics"):
        assert refused(read_appointments, write(tmp_path, name, junk), OFFICE)


def test_a_csv_line_year_out_of_range_is_refused(tmp_path):
    message = refused(read_csv, tmp_path, "date;time;service\n0001-01-01;00:10;A\n")
    assert message == "line 2: 0001-01-01 00:10 is out of the range of dates Loket keeps"


# --- Nothing crashes ---------------------------------------------------------------------

ICS_PIECES = st.sampled_from(
    [
        "BEGIN:VCALENDAR\r\n",
        "END:VCALENDAR\r\n",
        "BEGIN:VEVENT\r\n",
        "END:VEVENT\r\n",
        "BEGIN:VTIMEZONE\r\n",
        "UID:x\r\n",
        "DTSTART:20261207T090000\r\n",
        "DTSTART;TZID=Romance Standard Time:20261207T0900\r\n",
        "DTSTART;VALUE=DATE:2026\r\n",
        "DTSTART;VALUE=PERIOD:20261207T090000Z/PT1H\r\n",
        "DTSTART:00010101T000000\r\n",
        "RRULE:FREQ=\r\n",
        "ATTENDEE;CN=:mailto:\r\n",
        "CATEGORIES:Paspoort,\r\n",
        "SUMMARY:paspoort verhuizing\r\n",
        "STATUS:CANCELLED\r\n",
        " folded\r\n",
        ';:,\\"',
    ]
)
CSV_PIECES = st.sampled_from(
    ["date", "time", "uid", "service", "category", "status", "name", ";", ",", '"', "\n", "\r"]
    + ["2026-12-07", "09:00", "A", "Z", "paspoort", "cancelled", "\ufeff", "0001-01-01", "00:00"]
)


def must_parse_or_refuse(path: Path) -> None:
    try:
        plan = read_appointments(path, OFFICE)
    except ImportRefused as refusal:
        assert "\n" not in str(refusal)
    else:
        assert plan.rows and all(row.starts_at.tzinfo is UTC for row in plan.rows)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["junk.csv", "junk.ics"]),
    content=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.lists(ICS_PIECES | st.text(max_size=5), max_size=30).map("".join).map(str.encode),
        st.lists(CSV_PIECES | st.text(max_size=3), max_size=40).map("".join).map(str.encode),
    ),
)
def test_random_bytes_or_text_either_import_or_are_refused(tmp_path, name, content):
    must_parse_or_refuse(write(tmp_path, name, content))


# --- A quote left open swallows no rows (issue 8, item 14) ---------------------------------

THREE_BOOKINGS_ONE_QUOTE_OPEN = (
    "uid,date,time,service,name\n"
    '1,2026-12-07,09:30,A,"Jan Peeters\n'
    "2,2026-12-07,09:40,A,Piet Claes\n"
    "3,2026-12-07,09:50,A,Mia Wouters\n"
)


def test_a_quote_left_open_is_refused_naming_its_line(tmp_path):
    # It used to import as one appointment whose name held the next two lines.
    message = refused(read_csv, tmp_path, THREE_BOOKINGS_ONE_QUOTE_OPEN)
    assert message == 'line 2: a quote (") opens a value that is never closed'


def test_a_value_running_over_lines_is_refused_naming_where_it_starts(tmp_path):
    text = (
        "uid,date,time,service,name\n"
        "1,2026-12-07,09:20,A,Ann\n"
        '2,2026-12-07,09:30,A,"Jan\n'
        '3,2026-12-07,09:40,A,Piet"\n'
    )
    message = refused(read_csv, tmp_path, text)
    assert message == 'line 3: a value runs over several lines; is a quote (") left open?'


def test_a_stray_quote_is_refused_naming_its_line(tmp_path):
    text = 'date,time,service,name\n2026-12-07,09:20,A,Ann\n2026-12-07,09:30,A,"Jan" P\n'
    message = refused(read_csv, tmp_path, text)
    assert message == "line 3: not readable as CSV (',' expected after '\"')"


def test_an_open_quote_imports_nothing_through_the_cli(db_path, tmp_path, capsys):
    from loket.cli import main

    db = str(db_path)
    assert main(["--db", db, "init"]) == 0
    export = write(tmp_path, "export.csv", THREE_BOOKINGS_ONE_QUOTE_OPEN)
    assert main(["--db", db, "appointments", "import", str(export)]) == 1
    assert main(["--db", db, "appointments", "list", "--date", "2026-12-07", "--json"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == ('{"day": "2026-12-07", "appointments": []}')


# --- Rows without uid: found again by time, service and name (item 18) ---------------------

NO_UID = "date;time;service;name;status\n2026-12-07;09:30;A;Jan Peeters;\n2026-12-07;09:40;B;;\n"


def test_rows_without_uid_imported_seven_times_are_there_once(office, tmp_path):
    export = write(tmp_path, "export.csv", NO_UID)
    first = office.import_appointments(read_appointments(export, office.office).rows)
    for _ in range(6):
        again = office.import_appointments(read_appointments(export, office.office).rows)
    assert first == {"added": 2, "updated": 0, "cancelled": 0}
    assert again == {"added": 0, "updated": 2, "cancelled": 0}
    assert [(a.service, a.name) for a in office.appointments("2026-12-07")] == [
        ("A", "Jan Peeters"),
        ("B", None),
    ]


def test_the_same_row_marked_cancelled_cancels_it_whatever_the_case_of_the_name(office, tmp_path):
    export = write(tmp_path, "export.csv", NO_UID)
    office.import_appointments(read_appointments(export, office.office).rows)
    cancel = write(tmp_path, "cancel.csv", "date;time;service;name;status\n"
                   "2026-12-07;09:30;A;  jan  PEETERS ;cancelled\n")  # fmt: skip
    counts = office.import_appointments(read_appointments(cancel, office.office).rows)
    assert counts == {"added": 0, "updated": 0, "cancelled": 1}
    assert [a.status for a in office.appointments("2026-12-07")] == ["cancelled", "booked"]


def test_a_row_with_another_time_or_name_is_another_appointment(office, tmp_path):
    export = write(tmp_path, "export.csv", NO_UID)
    office.import_appointments(read_appointments(export, office.office).rows)
    moved = write(tmp_path, "moved.csv", NO_UID.replace("09:30;A;Jan", "10:30;A;Jan"))
    counts = office.import_appointments(read_appointments(moved, office.office).rows)
    assert counts == {"added": 1, "updated": 1, "cancelled": 0}


def test_the_key_of_a_row_without_uid_keeps_no_name_after_a_purge(office, tmp_path, clock):
    export = write(tmp_path, "export.csv", NO_UID.replace("2026-12-07", "2026-12-01"))
    office.import_appointments(read_appointments(export, office.office).rows)
    clock.advance(days=40)
    office.purge()
    stored = [(a.uid, a.name) for a in office.store.appointments_on(None)]
    assert stored and all(
        name is None and uid is not None and "peeters" not in uid.casefold() for uid, name in stored
    )


def test_the_same_row_twice_in_one_file_without_uid_is_refused(tmp_path):
    text = "date;time;service;name\n2026-12-07;09:30;A;Jan\n2026-12-07;09:30;A;jan\n"
    assert refused(read_csv, tmp_path, text) == (
        "line 3: the same appointment as line 2 "
        "(same date, time, service and name, and no uid to tell them apart)"
    )


# --- A large import leaves the kiosk issuing (item 19) -----------------------------------


def large_export(path: Path, rows: int) -> Path:
    year = date.today().year + 1  # in the future, so that the import warns of no past rows
    lines = ["uid;date;time;service;name"]
    lines += [f"bulk-{i};{year}-12-{7 + i // 5000:02d};{8 + i % 9:02d}:{i % 60:02d};A;Naam {i}"
              for i in range(rows)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_kiosk_issues_tickets_while_a_large_import_is_being_written(db_path, tmp_path):
    import subprocess
    import sys
    import time

    from loket.engine import Engine

    rows = 30_000  # several batches
    db = db_path
    export = large_export(tmp_path / "bulk.csv", rows)
    with Engine(db) as kiosk:
        importer = subprocess.Popen(
            [sys.executable, "-m", "loket", "--db", str(db), "appointments", "import", str(export)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            issued_during_the_import = []
            while importer.poll() is None:
                time.sleep(0.01)  # poll, leaving the importer the CPU
                imported = kiosk.store.count_rows("appointments")
                if 0 < imported < rows:
                    # The import has begun writing and is not done: the kiosk must get its turn.
                    ticket = kiosk.issue_ticket("A").ticket
                    if kiosk.store.count_rows("appointments") < rows:
                        issued_during_the_import.append(ticket.number)
            out, err = importer.communicate()
        finally:
            if importer.poll() is None:
                importer.kill()
                importer.wait()
        assert (importer.returncode, err) == (0, "")
        assert out == f"Imported {export}: {rows} added, 0 updated, 0 cancelled\n"
        assert issued_during_the_import  # each call above succeeded: no "database is busy"
        assert kiosk.store.count_rows("appointments") == rows


def test_a_visitor_name_longer_than_200_characters_is_refused_naming_the_line(tmp_path):
    text = (
        f"date;time;service;name\n2026-12-07;09:30;A;{'n' * 200}\n2026-12-07;09:40;A;{'m' * 201}\n"
    )
    assert refused(read_csv, tmp_path, text) == "line 3: the name has 201 characters, more than 200"


def test_the_python_api_refuses_a_visitor_name_longer_than_200_characters(office, clock):
    from loket.errors import Refused

    assert office.add_appointment("A", clock.now, name="n" * 200).name == "n" * 200
    with pytest.raises(Refused) as refusal:
        office.add_appointment("A", clock.now, name="m" * 201)
    assert str(refusal.value) == "the name has 201 characters, more than 200"
    assert len(office.appointments()) == 1
