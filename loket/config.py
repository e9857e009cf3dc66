"""The office configuration: one TOML file, validated whole before anything uses it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loket.errors import ConfigError
from loket.safe_text import CONTROL

LANGUAGES = ("nl", "fr", "en", "de")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SERVICE_CODE = re.compile(r"[A-Z]{1,2}")
HOURS_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Names are shown on a ticket, a display row and a terminal table; 80 characters fill a line.
MAX_MESSAGE = 200  # one or two lines under the display's calls
MAX_NAME = 80
# A visitor's name, from a booking export or `appointments add`; longer is a broken export.
MAX_VISITOR_NAME = 200


@dataclass(frozen=True)
class Service:
    """A service visitors queue for; its code prefixes its ticket numbers."""

    code: str
    names: dict[str, str]
    walk_in: bool = True
    appointments: bool = True
    minutes: int = 10
    daily_limit: int | None = None
    hours: dict[int, tuple[tuple[time, time], ...]] | None = None
    target_minutes: int = 15
    """A walk-in is due to be called this long after arriving (see loket.rules)."""
    bring: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """What a visitor should bring, per language (documents, a photo...)."""
    online_url: str | None = None
    """Where this service can be requested online instead (click-call-connect)."""

    def name(self, language: str) -> str:
        """The service's name in `language`, else in the first language it has."""
        return self.names.get(language) or next(iter(self.names.values()))

    def bring_in(self, language: str) -> tuple[str, ...]:
        """What to bring, in `language`, else in the first language the list has."""
        return self.bring.get(language) or next(iter(self.bring.values()), ())

    def is_open(self, local: datetime) -> bool:
        """Whether the service takes visitors at this local time."""
        if self.hours is None:
            return True
        return any(
            start <= local.time() < end for start, end in self.hours.get(local.weekday(), ())
        )

    def closes_at(self, local: datetime) -> datetime | None:
        """When the service closes for the day, if it is open at `local`; None: always open
        (or closed now). A break (12:00-13:00) does not end the day: tickets still wait."""
        if self.hours is None or not self.is_open(local):
            return None
        last = max(end for _, end in self.hours[local.weekday()])
        return datetime.combine(local.date(), last, local.tzinfo)

    def next_opening(self, local: datetime) -> datetime | None:
        """The next local time the service opens, within a week; None if it never does."""
        if self.hours is None:
            return local
        for days_ahead in range(8):
            day = local.date().toordinal() + days_ahead
            weekday = date.fromordinal(day).weekday()
            for start, _end in self.hours.get(weekday, ()):
                opening = datetime.combine(date.fromordinal(day), start, local.tzinfo)
                if opening > local:
                    return opening
        return None


@dataclass(frozen=True)
class Counter:
    """A desk where staff call visitors, serving services in the order listed."""

    id: str
    name: str
    services: tuple[str, ...]
    prefer: tuple[str, ...] = ()
    """Services this counter takes first once their next ticket is due."""


@dataclass(frozen=True)
class KioskSettings:
    """How the self-service kiosk behaves, and how staff close it."""

    return_seconds: int = 10
    idle_seconds: int = 30
    priority: bool = False
    """Whether the kiosk offers priority tickets when it starts; staff switch it at the kiosk."""
    exit_keys: tuple[str, ...] = ("f12", "f12", "f12")
    pin: str = "2468"
    printer_profile: str = "default"
    speech_key: str = "0"
    """The key that starts and stops spoken guidance: "0" (never in a reference) or f1 to f24."""


@dataclass(frozen=True)
class DisplaySettings:
    """The waiting-room display: an optional message line, how long a new call stands out."""

    message: str = ""
    highlight_seconds: int = 8


