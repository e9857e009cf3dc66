"""Appointment references people can type, and QR payloads a scanner types for them.

A reference is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L, U/V),
shown as XXXX-XXXX. A QR payload is `LK` + reference + date (YYYYMMDD) + a 16-character
HMAC-SHA256 tag, letters and digits only: USB scanners type it as a keyboard would, and
punctuation lands on different keys on AZERTY and QWERTY layouts.
"""

from __future__ import annotations

import re

ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
REFERENCE_LENGTH = 8
PAYLOAD_PREFIX = "LK"
TAG_LENGTH = 16
PAYLOAD = re.compile(rf"LK([{ALPHABET}]{{8}})(\d{{8}})([A-Z2-7]{{{TAG_LENGTH}}})")


def new_reference() -> str:
    """A fresh random reference (the caller checks it is not in use yet)."""
    import secrets  # hashing and randomness modules are imported where used: `loket ticket` needs neither

    return "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def new_secret() -> str:
    """The office's signing key for QR payloads, made once at init, kept in the database."""
    import secrets

    return secrets.token_hex(32)


def qr_payload(secret: str, reference: str, day: str) -> str:
    """The signed text inside an appointment's QR code; `day` is YYYY-MM-DD."""
    compact_day = day.replace("-", "")
    return f"{PAYLOAD_PREFIX}{reference}{compact_day}{_tag(secret, reference, compact_day)}"


def read_code(secret: str, text: str) -> str | None:
    """The reference inside a scanned payload or a typed reference; None if it is neither.

    A payload whose tag does not match is rejected here, so a forged code never
    reaches the database lookup.
    """
    compact = re.sub(r"[\s\-]", "", text).upper()
    if len(compact) == REFERENCE_LENGTH and all(ch in ALPHABET for ch in compact):
        return compact
    match = PAYLOAD.fullmatch(compact)
    if match is None:
        return None
    reference, compact_day, tag = match.groups()
    import hmac

    if not hmac.compare_digest(tag, _tag(secret, reference, compact_day)):
        return None
    return reference


def _tag(secret: str, reference: str, compact_day: str) -> str:
    import base64
    import hashlib
    import hmac

    digest = hmac.new(
        secret.encode(), f"{reference}:{compact_day}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest[:10]).decode()


TICKET_CODE = re.compile(rf"LT(\d{{8}})([A-Z]{{1,2}}\d{{1,6}})([A-Z2-7]{{{TAG_LENGTH}}})")


def ticket_payload(secret: str, ticket) -> str:
    """What a ticket's QR code says: `LT`, its service day, number and a signature.

    No personal data; signed so that only a ticket this office printed can be scanned back
    into the line ("I'm here" after a no-show).
    """
    compact_day = ticket.service_day.replace("-", "")
    return f"LT{compact_day}{ticket.number}{_tag(secret, f'ticket {ticket.number}', compact_day)}"


def read_ticket_code(secret: str, text: str) -> tuple[str, str] | None:
    """(number, YYYY-MM-DD) of a scanned ticket code; None if it is not one or is forged."""
    match = TICKET_CODE.fullmatch(re.sub(r"\s", "", text).upper())
    if match is None:
        return None
    compact_day, number, tag = match.groups()
    import hmac

    if not hmac.compare_digest(tag, _tag(secret, f"ticket {number}", compact_day)):
        return None
    return number, f"{compact_day[:4]}-{compact_day[4:6]}-{compact_day[6:]}"


# One spelling per ticket: ASCII digits without leading zeros, the tag in capitals.
VISITOR_TOKEN = re.compile(rf"([1-9][0-9]{{0,17}})-([0-9]{{8}})-([A-Z2-7]{{{TAG_LENGTH}}})")


def visitor_token(secret: str, ticket) -> str:
    """The unguessable part of a ticket's phone page address: its id, day and a signature.

    Only this office can make one; it names one ticket of one service day, which is when it
    stops working.
    """
    compact_day = ticket.service_day.replace("-", "")
    return f"{ticket.id}-{compact_day}-{_tag(secret, f'visit {ticket.id}', compact_day)}"


def read_visitor_token(secret: str, text: str) -> tuple[int, str] | None:
    """(ticket id, YYYY-MM-DD) of a phone page token; None if it is not one or is forged."""
    match = VISITOR_TOKEN.fullmatch(text)
    if match is None:
        return None
    ticket_id, compact_day, tag = match.groups()
    import hmac

    if not hmac.compare_digest(tag, _tag(secret, f"visit {int(ticket_id)}", compact_day)):
        return None
    return int(ticket_id), f"{compact_day[:4]}-{compact_day[4:6]}-{compact_day[6:]}"


MAX_UID_PARTS = 8


def uid_candidates(text: str) -> tuple[list[str], list[str]]:
    """The booking-system UIDs a typed or scanned code may be: (the code, parts of its link).

    The code itself as typed, upper and lower case (a keypad types one case); and, for a
    booking system's QR that holds a link, the link's last path segment and query values.
    A part matches only when it is the one part that does: `?office=5&id=1234` must not
    check in the visitor whose number is 5.
    """
    from urllib.parse import parse_qsl, urlsplit

    code = text.strip()
    if not code or len(code) > 500:
        return [], []
    whole = list(dict.fromkeys([code, code.upper(), code.lower()]))
    parts: list[str] = []
    if "://" in code:
        link = urlsplit(code)
        parts = [link.path.rstrip("/").rpartition("/")[2]]
        parts += [value for _, value in parse_qsl(link.query)]
    parts = [p for p in dict.fromkeys(parts) if p and len(p) <= 200 and p not in whole]
    return whole, parts[:MAX_UID_PARTS]
