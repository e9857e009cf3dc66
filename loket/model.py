"""The records the engine hands to its clients, and how times are written in the database."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

WAITING, CALLED, DONE, NO_SHOW, CANCELLED, EXPIRED = (
    "waiting",
    "called",
    "done",
    "no_show",
    "cancelled",
    "expired",
)
STATES = (WAITING, CALLED, DONE, NO_SHOW, CANCELLED, EXPIRED)
WALK_IN, APPOINTMENT = "walk_in", "appointment"


def utc_now() -> datetime:
    """The real clock; the engine takes any callable that returns an aware datetime."""
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """A UTC time in the fixed-width form stored in the database, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str | None) -> datetime | None:
    """The stored form back to an aware datetime."""
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Ticket:
    """A numbered ticket; `number` is what the visitor's paper says (A012) and never changes."""

    id: int
    number: str
    series: str
    seq: int
    service_day: str
    service: str
    kind: str
    priority: bool
    status: str
    arrived_at: datetime
    appointment_at: datetime | None = None
    counter: str | None = None
    first_called_at: datetime | None = None
    called_at: datetime | None = None
    recalls: int = 0
    finished_at: datetime | None = None
    due_at: datetime | None = None
    """When it is due to be called: the calling order (loket.rules)."""
    reinstated: int = 0
    """How often it came back into the line after a no-show."""
    postponed: int = 0
    """How often the visitor asked for more time on their phone (once at most)."""

    def to_dict(self) -> dict:
        """Plain JSON-ready fields, times as ISO 8601 UTC."""
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Receipt:
    """A ticket as just issued: with its place in line and the estimated wait."""

    ticket: Ticket
    position: int
    estimated_wait_minutes: int | None
    """The promised wait, to the nearest 5 minutes (loket.rules.promise); None: unknown."""
    called_around: datetime | None = None
    """When the ticket should be called, by the estimate before rounding."""
    code: str = ""
    """The signed text of the ticket's QR code (loket.codes.ticket_payload)."""

    def to_dict(self) -> dict:
        return {
            **self.ticket.to_dict(),
            "position": self.position,
            "estimated_wait_minutes": self.estimated_wait_minutes,
            "called_around": None if self.called_around is None else to_text(self.called_around),
        }


# The uid the engine gives an imported CSV row without one: "row-" + 32 hex of an HMAC.
INTERNAL_UID = re.compile(r"row-[0-9a-f]{32}")


@dataclass(frozen=True)
class Appointment:
    """A booked visit. `name` is personal data: never shown on a ticket or a screen."""

    id: int
    reference: str
    uid: str | None
    service: str
    starts_at: datetime
    day: str
    name: str | None
    status: str
    ticket_id: int | None
    qr_payload: str = ""

    @property
    def display_reference(self) -> str:
        """The reference as people read and type it: XXXX-XXXX."""
        return f"{self.reference[:4]}-{self.reference[4:]}"

    @property
    def checked_in(self) -> bool:
        return self.ticket_id is not None

    @property
    def booking_uid(self) -> str | None:
        """The booking system's own uid; None for Loket's key of a CSV row that had none."""
        if self.uid is None or INTERNAL_UID.fullmatch(self.uid):
            return None
        return self.uid

    def to_dict(self) -> dict:
        data = _jsonable(asdict(self))
        data["reference"] = self.display_reference
        data["at"] = data.pop("starts_at")
        data["checked_in"] = self.checked_in
        return data


@dataclass(frozen=True)
class CounterState:
    """A counter as it stands now: open or paused, the ticket it is serving, who is there."""

    id: str
    name: str
    state: str
    services: tuple[str, ...]
    current: Ticket | None
    present: bool = False
    """A counter app holds it and said so lately: only then does it count for estimates."""
    away_since: datetime | None = None
    """Nobody there: since the last clerk left or their app was last heard of (None: never)."""

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "services": list(self.services),
            "current": None if self.current is None else self.current.to_dict(),
            "present": self.present,
            "away_since": None if self.away_since is None else self.away_since.isoformat(),
        }


@dataclass(frozen=True)
class Event:
    """One row of the append-only history of state changes."""

    id: int
    at: datetime
    action: str
    ticket_id: int | None
    from_state: str | None
    to_state: str | None
    counter: str | None
    service: str | None
    number: str | None = None


def _jsonable(data: dict) -> dict:
    return {
        key: to_text(value) if isinstance(value, datetime) else value for key, value in data.items()
    }


@dataclass(frozen=True)
class DeviceToken:
    """A web API client's token (`loket token create`); only its hash is stored."""

    id: int
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Visit:
    """One ticket as its visitor's phone page shows it: no personal data, nothing else."""

    ticket: Ticket
    service_names: dict[str, str]
    ahead: int = 0
    """Waiting tickets called before it (0 once it is no longer waiting)."""
    estimated_wait_minutes: int | None = None
    counter_name: str | None = None
    """The counter calling it, while it is called."""
    can_postpone: bool = False
    near_turn: bool = False
    """Waiting with `[web] near_turn` or fewer ahead: the page alerts its visitor."""
    bring: dict[str, tuple[str, ...]] | None = None
    online_url: str | None = None

    @property
    def state(self) -> str:
        return self.ticket.status

    def to_dict(self) -> dict:
        return {
            "number": self.ticket.number,
            "service": self.ticket.service,
            "service_names": self.service_names,
            "state": self.state,
            "ahead": self.ahead,
            "estimated_wait_minutes": self.estimated_wait_minutes,
            "counter_name": self.counter_name,
            "can_postpone": self.can_postpone,
            "near_turn": self.near_turn,
            "bring": {lang: list(items) for lang, items in (self.bring or {}).items()},
            "online_url": self.online_url,
            "service_day": self.ticket.service_day,
        }