@dataclass(frozen=True)
class WebSettings:
    """`loket serve`: the visitor's phone page, the join page and their limits."""

    public_url: str = ""
    """The address visitors' phones reach the server at; "" prints no phone QR codes."""
    join: bool = False
    """Whether a poster's QR lets visitors take a ticket from the waiting room (/join)."""
    near_turn: int = 3
    """The phone page alerts once this many visitors or fewer are ahead."""
    more_time_places: int = 3
    """"I need more time" moves a ticket this many places back, once."""
    join_per_minute: int = 10
    """Tickets /join hands out per minute, for the whole office."""
    join_per_phone: int = 2
    """Tickets one phone may take through /join per day."""


@dataclass(frozen=True)
class CheckinPolicy:
    """When an appointment holder may check in, and what happens when late."""

    early_minutes: int = 30
    late_minutes: int = 15
    late_action: str = "walk_in"


@dataclass(frozen=True)
class RoutingRules:
    """How tickets are put in calling order (see loket.rules) and where a transfer lands."""

    priority_credit_minutes: int = 20
    appointment_lead_minutes: int = 5
    transfer: str = "keep"
    """A transferred ticket's place in its new line: "keep" (by arrival), "first" or "last"."""


@dataclass(frozen=True)
class NoShowPolicy:
    """Whether a visitor marked as a no-show can come back into the line, and where."""

    requeue: str = "behind"
    """"none": never; "behind": `places` behind the head of the line; "original": its old place."""
    places: int = 3
    times: int = 1
    """How often one ticket may come back."""
    reinstate_minutes: int = 30
    """How long after the no-show the visitor can scan their ticket at the kiosk."""


@dataclass(frozen=True)
class Office:
    """The whole validated configuration of one office."""

    name: str
    timezone: ZoneInfo
    languages: tuple[str, ...]
    services: dict[str, Service]
    counters: dict[str, Counter]
    checkin: CheckinPolicy = field(default_factory=CheckinPolicy)
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    routing: RoutingRules = field(default_factory=RoutingRules)
    no_show: NoShowPolicy = field(default_factory=NoShowPolicy)
    web: WebSettings = field(default_factory=WebSettings)
    appointment_prefix: str = ""
    """Appointment tickets' own series (R: R001, R002...); "" numbers them with walk-ins."""
    target_wait_minutes: int = 15
    retention_days: int = 30
    number_width: int = 3
    categories: dict[str, str] = field(default_factory=dict)
    check_in_by_uid: bool = False
    """Whether a visitor may check in with the booking system's own number (its UID)."""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def counters_serving(self, service: str) -> list[Counter]:
        """The counters that serve `service`."""
        return [c for c in self.counters.values() if service in c.services]

    def format_number(self, prefix: str, number: int) -> str:
        """A ticket number as printed: prefix plus zero-padded number, e.g. A012."""
        return f"{prefix}{number:0{self.number_width}d}"


def local_datetime(day: date, clock: time, zone: tzinfo) -> datetime:
    """The moment a local day and clock time name in `zone`, checked by `checked_moment`.

    A clock time that carries its own UTC offset (10:30+05:00) is that moment; a time the
    clocks pass twice (the autumn fall-back hour) is its first occurrence, still summer time.
    """
    if clock.tzinfo is not None:
        return checked_moment(datetime.combine(day, clock))
    return checked_moment(datetime.combine(day, clock, zone))


def checked_visitor_name(name: str | None) -> str | None:
    """The visitor's name (None for an empty one); ValueError with one sentence if too long."""
    if name and len(name) > MAX_VISITOR_NAME:
        raise ValueError(f"the name has {len(name)} characters, more than {MAX_VISITOR_NAME}")
    return name or None


def checked_moment(moment: datetime) -> datetime:
    """`moment` if Loket can keep it; else ValueError with one sentence.

    Refused: a naive datetime (its zone would be a guess), a local time the clocks skip
    (02:30 on the spring-forward night would silently become 03:30), and the first and
    last years datetime knows, where converting to another zone or adding a check-in
    window overflows.
    """
    shown = f"{moment.date().isoformat()} {moment:%H:%M}"  # %Y drops the zeros of year 1
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{shown} has no time zone: give a time zone or UTC offset")
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or {moment.year, utc.year} & {MINYEAR, MAXYEAR}:
        raise ValueError(f"{shown} is out of the range of dates Loket keeps")
    if utc.astimezone(moment.tzinfo).replace(tzinfo=None) != moment.replace(tzinfo=None):
        zone = getattr(moment.tzinfo, "key", moment.tzname())
        raise ValueError(f"{shown} does not exist in {zone}: the clocks go forward that night")
    return moment


