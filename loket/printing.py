"""Ticket printing on a 58 or 80 mm thermal ESC/POS printer, with a file printer for tests and dev."""

from __future__ import annotations

import re
import struct
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from loket import qr
from loket.errors import LoketError

if TYPE_CHECKING:
    from PIL import Image

    from loket.config import Office, Service
    from loket.model import Receipt

COLUMNS = 42  # font A on 80 mm paper, for a profile that does not say (58 mm: 32)
NUMBER_SIZE = 3  # width and height multiplier of the ticket number
QR_MM = 30
PREVIEW_WIDTH = 576  # dots of an 80 mm printer at 203 dpi, for a profile that does not say
BRING_ITEMS = 3  # a ticket lists only the first few; the phone page has them all
SPEC_HELP = "use none, file:DIR, network:HOST[:PORT] or usb:VENDOR:PRODUCT"


class PrinterError(LoketError):
    """The ticket printer cannot be reached or failed while printing."""


@dataclass(frozen=True)
class PrintedTicket:
    """What goes on the paper, every text already in the visitor's language."""

    office: str
    number: str
    service: str
    issued_on: str
    position: int
    wait_line: str
    position_line: str
    footer: str
    qr_text: str
    """The ticket's signed code, scanned back at the kiosk ("I'm here")."""
    bring: str = ""
    online_hint: str = ""
    online_url: str = ""
    phone_hint: str = ""
    visitor_url: str | None = None
    """The visitor's phone page (`[web] public_url`), printed as a QR of its own."""


def parse_spec(spec: str) -> tuple[str, ...]:
    """Split a printer spec into its kind and arguments; ValueError if it is not valid."""
    kind, _, rest = spec.partition(":")
    if spec == "none":
        return ("none",)
    if kind == "file" and rest:
        return ("file", rest)
    if kind == "network":
        host, _, port = rest.partition(":")
        port = port or "9100"
        if not re.fullmatch(r"[A-Za-z0-9._-]+", host):
            raise ValueError(f"printer {spec!r}: the host name is missing or invalid")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"printer {spec!r}: the port must be a number from 1 to 65535")
        return ("network", host, port)
    if kind == "usb":
        ids = rest.split(":")
        if len(ids) != 2 or not all(re.fullmatch(r"[0-9A-Fa-f]{1,4}", i) for i in ids):
            raise ValueError(
                f"printer {spec!r}: expected usb:VENDOR:PRODUCT in hex, like 04b8:0e15"
            )
        return ("usb", ids[0].lower(), ids[1].lower())
    raise ValueError(f"unknown printer {spec!r}: {SPEC_HELP}")


def ticket_lines(receipt: Receipt, office: Office, language: str) -> dict[str, str]:
    """What a ticket says in `language`: the same on a screen and on paper."""
    from loket.texts import day_text, text

    ticket = receipt.ticket
    local = ticket.arrived_at.astimezone(office.timezone)
    service = office.services[ticket.service].name(language)
    if ticket.priority:
        service += f" · {text(language, 'priority_button')}"
    return {
        "service": service,
        "position": text(language, "position", position=receipt.position),
        "wait": wait_line(receipt, office, language),
        "issued": text(
            language, "issued_on", day=day_text(language, local.date()), time=f"{local:%H:%M}"
        ),
    }


def service_notes(service: Service, language: str) -> dict[str, str]:
    """What to bring (the first few things) and where to do it online; "" for what is not set."""
    from loket.texts import text

    items = service.bring_in(language)
    shown = list(items[:BRING_ITEMS]) + (["…"] if len(items) > BRING_ITEMS else [])
    return {
        "bring": text(language, "bring", items=" · ".join(shown)) if items else "",
        "online": text(language, "online_hint") if service.online_url else "",
        "online-url": service.online_url or "",
    }


def wait_line(receipt: Receipt, office: Office, language: str) -> str:
    """The ticket's promise: a wait for a walk-in, a time for an appointment, or "in a moment"."""
    from loket.model import APPOINTMENT
    from loket.texts import text

    minutes = receipt.estimated_wait_minutes
    if minutes is None:
        return text(language, "wait_unknown")
    if minutes == 0:  # nothing ahead and a counter free: never "0 min"
        return text(language, "called_in_a_moment")
    if receipt.ticket.kind == APPOINTMENT and receipt.called_around is not None:
        around = to_five_minutes(receipt.called_around.astimezone(office.timezone))
        return text(language, "called_around", time=f"{around:%H:%M}")
    return text(language, "estimated_wait", minutes=minutes)


def to_five_minutes(moment: datetime) -> datetime:
    """`moment` to the nearest 5 minutes on the clock (half way goes up)."""
    past = timedelta(
        minutes=moment.minute % 5, seconds=moment.second, microseconds=moment.microsecond
    )
    down = moment - past
    return down + timedelta(minutes=5) if past >= timedelta(minutes=2.5) else down


