"""Read appointment exports from booking systems (iCalendar or CSV), all or nothing.

CSV files have a header line (line 1) and one appointment per line after it, separated by
`,` or `;` (Belgian Excel writes `;`), in UTF-8 with or without a byte-order mark:

    uid;date;time;service;category;name;status
    bk-1001;2026-12-07;09:30;A;;Jan Peeters;booked

Column names are case-insensitive and other columns are ignored.

- `date` (required): YYYY-MM-DD.
- `time` (required): H:MM or HH:MM in the office's local time. A time the clocks skip
  (02:30 on the spring-forward night) is refused; one they pass twice is its first occurrence.
  A time already past is imported all the same; the command warns of it.
- `uid`: the booking system's id; importing the same uid again updates the appointment.
  A row without uid is known by its date, time, service and name instead: importing it
  again changes nothing, and the same row with status `cancelled` cancels it.
- `service`: a service code such as A; else `category` is looked up in the office's
  [appointments.categories].
- `name`: the visitor's name (personal data).
- `status`: `booked` (the default) or `cancelled`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import icalendar

from loket.config import Office, checked_moment, checked_visitor_name
from loket.errors import ImportRefused

DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
STATUSES = {"": False, "booked": False, "cancelled": True, "canceled": True}


@dataclass(frozen=True)
class Row:
    """One appointment read from an export, ready for `Engine.import_appointments`."""

    where: str
    uid: str | None
    service: str
    starts_at: datetime
    name: str | None
    cancelled: bool

    @property
    def natural_key(self) -> str:
        """What names the appointment when the export gives no uid: time, service and name."""
        name = " ".join((self.name or "").casefold().split())
        return f"{self.starts_at.astimezone(UTC):%Y-%m-%dT%H:%M}|{self.service}|{name}"


@dataclass
class ImportPlan:
    """What an import would save, and the entries it skipped with the reason why."""

    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def read_appointments(path: str | Path, office: Office, service: str | None = None) -> ImportPlan:
    """Parse an .ics or .csv export; raise ImportRefused naming the line or UID at fault."""
    path = Path(path)
    suffix = path.suffix.casefold()
    if suffix not in (".ics", ".csv"):
        raise ImportRefused(f"{path.name}: not an .ics or .csv file")
    if service is not None:
        service = _checked_service(office, service.strip().upper(), "--service")
    text = _read_text(path)
    if suffix == ".ics":
        plan = _read_ics(text, path.name, office, service)
    else:
        plan = _read_csv(text, path.name, office, service)
    if not plan.rows:
        raise ImportRefused(f"{path.name} holds no appointments ({_skipped_summary(plan)})")
    return plan


def started_before(rows: list[Row], now: datetime) -> list[Row]:
    """The booked rows whose time has passed: imported all the same (an export holds history),
    but worth a warning when they were meant to be future bookings."""
    return [row for row in rows if not row.cancelled and row.starts_at < now]


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportRefused(f"{path.name}: cannot be read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            f"{path.name} is not UTF-8 text; export or save it again as UTF-8 (CSV UTF-8)"
        ) from None
    if not text.strip():
        raise ImportRefused(f"{path.name} is empty")
    if "\x00" in text:
        raise ImportRefused(f"{path.name} is not a text file (it holds NUL bytes)")
    return text


def _skipped_summary(plan: ImportPlan) -> str:
    if not plan.skipped:
        return "no events or lines found"
    return f"{len(plan.skipped)} skipped, e.g. {plan.skipped[0]}"


def _checked_service(office: Office, code: str, where: str) -> str:
    svc = office.services.get(code)
    if svc is None:
        raise ImportRefused(f"{where}: unknown service {code!r}")
    if not svc.appointments:
        raise ImportRefused(f"{where}: service {code!r} does not take appointments")
    return code


def _by_category(office: Office, categories: list[str], where: str) -> str | None:
    for category in categories:
        code = office.categories.get(category.strip().casefold())
        if code is not None:
            return _checked_service(office, code, where)
    return None


def _by_summary(office: Office, summary: str, where: str) -> str | None:
    text = summary.casefold()
    codes = dict.fromkeys(code for word, code in office.categories.items() if word in text)
    if len(codes) > 1:
        raise ImportRefused(
            f"{where}: summary {summary!r} matches services {', '.join(codes)}; "
            "give a category or choose one service for the whole import"
        )
    return _checked_service(office, next(iter(codes)), where) if codes else None


def _read_ics(text: str, filename: str, office: Office, service: str | None) -> ImportPlan:
    try:
        calendar = icalendar.Calendar.from_ical(text)
    # icalendar raises many kinds of errors on broken input; all mean "not a calendar".
    except Exception as error:
        raise ImportRefused(f"{filename} is not a valid iCalendar file ({_short(error)})") from None
    if calendar.name != "VCALENDAR":
        raise ImportRefused(f"{filename} is not a valid iCalendar file: no VCALENDAR")
    plan = ImportPlan()
    seen: set[str] = set()
    for index, event in enumerate(calendar.walk("VEVENT"), start=1):
        try:
            row = _ics_row(event, index, office, service, plan)
        except ImportRefused:
            raise
        # Broken properties surface only when read; name the event instead of crashing.
        except Exception as error:
            uid = event.get("UID")
            where = f"UID {uid}" if isinstance(uid, str) and uid.strip() else f"event {index}"
            raise ImportRefused(f"{where}: cannot be read: {_short(error)}") from None
        if row is None:
            continue
        if row.uid in seen:
            raise ImportRefused(f"{row.where}: the same UID appears twice in {filename}")
        seen.add(row.uid)
        plan.rows.append(row)
    return plan


def _ics_row(
    event: icalendar.Event, index: int, office: Office, service: str | None, plan: ImportPlan
) -> Row | None:
    summary = _one(event, "SUMMARY", f"event {index}")
    label = f"event {index} ({summary!r})" if summary else f"event {index}"
    uid = _one(event, "UID", label)
    if not uid:
        raise ImportRefused(f"{label}: has no UID, so a later import could not update it")
    where = f"UID {uid}"
    _one(event, "DTSTART", where)
    start = event.get("DTSTART")
    if start is None:
        problem = (
            f"; first problem in the event: {_short(event.errors[0][1])}" if event.errors else ""
        )
        raise ImportRefused(f"{where}: has no readable start time (DTSTART){problem}")
    try:
        moment = start.dt
    except icalendar.BrokenCalendarProperty as error:
        message = str(error).rpartition("): ")[2] or str(error)
        raise ImportRefused(
            f"{where}: the start time (DTSTART) is broken: {_short(message)}"
        ) from None
    if not isinstance(moment, datetime):
        if isinstance(moment, date):
            plan.skipped.append(f"{where}: all-day event, not an appointment")
            return None
        raise ImportRefused(f"{where}: the start (DTSTART) is not a date and time")
    if "RRULE" in event or "RECURRENCE-ID" in event:
        plan.skipped.append(f"{where}: recurring event, not an appointment")
        return None
    if moment.tzinfo is None:
        tzid = start.params.get("TZID")
        if tzid:
            # icalendar leaves the time naive when it knows neither the zone nor a VTIMEZONE.
            raise ImportRefused(f"{where}: unknown time zone {tzid!r}")
        moment = moment.replace(tzinfo=office.timezone)
    code = service or _by_category(office, [str(c) for c in event.categories], where)
    code = code or _by_summary(office, summary, where)
    if code is None:
        raise ImportRefused(
            f"{where}: no service matches summary {summary!r} or its categories; "
            "add a category or choose one service for the whole import"
        )
    attendees = event.attendees
    name = str(attendees[0].params.get("CN", "")).strip() if attendees else ""
    cancelled = _one(event, "STATUS", where).upper() == "CANCELLED"
    return Row(where, uid, code, _utc(moment, where), _visitor(name, where), cancelled)


def _one(event: icalendar.Event, name: str, where: str) -> str:
    """The text of a property that may appear once; icalendar gives a list when repeated."""
    value = event.get(name, "")
    if isinstance(value, list):
        raise ImportRefused(f"{where}: {name} appears {len(value)} times")
    return str(value).strip()


def _read_csv(text: str, filename: str, office: Office, service: str | None) -> ImportPlan:
    first_line = text.lstrip().partition("\n")[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # strict: a stray or unclosed quote is an error, not a name that swallows the next rows.
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header = [cell.strip().casefold() for cell in _next_record(records)]
    missing = [column for column in ("date", "time") if column not in header]
    if missing:
        raise ImportRefused(
            f"{filename} line 1: the header has no {' or '.join(missing)} column "
            "(it needs date and time; see the import help for the other columns)"
        )
    duplicate = next((column for column in header if header.count(column) > 1), None)
    if duplicate:
        raise ImportRefused(f"{filename} line 1: the column {duplicate!r} appears twice")
    plan = ImportPlan()
    first_line_of: dict[str, int] = {}
    while True:
        number = records.line_num + 1  # the spreadsheet line this record starts on
        cells = _next_record(records)
        if cells is None:
            return plan
        if not any(cell.strip() for cell in cells):
            continue
        if records.line_num != number:
            raise ImportRefused(
                f'line {number}: a value runs over several lines; is a quote (") left open?'
            )
        values = {column: cell.strip() for column, cell in zip(header, cells, strict=False)}
        row = _csv_row(values, f"line {number}", office, service)
        key = row.uid or row.natural_key
        if key in first_line_of:
            raise ImportRefused(
                f"line {number}: uid {row.uid!r} is already used on line {first_line_of[key]}"
                if row.uid
                else f"line {number}: the same appointment as line {first_line_of[key]} "
                "(same date, time, service and name, and no uid to tell them apart)"
            )
        first_line_of[key] = number
        plan.rows.append(row)


def _next_record(records) -> list[str] | None:
    """The next CSV record, or None at the end; a broken one is refused naming its line."""
    start = records.line_num + 1
    try:
        return next(records, None)
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            raise ImportRefused(
                f'line {start}: a quote (") opens a value that is never closed'
            ) from None
        raise ImportRefused(f"line {records.line_num}: not readable as CSV ({error})") from None


def _csv_row(values: dict[str, str], where: str, office: Office, service: str | None) -> Row:
    day, clock = values.get("date", ""), values.get("time", "")
    date_match, time_match = DATE.fullmatch(day), TIME.fullmatch(clock)
    if not date_match:
        raise ImportRefused(f"{where}: date {day!r} is not written as YYYY-MM-DD")
    if not time_match:
        raise ImportRefused(f"{where}: time {clock!r} is not written as H:MM or HH:MM")
    try:
        local = datetime.combine(
            date(*(int(part) for part in date_match.groups())),
            time(*(int(part or 0) for part in time_match.groups())),
            office.timezone,
        )
    except ValueError:
        raise ImportRefused(f"{where}: {day} {clock} is not a real date and time") from None
    status = values.get("status", "").casefold()
    if status not in STATUSES:
        raise ImportRefused(f"{where}: status {status!r} is not 'booked' or 'cancelled'")
    code = service
    if code is None and values.get("service"):
        code = _checked_service(office, values["service"].upper(), where)
    if code is None and values.get("category"):
        code = _by_category(office, [values["category"]], where)
        if code is None:
            raise ImportRefused(f"{where}: no service matches category {values['category']!r}")
    if code is None:
        raise ImportRefused(f"{where}: no service or category given")
    return Row(
        where,
        values.get("uid") or None,
        code,
        _utc(local, where),
        _visitor(values.get("name", ""), where),
        STATUSES[status],
    )


def _visitor(name: str, where: str) -> str | None:
    try:
        return checked_visitor_name(name)
    except ValueError as error:
        raise ImportRefused(f"{where}: {error}") from None


def _utc(moment: datetime, where: str) -> datetime:
    """The moment in UTC; refused if it is skipped by a DST change or out of range."""
    try:
        return checked_moment(moment).astimezone(UTC)
    except ValueError as error:
        raise ImportRefused(f"{where}: {error}") from None


def _short(error: object) -> str:
    # icalendar quotes the raw input after its message; its first line is enough.
    message = re.split(r":\s*(?:b'|BEGIN:)", str(error).strip(), maxsplit=1)[0]
    message = (message.splitlines() or [type(error).__name__])[0]
    return message if len(message) <= 120 else message[:117] + "..."