def default_config_text() -> str:
    """The demo office shipped inside the package (data/office.toml links to the same file)."""
    from importlib import resources

    return resources.files("loket").joinpath("office.toml").read_text(encoding="utf-8")


def load_config(text: str) -> Office:
    """Parse and validate a TOML config; raise ConfigError naming the key at fault."""
    import tomllib  # only at set-up: the database keeps the validated settings as JSON

    try:
        raw = tomllib.loads(text.removeprefix("\ufeff"))  # Windows Notepad saves a BOM
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}") from None
    office = office_from_dict(raw)
    _refuse_unfit_texts(office)
    return office


def office_from_dict(raw: dict) -> Office:
    """Validate parsed settings (from TOML, or the JSON copy in the database)."""
    return _Reader(raw).office()


def _refuse_unfit_texts(office: Office) -> None:
    """Limits on the names a person typed into a new config file.

    Only `load_config` applies them: a config an older Loket stored in the database is
    read without them, else that office could not even be opened to load a fixed one.
    """
    named = [("office", office.name)]
    named += [
        (f"services.{service.code}.name.{language}", name)
        for service in office.services.values()
        for language, name in service.names.items()
    ]
    named += [
        (f"services.{service.code}.bring.{language}", item)
        for service in office.services.values()
        for language, items in service.bring.items()
        for item in items
    ]
    named += [(f"counters.{counter.id}.name", counter.name) for counter in office.counters.values()]
    for where, name in named:
        if CONTROL.search(name):
            raise ConfigError(
                f"{where}: must not hold control characters such as tabs, line breaks or escapes"
            )
        if len(name) > MAX_NAME:
            raise ConfigError(f"{where}: at most {MAX_NAME} characters, got {len(name)}")
    if CONTROL.search(office.display.message):
        raise ConfigError(
            "display.message: must not hold control characters such as tabs, line breaks or escapes"
        )
    for keyword in office.categories:
        if not keyword:
            raise ConfigError(
                "appointments.categories: a keyword is empty; it would match every appointment"
            )
        if len(keyword) > MAX_NAME:
            raise ConfigError(
                f"appointments.categories: the keyword {keyword[:10] + '...'!r} has more than "
                f"{MAX_NAME} characters"
            )