def printed_ticket(
    receipt: Receipt, office: Office, language: str, visitor_url: str | None = None
) -> PrintedTicket:
    """The ticket as the printer lays it out, in `language`, with the phone page's QR if any."""
    from loket.texts import text

    lines = ticket_lines(receipt, office, language)
    notes = service_notes(office.services[receipt.ticket.service], language)
    return PrintedTicket(
        office=office.name,
        number=receipt.ticket.number,
        service=lines["service"],
        issued_on=lines["issued"],
        position=receipt.position,
        position_line=lines["position"],
        wait_line=lines["wait"],
        footer=text(language, "print_footer"),
        qr_text=receipt.code,
        bring=notes["bring"],
        online_hint=notes["online"],
        online_url=notes["online-url"],
        phone_hint=text(language, "follow_on_phone") if visitor_url else "",
        visitor_url=visitor_url,
    )


def open_printer(spec: str, profile: str = "default") -> TicketPrinter | None:
    """The printer for `spec`, or None for `none` (the ticket is only shown on screen)."""
    if parse_spec(spec) == ("none",):
        return None
    # python-escpos loads its printer database on import (~1 s here): only with a printer.
    get_profile = _escpos_capabilities().get_profile
    try:
        get_profile(profile)
    except KeyError:
        raise ValueError(f"unknown printer profile {profile!r}") from None
    return TicketPrinter(spec, profile)


def _escpos_capabilities():
    """python-escpos's printer database, imported without leaving anything in /tmp behind.

    On import it pickles the database into ESCPOS_CAPABILITIES_PICKLE_DIR, or into a new
    mkdtemp() folder that it never removes (and calls mkdtemp() even when that is set): a
    kiosk started daily would leave a folder a day. A shared folder is no better: the
    pickle is written in place, so a process starting beside another (kiosk and counter at
    boot) or after one killed mid-write reads half a pickle and fails. So each import gets
    a folder of its own, removed at once, unless the environment names one.
    """
    import sys

    if "escpos.capabilities" in sys.modules:
        return sys.modules["escpos.capabilities"]
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="loket-escpos-") as scratch:
        before, tempfile.tempdir = tempfile.tempdir, scratch
        named = "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ
        os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", scratch)
        try:
            import escpos.capabilities
        finally:
            tempfile.tempdir = before
            if not named:
                del os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]
    return escpos.capabilities


def ticket_bytes(ticket: PrintedTicket, profile: str = "default") -> bytes:
    """The ESC/POS bytes of one ticket, exactly as sent to the printer."""
    _escpos_capabilities()
    from escpos.printer import Dummy

    p = Dummy(profile=profile)
    sheet = paper(p.profile)
    p.hw("INIT")
    p.set(align="center")
    bold = False
    for style, text in _layout(ticket, sheet.columns):
        if style == "qr":
            image = _qr_image(text, _module_dots(text, sheet), ink=1)
            # GS v 0 is a raster of 1 = dark bits; own command so python-escpos prints no warning
            head = b"\x1dv0\x00" + struct.pack("<HH", (image.width + 7) // 8, image.height)
            p._raw(head + image.tobytes())
            p.ln()
            continue
        if bold != (style in ("title", "number")):
            bold = not bold
            p.set(bold=bold)
        if style == "number":
            p.set(custom_size=True, width=NUMBER_SIZE, height=NUMBER_SIZE)
            p.textln(text)
            p.set(custom_size=True, width=1, height=1)
        else:
            p.textln(text)
    p.cut()
    return p.output


def ticket_preview(ticket: PrintedTicket, profile: str = "default") -> Image.Image:
    """A black-on-white picture of the ticket as the profile's printer prints it."""
    from PIL import Image, ImageDraw, ImageFont

    sheet = paper(_escpos_capabilities().get_profile(profile))
    size = sheet.dots / sheet.columns * 1.45  # a font this size fills a line of `columns`
    fonts = {
        "number": ImageFont.load_default(size=round(size * NUMBER_SIZE * 1.2)),
        "title": ImageFont.load_default(size=round(size * 1.2)),
        "text": ImageFont.load_default(size=round(size)),
    }
    canvas = Image.new("1", (sheet.dots, 6000), 1)
    draw = ImageDraw.Draw(canvas)
    y = 24
    for style, text in _layout(ticket, sheet.columns):
        if style == "qr":
            image = _qr_image(text, _module_dots(text, sheet), ink=0)
            canvas.paste(image, ((sheet.dots - image.width) // 2, y))
            y += image.height + 12
            continue
        font = fonts[style]
        _, top, _, bottom = font.getbbox("Ag")  # same height for every line, blank ones too
        draw.text((sheet.dots // 2, y - top), text, font=font, fill=0, anchor="ma")
        y += bottom - top + (16 if style == "number" else 8)
    return canvas.crop((0, 0, sheet.dots, y + 40))


@dataclass(frozen=True)
class Paper:
    """A printer's line: characters of its font A, dots, and dots per inch."""

    columns: int = COLUMNS
    dots: int = PREVIEW_WIDTH
    dpi: int = 203


def paper(profile) -> Paper:
    """What a python-escpos profile says of its paper; 80 mm at 203 dpi where it says nothing."""
    data = profile.profile_data
    columns = data.get("fonts", {}).get("0", {}).get("columns")
    dots = data.get("media", {}).get("width", {}).get("pixels")
    dpi = data.get("media", {}).get("dpi")
    # Some profiles list a column count of a font that is not font A (12 on 80 mm paper).
    return Paper(
        columns if isinstance(columns, int) and 24 <= columns <= 64 else COLUMNS,
        dots if isinstance(dots, int) and dots >= 256 else PREVIEW_WIDTH,
        dpi if isinstance(dpi, int) else 203,
    )


class TicketPrinter:
    """A ticket printer; the connection is opened for each ticket and closed after it."""

    def __init__(self, spec: str, profile: str = "default") -> None:
        self.spec = spec
        self.profile = profile
        self.parts = parse_spec(spec)

    def print_ticket(self, ticket: PrintedTicket) -> None:
        """Print one ticket; PrinterError if anything goes wrong."""
        try:
            # built whole first, so a half-built ticket is never sent
            data = ticket_bytes(ticket, self.profile)
            getattr(self, "_send_" + self.parts[0])(data, ticket)
        except Exception as e:  # the kiosk must only ever see a PrinterError
            reason = " ".join(str(e).split()) or type(e).__name__
            raise PrinterError(f"printer {self.spec} failed: {reason}") from e

    def _send_file(self, data: bytes, ticket: PrintedTicket) -> None:
        folder = Path(self.parts[1])
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_-]", "_", ticket.number)
        stem = folder / f"{name}-{datetime.now():%Y%m%d-%H%M%S-%f}"
        stem.with_suffix(".bin").write_bytes(data)
        ticket_preview(ticket, self.profile).save(stem.with_suffix(".png"), format="PNG")

    def _send_network(self, data: bytes, ticket: PrintedTicket) -> None:
        _escpos_capabilities()
        from escpos.printer import Network

        self._send_device(Network(self.parts[1], int(self.parts[2]), timeout=10), data)

    def _send_usb(self, data: bytes, ticket: PrintedTicket) -> None:
        _escpos_capabilities()
        from escpos.printer import Usb

        # Usb() without pyusb even fails in its __del__, so check before making one
        if not Usb.is_usable():
            raise PrinterError("USB printing needs pyusb (pip install 'python-escpos[usb]')")
        vendor, product = (int(i, 16) for i in self.parts[1:])
        self._send_device(Usb(vendor, product, timeout=10_000), data)

    @staticmethod
    def _send_device(device, data: bytes) -> None:
        device.open()
        try:
            device._raw(data)  # python-escpos has no public raw write
        finally:
            device.close()


def _layout(ticket: PrintedTicket, columns: int = COLUMNS) -> list[tuple[str, str]]:
    """The ticket as (style, line) pairs, text wrapped to `columns`."""
    notes = [("text", line) for line in (ticket.bring, ticket.online_hint) if line]
    notes += [("url", ticket.online_url)] if ticket.online_url else []
    phone = [("text", ticket.phone_hint), ("qr", ticket.visitor_url), ("text", "")]
    rows = [
        ("title", ticket.office),
        ("text", ""),
        ("number", ticket.number),
        ("text", ""),
        ("text", ticket.service),
        ("text", ticket.issued_on),
        ("text", ticket.position_line),
        ("text", ticket.wait_line),
        ("text", ""),
        *([*notes, ("text", "")] if notes else []),
        *(phone if ticket.visitor_url else []),
        ("qr", ticket.qr_text),
        ("text", ticket.footer),
    ]
    lines = []
    for style, text in rows:
        if style == "qr":
            lines.append((style, text))
            continue
        width = columns // NUMBER_SIZE if style == "number" else columns
        text = "".join(c for c in text if c.isprintable() or c.isspace())
        # An address is cut only where the line ends, never at its dashes.
        wrapped = textwrap.wrap(text, width, break_on_hyphens=style != "url")
        lines += [("text" if style == "url" else style, line) for line in wrapped or [""]]
    return lines


def _module_dots(text: str, sheet: Paper) -> int:
    """Dots per QR module so that the code is about QR_MM wide, and never wider than the paper."""
    modules = len(qr.matrix(text))
    return max(1, min(round(QR_MM / 25.4 * sheet.dpi / modules), sheet.dots // modules))


def _qr_image(text: str, module: int, ink: int) -> Image.Image:
    """The QR code as a 1-bit image, dark modules set to `ink`."""
    from PIL import Image

    rows = qr.matrix(text)
    size = len(rows)
    image = Image.new("1", (size, size), 1 - ink)
    image.putdata([ink if dark else 1 - ink for row in rows for dark in row])
    return image.resize((size * module, size * module), Image.NEAREST)