class _Reader:
    """Walks the parsed TOML, checking each key and naming it in any error."""

    TOP_KEYS = {
        "office",
        "timezone",
        "languages",
        "target_wait_minutes",
        "retention_days",
        "number_width",
        "appointment_prefix",
        "no_show",
        "checkin",
        "routing",
        "appointments",
        "services",
        "counters",
        "kiosk",
        "display",
        "web",
    }

    def __init__(self, raw: dict):
        self.raw = raw

    def office(self) -> Office:
        raw = self.raw
        _no_unknown_keys(raw, self.TOP_KEYS, "")
        name = _text(raw, "office", "office")
        timezone = _timezone(raw.get("timezone", "Europe/Brussels"))
        languages = self.languages()
        target = _whole(raw, "target_wait_minutes", 15, "target_wait_minutes")
        services = self.services(languages, target)
        counters = self.counters(services)
        unserved = [
            code for code in services if not any(code in c.services for c in counters.values())
        ]
        if unserved:
            raise ConfigError(f"services: {', '.join(unserved)} served by no counter")
        return Office(
            name=name,
            timezone=timezone,
            languages=languages,
            services=services,
            counters=counters,
            checkin=self.checkin(),
            kiosk=self.kiosk(),
            display=self.display(),
            routing=self.routing(),
            no_show=self.no_show(),
            web=self.web(),
            appointment_prefix=self.appointment_prefix(services),
            target_wait_minutes=target,
            retention_days=_whole(raw, "retention_days", 30, "retention_days"),
            number_width=_whole(raw, "number_width", 3, "number_width", low=1, high=6),
            categories=self.categories(services),
            check_in_by_uid=_flag(
                _table(self.raw, "appointments"), "check_in_by_uid", False, "appointments"
            ),
            raw=self.raw,
        )

    def languages(self) -> tuple[str, ...]:
        # A municipality without language facilities works in Dutch: others are opt-in.
        languages = self.raw.get("languages", ["nl"])
        if not isinstance(languages, list) or not languages:
            raise ConfigError("languages: must be a non-empty list such as ['nl', 'fr']")
        for language in languages:
            if language not in LANGUAGES:
                raise ConfigError(f"languages: {language!r} is not one of {', '.join(LANGUAGES)}")
        if len(set(languages)) != len(languages):
            raise ConfigError("languages: a language is listed twice")
        return tuple(languages)

    def services(self, languages: tuple[str, ...], target: int) -> dict[str, Service]:
        services: dict[str, Service] = {}
        keys = {"code", "name", "walk_in", "appointments", "minutes", "daily_limit", "hours"}
        for where, entry in self.tables("services"):
            _no_unknown_keys(entry, keys | {"target_minutes", "bring", "online"}, where)
            code = entry.get("code")
            if not isinstance(code, str) or not SERVICE_CODE.fullmatch(code):
                raise ConfigError(f"{where}.code: must be one or two capital letters, got {code!r}")
            if code in services:
                raise ConfigError(f"{where}.code: {code!r} is used twice")
            where = f"services.{code}"
            limit = entry.get("daily_limit")
            services[code] = Service(
                code=code,
                names=_names(entry.get("name"), languages, f"{where}.name"),
                walk_in=_flag(entry, "walk_in", True, where),
                appointments=_flag(entry, "appointments", True, where),
                minutes=_whole(entry, "minutes", 10, f"{where}.minutes", low=1),
                daily_limit=None
                if limit is None
                else _whole(entry, "daily_limit", 0, f"{where}.daily_limit", low=1),
                hours=_hours(entry.get("hours"), f"{where}.hours"),
                target_minutes=_whole(entry, "target_minutes", target, f"{where}.target_minutes"),
                bring=_bring(entry.get("bring"), languages, f"{where}.bring"),
                online_url=_url(entry.get("online"), f"{where}.online") or None,
            )
        return services

    def counters(self, services: dict[str, Service]) -> dict[str, Counter]:
        counters: dict[str, Counter] = {}
        for where, entry in self.tables("counters"):
            _no_unknown_keys(entry, {"id", "name", "services", "prefer"}, where)
            counter_id = entry.get("id")
            if isinstance(counter_id, int) and not isinstance(counter_id, bool):
                counter_id = str(counter_id)
            if not isinstance(counter_id, str) or not re.fullmatch(
                r"[A-Za-z0-9_-]{1,20}", counter_id
            ):
                raise ConfigError(
                    f"{where}.id: must be a short name of letters or digits, got {counter_id!r}"
                )
            if counter_id in counters:
                raise ConfigError(f"{where}.id: {counter_id!r} is used twice")
            served = entry.get("services")
            if not isinstance(served, list) or not served:
                raise ConfigError(
                    f"counters.{counter_id}.services: must list at least one service code"
                )
            for code in served:
                if not isinstance(code, str):
                    raise ConfigError(
                        f'counters.{counter_id}.services: must list service codes such as "A", '
                        f"got {code!r}"
                    )
                if code not in services:
                    raise ConfigError(f"counters.{counter_id}.services: unknown service {code!r}")
            name = _text(entry, "name", f"counters.{counter_id}.name", f"Loket {counter_id}")
            served = tuple(dict.fromkeys(served))
            prefer = _preferred(entry.get("prefer", []), served, f"counters.{counter_id}.prefer")
            counters[counter_id] = Counter(counter_id, name, served, prefer)
        return counters

    def tables(self, key: str) -> list[tuple[str, dict]]:
        """The [[key]] tables with the name each error should give them (services[2])."""
        entries = self.raw.get(key)
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{key}: at least one [[{key}]] table is needed")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ConfigError(f"{key}[{index}]: must be a table")
        return [(f"{key}[{index}]", entry) for index, entry in enumerate(entries)]

    def checkin(self) -> CheckinPolicy:
        table = _table(self.raw, "checkin")
        _no_unknown_keys(table, {"early_minutes", "late_minutes", "late_action"}, "checkin")
        action = table.get("late_action", "walk_in")
        if action not in ("walk_in", "refuse"):
            raise ConfigError(f"checkin.late_action: must be 'walk_in' or 'refuse', got {action!r}")
        return CheckinPolicy(
            early_minutes=_whole(table, "early_minutes", 30, "checkin.early_minutes"),
            late_minutes=_whole(table, "late_minutes", 15, "checkin.late_minutes"),
            late_action=action,
        )

    def kiosk(self) -> KioskSettings:
        table = _table(self.raw, "kiosk")
        keys = {
            "return_seconds",
            "idle_seconds",
            "priority",
            "exit_keys",
            "pin",
            "printer_profile",
            "speech_key",
        }
        _no_unknown_keys(table, keys, "kiosk")
        exit_keys = table.get("exit_keys", "f12 f12 f12")
        if not isinstance(exit_keys, str) or not exit_keys.split():
            raise ConfigError(
                "kiosk.exit_keys: must be keys separated by spaces, such as 'f12 f12 f12'"
            )
        pin = table.get("pin", "2468")
        if not isinstance(pin, str) or not re.fullmatch(r"\d{4,8}", pin):
            raise ConfigError('kiosk.pin: must be 4 to 8 digits in quotes, such as "2468"')
        profile = table.get("printer_profile", "default")
        if not isinstance(profile, str) or not profile:
            raise ConfigError("kiosk.printer_profile: must be a python-escpos profile name")
        speech_key = _speech_key(table.get("speech_key", "0"), exit_keys.split())
        return KioskSettings(
            return_seconds=_whole(
                table, "return_seconds", 10, "kiosk.return_seconds", low=2, high=600
            ),
            idle_seconds=_whole(table, "idle_seconds", 30, "kiosk.idle_seconds", low=5, high=3600),
            priority=_flag(table, "priority", False, "kiosk"),
            exit_keys=tuple(exit_keys.split()),
            pin=pin,
            printer_profile=profile,
            speech_key=speech_key,
        )

    def display(self) -> DisplaySettings:
        table = _table(self.raw, "display")
        _no_unknown_keys(table, {"message", "highlight_seconds"}, "display")
        message = table.get("message", "")
        if not isinstance(message, str):
            raise ConfigError(f"display.message: must be a text, got {message!r}")
        if len(message) > MAX_MESSAGE:
            raise ConfigError(
                f"display.message: at most {MAX_MESSAGE} characters, got {len(message)}"
            )
        if "\n" in message:
            raise ConfigError(
                "display.message: must not hold control characters such as tabs, line breaks or escapes"
            )
        return DisplaySettings(
            message=message.strip(),
            highlight_seconds=_whole(
                table, "highlight_seconds", 8, "display.highlight_seconds", low=1, high=120
            ),
        )

    def routing(self) -> RoutingRules:
        table = _table(self.raw, "routing")
        # max_wait_minutes was the old rule's escalation; due times replaced it. Still
        # accepted, unused, so that an office stored by an older Loket keeps opening.
        keys = {"priority_credit_minutes", "appointment_lead_minutes", "transfer"}
        _no_unknown_keys(table, keys | {"max_wait_minutes"}, "routing")
        transfer = _choice(table, "transfer", ("keep", "first", "last"), "routing")
        return RoutingRules(
            priority_credit_minutes=_whole(
                table, "priority_credit_minutes", 20, "routing.priority_credit_minutes", high=600
            ),
            appointment_lead_minutes=_whole(
                table, "appointment_lead_minutes", 5, "routing.appointment_lead_minutes", high=120
            ),
            transfer=transfer,
        )

    def no_show(self) -> NoShowPolicy:
        table = _table(self.raw, "no_show")
        _no_unknown_keys(table, {"requeue", "places", "times", "reinstate_minutes"}, "no_show")
        return NoShowPolicy(
            requeue=_choice(table, "requeue", ("behind", "original", "none"), "no_show"),
            places=_whole(table, "places", 3, "no_show.places", low=1, high=1000),
            times=_whole(table, "times", 1, "no_show.times", low=1, high=10),
            reinstate_minutes=_whole(
                table, "reinstate_minutes", 30, "no_show.reinstate_minutes", low=1, high=24 * 60
            ),
        )

    def web(self) -> WebSettings:
        table = _table(self.raw, "web")
        keys = {f.name for f in fields(WebSettings)}
        _no_unknown_keys(table, keys, "web")
        return WebSettings(
            public_url=_url(table.get("public_url"), "web.public_url").rstrip("/"),
            join=_flag(table, "join", False, "web"),
            near_turn=_whole(table, "near_turn", 3, "web.near_turn", high=100),
            more_time_places=_whole(
                table, "more_time_places", 3, "web.more_time_places", low=1, high=100
            ),
            join_per_minute=_whole(
                table, "join_per_minute", 10, "web.join_per_minute", low=1, high=1000
            ),
            join_per_phone=_whole(table, "join_per_phone", 2, "web.join_per_phone", low=1, high=20),
        )

    def appointment_prefix(self, services: dict[str, Service]) -> str:
        prefix = self.raw.get("appointment_prefix", "")
        if prefix == "":
            return ""
        if not isinstance(prefix, str) or not SERVICE_CODE.fullmatch(prefix):
            raise ConfigError(
                f'appointment_prefix: must be one or two capital letters (or ""), got {prefix!r}'
            )
        if prefix in services:
            raise ConfigError(
                f"appointment_prefix: {prefix!r} is already service {prefix}'s code; "
                "choose letters no service uses"
            )
        return prefix

    def categories(self, services: dict[str, Service]) -> dict[str, str]:
        table = _table(self.raw, "appointments")
        _no_unknown_keys(table, {"categories", "check_in_by_uid"}, "appointments")
        categories = table.get("categories", {})
        if not isinstance(categories, dict):
            raise ConfigError("appointments.categories: must be a table of keyword = service code")
        for keyword, code in categories.items():
            if not isinstance(code, str):
                raise ConfigError(
                    f'appointments.categories.{keyword}: must be a service code such as "A", '
                    f"got {code!r}"
                )
            if code not in services:
                raise ConfigError(f"appointments.categories.{keyword}: unknown service {code!r}")
        return {keyword.strip().casefold(): code for keyword, code in categories.items()}


def _choice(table: dict, key: str, allowed: tuple[str, ...], where: str) -> str:
    """One of `allowed` (the first is the default)."""
    value = table.get(key, allowed[0])
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{where}.{key}: must be one of {options}, got {value!r}")
    return value


def _preferred(value: object, served: tuple[str, ...], where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ConfigError(f'{where}: must list service codes such as ["A"], got {value!r}')
    for code in value:
        if code not in served:
            raise ConfigError(f"{where}: {code!r} is not one of the counter's services")
    return tuple(dict.fromkeys(value))


def _no_unknown_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"{prefix}{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})"
        )


def _table(raw: dict, key: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: must be a table")
    return value


def _text(raw: dict, key: str, where: str, default: str | None = None) -> str:
    return _name(raw.get(key, default), where)


def _name(value: object, where: str) -> str:
    """A name shown to people (its size is checked by `_refuse_unfit_texts`)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: must be a non-empty text")
    return value.strip()


SPEECH_KEYS = ("0", *(f"f{n}" for n in range(1, 25)))
"""Keys that can start speech: none of them is ever part of a reference or a service's number."""


def _speech_key(value: object, exit_keys: list[str]) -> str:
    key = value.strip().lower() if isinstance(value, str) else value
    if key not in SPEECH_KEYS:
        raise ConfigError(
            f'kiosk.speech_key: must be "0" or a function key f1 to f24, got {value!r}'
        )
    if key in exit_keys:
        raise ConfigError(f"kiosk.speech_key: {key} is one of the staff's exit_keys")
    return key


def _flag(raw: dict, key: str, default: bool, where: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: must be true or false, got {value!r}")
    return value


def _whole(raw: dict, key: str, default: int, where: str, low: int = 0, high: int = 100_000) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: must be a whole number from {low} to {high}, got {value!r}")
    return value


def _timezone(name: object) -> ZoneInfo:
    if not isinstance(name, str):
        raise ConfigError(f"timezone: must be a name such as 'Europe/Brussels', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {name!r}") from None


def _names(value: object, languages: tuple[str, ...], where: str) -> dict[str, str]:
    if isinstance(value, str):
        value = {language: value for language in languages}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a text or a table of language = name")
    missing = [language for language in languages if value.get(language, "") == ""]
    if missing:
        raise ConfigError(f"{where}: no name in {', '.join(missing)}")
    for language in languages:
        if not isinstance(value[language], str):
            raise ConfigError(f"{where}.{language}: must be a text, got {value[language]!r}")
    return {language: _name(value[language], f"{where}.{language}") for language in languages}


MAX_BRING = 6  # a short list: a ticket and a phone screen show it at a glance
MAX_URL = 200


def _bring(value: object, languages: tuple[str, ...], where: str) -> dict[str, tuple[str, ...]]:
    """What to bring: one list for every language, or a table of language = list."""
    if value is None:
        return {}
    if isinstance(value, list):
        value = {language: value for language in languages}
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: must be a list such as ["ID card"] or a table per language')
    bring = {}
    for language, items in value.items():
        if language not in LANGUAGES:
            raise ConfigError(f"{where}.{language}: not one of {', '.join(LANGUAGES)}")
        if language not in languages:  # kept like a name's: the office may add it back
            continue
        if not isinstance(items, list) or len(items) > MAX_BRING:
            raise ConfigError(f"{where}.{language}: must be a list of at most {MAX_BRING} texts")
        bring[language] = tuple(_name(item, f"{where}.{language}") for item in items)
    missing = [language for language in languages if language not in bring]
    if missing:
        raise ConfigError(f"{where}: no list in {', '.join(missing)}")
    return bring


def _url(value: object, where: str) -> str:
    """A web address visitors may open: http(s), no spaces; "" when not given."""
    if value is None or value == "":
        return ""
    if (
        not isinstance(value, str)
        or not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value)
        or len(value) > MAX_URL
    ):
        raise ConfigError(
            f"{where}: must be a web address such as https://www.stad.be/eid, got {value!r}"
        )
    return value


def _hours(value: object, where: str) -> dict[int, tuple[tuple[time, time], ...]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(
            f'{where}: must be a table such as {{ mon = "08:30-12:00, 13:00-16:00" }}'
        )
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            raise ConfigError(f"{where}.{day}: not a weekday (use {', '.join(WEEKDAYS)})")
        if not isinstance(ranges, str):
            raise ConfigError(f'{where}.{day}: must be a text such as "08:30-12:00, 13:00-16:00"')
        hours[WEEKDAYS.index(day)] = tuple(
            _range(part, f"{where}.{day}") for part in ranges.split(",") if part.strip()
        )
    return hours


def _range(text: str, where: str) -> tuple[time, time]:
    match = HOURS_RANGE.match(text)
    if not match:
        raise ConfigError(f"{where}: {text.strip()!r} is not a range such as 08:30-12:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise ConfigError(f"{where}: {text.strip()!r} is not a valid time range") from None
    if end <= start:
        raise ConfigError(f"{where}: {text.strip()!r} ends before it starts")
    return start, end
