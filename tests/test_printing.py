"""The kiosk's ticket on a thermal printer: the ESC/POS bytes, the QR on paper, failing printers."""

from __future__ import annotations

import os
import queue
import re
import socket
import socketserver
import threading
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image, ImageOps

from loket.config import default_config_text, load_config
from loket.model import Receipt, Ticket
from loket.printing import (
    PrintedTicket,
    PrinterError,
    open_printer,
    parse_spec,
    printed_ticket,
    ticket_bytes,
    ticket_lines,
    to_five_minutes,
)

TICKET = PrintedTicket(
    office="Stadhuis Demo",
    number="A012",
    service="Identiteitskaart en reispas",
    issued_on="maandag 7 december om 09:12",
    position=3,
    wait_line="Geschatte wachttijd: 12 min",
    position_line="Plaats in de rij: 3",
    footer="Bedankt voor uw bezoek, tot straks!",
    qr_text="https://demo.loket.be/t/A012?c=XYZ123",
)
LONG = PrintedTicket(
    office="Administratief Centrum van de Stad en het OCMW Demo-Sint-Amands",
    number="B107",
    service="Aanvraag van een uittreksel uit het strafregister (model 1 en model 2) en attesten",
    issued_on="woensdag 23 september om 14:05",
    position=12,
    wait_line="Geschatte wachttijd: 45 min",
    position_line="Plaats in de rij: 12",
    footer="Houd dit ticket bij de hand; u wordt afgeroepen op het scherm in de wachtzaal.",
    qr_text="https://demo.loket.be/t/B107?c=" + "Q" * 60,
)
ONE_ARG = {b"\x1b!", b"\x1bE", b"\x1ba", b"\x1bt", b"\x1bd", b"\x1d!"}


def parse(data: bytes) -> dict:
    """Read the ESC/POS commands the ticket uses; fail on any other command."""
    out = {"lines": [], "images": [], "sizes": [], "cuts": 0}
    line, width, i = [], 1, 0
    while i < len(data):
        cmd = data[i : i + 2]
        if cmd == b"\x1b@":
            i += 2
        elif cmd in ONE_ARG:
            if cmd == b"\x1d!":
                width = (data[i + 2] >> 4) + 1
                out["sizes"].append((width, (data[i + 2] & 0x0F) + 1))
            i += 3
        elif cmd == b"\x1dv":
            assert data[i + 2 : i + 4] == b"0\x00"
            xbytes = int.from_bytes(data[i + 4 : i + 6], "little")
            height = int.from_bytes(data[i + 6 : i + 8], "little")
            raster = data[i + 8 : i + 8 + xbytes * height]
            # ESC/POS sets a bit for a dark dot, PIL's mode "1" for a white one
            dots = Image.frombytes("1", (xbytes * 8, height), raster)
            out["images"].append(ImageOps.invert(dots.convert("L")))
            i += 8 + xbytes * height
        elif cmd == b"\x1dV":
            out["cuts"] += 1
            i += 3 if data[i + 2] in (0, 1, 48, 49) else 4
        elif data[i] in (0x1B, 0x1D):
            raise AssertionError(f"unexpected command {cmd!r} at {i}")
        elif data[i] == 0x0A:
            out["lines"].append("".join(line))
            line = []
            i += 1
        else:
            line.append(chr(data[i]) * width)
            i += 1
    return out


def decode(image: Image.Image) -> list[str]:
    framed = ImageOps.expand(image.convert("L"), border=40, fill=255)
    return [found.text for found in zxingcpp.read_barcodes(framed)]


def printed_files(folder):
    bins = sorted(folder.glob("*.bin"))
    return bins, sorted(folder.glob("*.png"))


class Collect(socketserver.BaseRequestHandler):
    def handle(self):
        chunks = []
        while chunk := self.request.recv(65536):
            chunks.append(chunk)
        self.server.received.put(b"".join(chunks))


@pytest.fixture
def tcp_printer():
    """A stand-in network printer on 127.0.0.1 that collects what each connection sent."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Collect)
    server.received = queue.Queue()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_ticket_reaches_the_file_printer_as_the_exact_escpos_bytes(tmp_path):
    open_printer(f"file:{tmp_path}/out").print_ticket(TICKET)

    bins, pngs = printed_files(tmp_path / "out")
    assert len(bins) == len(pngs) == 1
    assert bins[0].name.startswith("A012-") and bins[0].stem == pngs[0].stem
    data = bins[0].read_bytes()
    assert data == ticket_bytes(TICKET)
    assert data.startswith(b"\x1b@")
    for text in ("Stadhuis Demo", "A012", "Identiteitskaart en reispas", "Plaats in de rij: 3"):
        assert text.encode() in data
    assert b"\x1bE\x01\x1d!\x22A012\n" in data  # bold, triple width and height
    assert data.rstrip(b"\x00\x01").endswith(b"\x1dV")


def test_the_big_number_is_at_least_double_size_and_the_rest_normal():
    printed = parse(ticket_bytes(TICKET))
    (big_w, big_h), *rest = printed["sizes"]
    assert big_w >= 2 and big_h >= 2
    assert rest == [(1, 1)]
    assert "AAA000111222" in printed["lines"]  # the number, three columns per character
    assert printed["cuts"] == 1


def test_long_texts_wrap_to_42_columns_and_keep_every_word():
    printed = parse(ticket_bytes(LONG))
    assert max(len(line) for line in printed["lines"]) <= 42
    text = " ".join(printed["lines"])
    for field in (LONG.office, LONG.service, LONG.footer):
        assert all(word in text for word in field.split())


def test_no_line_is_longer_than_42_columns_on_the_plain_ticket():
    assert max(len(line) for line in parse(ticket_bytes(TICKET))["lines"]) <= 42


def test_the_qr_on_paper_is_an_image_that_decodes_to_the_ticket_link():
    for ticket in (TICKET, LONG):
        (image,) = parse(ticket_bytes(ticket))["images"]
        assert decode(image) == [ticket.qr_text]
        assert b"\x1d(k" not in ticket_bytes(ticket)  # never the printer's own QR command


@pytest.mark.parametrize(("profile", "dpi"), [("default", 203), ("TM-T88V", 180)])
def test_the_qr_is_about_30_mm_wide_for_the_printer_resolution(profile, dpi):
    (image,) = parse(ticket_bytes(TICKET, profile))["images"]
    dark = ImageOps.invert(image).getbbox()
    width_mm = (dark[2] - dark[0]) / dpi * 25.4
    assert 24 <= width_mm <= 34


def test_the_png_preview_is_80_mm_wide_black_on_white_and_its_qr_decodes(tmp_path):
    open_printer(f"file:{tmp_path}").print_ticket(TICKET)

    _, (png,) = printed_files(tmp_path)
    with Image.open(png) as preview:
        assert preview.width == 576
        assert preview.getpixel((0, 0)) in (1, 255)  # white paper
        assert decode(preview) == [TICKET.qr_text]


def test_accented_text_is_sent_in_a_printer_code_page_not_utf8():
    data = ticket_bytes(
        PrintedTicket("Hôtel de Ville", "C003", "Carte d'identité", "", 1, "", "", "Merci", "x")
    )
    assert "Hôtel".encode() not in data and b"\x1bt" in data
    assert "Carte d'identit" in " ".join(parse(data)["lines"])


def test_the_network_printer_receives_the_same_bytes_as_the_dummy(tcp_printer):
    port = tcp_printer.server_address[1]
    printer = open_printer(f"network:127.0.0.1:{port}", profile="TM-T88V")

    printer.print_ticket(TICKET)
    printer.print_ticket(LONG)

    # One connection per ticket, each collected on its own server thread: either may finish first.
    received = sorted(tcp_printer.received.get(timeout=5) for _ in range(2))
    assert received == sorted([ticket_bytes(TICKET, "TM-T88V"), ticket_bytes(LONG, "TM-T88V")])


def test_a_printer_failing_mid_ticket_raises_printer_error_and_the_next_ticket_prints(
    tcp_printer, monkeypatch
):
    from escpos.printer import Network

    def half_then_fail(self, msg):
        self.device.sendall(msg[: len(msg) // 2])
        raise OSError("paper jam")

    port = tcp_printer.server_address[1]
    printer = open_printer(f"network:127.0.0.1:{port}")
    monkeypatch.setattr(Network, "_raw", half_then_fail)

    with pytest.raises(
        PrinterError, match=rf"^printer network:127.0.0.1:{port} failed: paper jam$"
    ):
        printer.print_ticket(TICKET)
    assert len(tcp_printer.received.get(timeout=5)) < len(ticket_bytes(TICKET))

    monkeypatch.undo()  # the printer works again: same TicketPrinter, new connection
    printer.print_ticket(TICKET)
    assert tcp_printer.received.get(timeout=5) == ticket_bytes(TICKET)


def test_a_switched_off_printer_raises_printer_error_naming_the_spec():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nobody listens

    with pytest.raises(PrinterError) as raised:
        open_printer(f"network:127.0.0.1:{port}").print_ticket(TICKET)
    assert type(raised.value) is PrinterError
    assert f"network:127.0.0.1:{port}" in str(raised.value) and "\n" not in str(raised.value)


def test_a_missing_usb_printer_and_an_unwritable_folder_raise_printer_error(tmp_path):
    (tmp_path / "taken").write_text("not a folder")

    for spec in ("usb:04b8:0e15", f"file:{tmp_path}/taken"):
        with pytest.raises(PrinterError, match=f"^printer {spec} failed: "):
            open_printer(spec).print_ticket(TICKET)


@pytest.mark.parametrize(
    ("spec", "parts"),
    [
        ("none", ("none",)),
        ("file:/x", ("file", "/x")),
        ("network:printer.local", ("network", "printer.local", "9100")),
        ("network:10.0.0.9:9100", ("network", "10.0.0.9", "9100")),
        ("usb:04b8:0e15", ("usb", "04b8", "0e15")),
        ("usb:04B8:E15", ("usb", "04b8", "e15")),
    ],
)
def test_printer_specs_are_accepted(spec, parts):
    assert parse_spec(spec) == parts
    printer = open_printer(spec, profile="TM-T88V")
    assert printer is None if spec == "none" else printer.spec == spec


@pytest.mark.parametrize(
    "spec",
    ["lpt1", "usb:zz:1", "usb:04b8", "usb:04b8:0e15:1", "network:", "network:h:99999",
     "network:h:0", "network:h:x", "network:bad host", "file:", "", "None"],
)  # fmt: skip
def test_bad_printer_specs_are_refused_with_a_clear_message(spec):
    with pytest.raises(ValueError, match="printer"):
        parse_spec(spec)
    with pytest.raises(ValueError, match=re.escape(repr(spec))):
        open_printer(spec)


def test_an_unknown_printer_profile_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="'TM-NOPE'"):
        open_printer(f"file:{tmp_path}", profile="TM-NOPE")


def test_no_printer_needs_no_profile():
    assert open_printer("none", profile="TM-NOPE") is None


def test_loading_the_printer_database_leaves_no_folder_in_the_temporary_folder(tmp_path):
    """python-escpos makes a temporary folder on every import; a daily kiosk start must not."""
    import subprocess
    import sys

    scratch, home = tmp_path / "tmp", tmp_path / "home"
    scratch.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"},
        "TMPDIR": str(scratch),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    load = "from loket.printing import open_printer; open_printer('file:x')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", load], env=env, check=True, timeout=60)
    assert list(scratch.iterdir()) == []
    assert not home.exists()  # nor a cache in the home folder that a second process could half-read


def test_a_half_written_printer_database_left_behind_never_stops_a_start(tmp_path):
    """A cache shared by processes is written in place: one killed mid-write left it half."""
    import platform
    import subprocess
    import sys

    home = tmp_path / "home"
    cache = home / ".cache" / "loket" / "escpos"
    cache.mkdir(parents=True)
    (cache / f"{platform.python_version()}.capabilities.pickle").write_bytes(b"\x80\x04")
    env = {
        **{k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"},
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    load = "from loket.printing import open_printer; open_printer('file:x')"
    loaded = subprocess.run([sys.executable, "-c", load], env=env, capture_output=True, timeout=60)
    assert (loaded.returncode, loaded.stderr) == (0, b"")


# the ticket's promise, in the visitor's language


def receipt(minutes, kind="walk_in", called_around=None, number="A012"):
    """A receipt as the engine hands it out, at 09:12 in Brussels (08:12 UTC)."""
    ticket = Ticket(1, number, number[0], 12, "2026-12-07", "A", kind, False, "waiting", utc(8, 12))
    return Receipt(ticket, 3, minutes, called_around, code="LT20261207" + number + "X" * 16)


def office():
    return load_config(default_config_text())


def utc(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, 7, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "walk_in", "free", "appointment"),
    [
        ("nl", "Geschatte wachttijd: 25 min", "U wordt zo meteen afgeroepen",
         "U wordt rond 10:30 afgeroepen"),
        ("fr", "Attente estimée : 25 min", "Vous serez appelé dans un instant",
         "Vous serez appelé vers 10:30"),
        ("en", "Estimated wait: 25 min", "You will be called in a moment",
         "You will be called around 10:30"),
        ("de", "Geschätzte Wartezeit: 25 Min.", "Sie werden gleich aufgerufen",
         "Sie werden gegen 10:30 Uhr aufgerufen"),
    ],
)  # fmt: skip
def test_the_ticket_promises_a_wait_a_moment_or_an_appointments_time(
    language, walk_in, free, appointment
):
    around = utc(9, 31, 10)  # 10:31 in Brussels: "around 10:30"
    assert ticket_lines(receipt(25, called_around=around), office(), language)["wait"] == walk_in
    assert ticket_lines(receipt(0, called_around=utc(8, 12)), office(), language)["wait"] == free
    booked = receipt(80, "appointment", around, number="R003")
    assert ticket_lines(booked, office(), language)["wait"] == appointment
    booked_free = receipt(0, "appointment", utc(8, 12), number="R003")
    assert ticket_lines(booked_free, office(), language)["wait"] == free  # never "around 09:10"


def test_an_appointments_time_is_rounded_to_five_minutes_on_the_clock():
    assert [to_five_minutes(utc(9, m, s)).strftime("%H:%M") for m, s in [
        (30, 0), (31, 10), (32, 29), (32, 30), (34, 59), (57, 31), (59, 0)
    ]] == ["09:30", "09:30", "09:30", "09:35", "09:35", "10:00", "10:00"]  # fmt: skip


@pytest.mark.parametrize("language", ["nl", "fr", "en", "de"])
@pytest.mark.parametrize(
    ("minutes", "kind"), [(None, "walk_in"), (0, "walk_in"), (125, "walk_in"), (45, "appointment")]
)
def test_every_promise_fits_the_paper_in_every_language(language, minutes, kind):
    number = "R107" if kind == "appointment" else "A107"
    ticket = printed_ticket(receipt(minutes, kind, utc(9, 58), number), office(), language)
    lines = parse(ticket_bytes(ticket))["lines"]
    assert max(len(line) for line in lines) <= 42
    assert len(ticket.wait_line) <= 42  # on one line of its own, never wrapped


# what to bring, the online address and the phone page's QR (issue 13)

VISITOR_URL = "https://loket.stad.be/t/" + "k3Xq-9_Zp" * 5 + "?lang=nl"
NARROW = "POS-5890"
"""A 58 mm printer: 32 characters and 384 dots a line."""


def served(number: str, language: str, visitor_url: str | None = None) -> PrintedTicket:
    """The demo office's ticket `number` (its letter is its service), as the kiosk prints it."""
    from dataclasses import replace

    walk_in = receipt(10, number=number)
    walk_in = replace(walk_in, ticket=replace(walk_in.ticket, service=number[0]))
    return printed_ticket(walk_in, office(), language, visitor_url)


def printed_text(data: bytes, profile: str = "default") -> list[str]:
    """The ticket's lines as the printer shows them, in the code pages the bytes select."""
    from loket.printing import _escpos_capabilities

    pages = _escpos_capabilities().get_profile(profile).profile_data["codePages"]
    lines, page, i, line = [], "cp437", 0, bytearray()
    while i < len(data):
        cmd = data[i : i + 2]
        if cmd == b"\x1bt":
            page = pages[str(data[i + 2])].lower().replace("_", "-")
            i += 3
        elif cmd == b"\x1dv":
            xbytes = int.from_bytes(data[i + 4 : i + 6], "little")
            i += 8 + xbytes * int.from_bytes(data[i + 6 : i + 8], "little")
        elif cmd in ONE_ARG or cmd == b"\x1dV":
            i += 3
        elif cmd == b"\x1b@":
            i += 2
        elif data[i] == 0x0A:
            lines.append(line.decode(page))
            line = bytearray()
            i += 1
        else:
            line.append(data[i])
            i += 1
    return lines


@pytest.mark.parametrize(
    ("language", "bring", "hint"),
    [
        ("nl", "Breng mee: Uw identiteitskaart · Een recente pasfoto",
         "Wist u dat? U kunt dit ook online aanvragen."),
        ("fr", "À apporter : Votre carte d'identité · Une photo d'identité récente",
         "Le saviez-vous ? Vous pouvez aussi faire cette demande en ligne."),
        ("en", "Bring: Your ID card · A recent passport photo",
         "Did you know? You can also request this online."),
        ("de", "Bitte mitbringen: Ihr Personalausweis · Ein aktuelles Passfoto",
         "Schon gewusst? Sie können dies auch online beantragen."),
    ],
)  # fmt: skip
def test_the_ticket_says_what_to_bring_and_where_to_do_it_online(language, bring, hint):
    ticket = served("A012", language)
    assert (ticket.bring, ticket.online_hint) == (bring, hint)
    assert ticket.online_url == "https://www.example.be/eid"

    lines = printed_text(ticket_bytes(ticket))
    text = " ".join(lines)
    assert " ".join(bring.split()) in text and " ".join(hint.split()) in text
    assert "https://www.example.be/eid" in lines  # on a line of its own
    assert lines.index(ticket.wait_line) < lines.index("https://www.example.be/eid")


def test_a_service_with_nothing_to_bring_and_no_online_address_prints_neither():
    ticket = served("C012", "en")
    assert (ticket.bring, ticket.online_hint, ticket.online_url) == ("", "", "")
    text = " ".join(printed_text(ticket_bytes(ticket)))
    assert "Bring" not in text and "online" not in text and "http" not in text


def test_a_long_list_to_bring_shows_its_first_three_things():
    from loket.printing import service_notes

    config = default_config_text().replace(
        'bring = { nl = ["Uw identiteitskaart", "Een recente pasfoto"], fr = ["Votre carte '
        'd\'identité", "Une photo d\'identité récente"], en = ["Your ID card", "A recent '
        'passport photo"], de = ["Ihr Personalausweis", "Ein aktuelles Passfoto"] }',
        'bring = ["ID", "Foto", "Oude kaart", "PIN-brief", "Attest"]',
    )
    notes = service_notes(load_config(config).services["A"], "nl")
    assert notes["bring"] == "Breng mee: ID · Foto · Oude kaart · …"


def test_with_a_public_url_the_paper_carries_the_phone_pages_qr_and_the_kiosks_code():
    ticket = served("A012", "nl", VISITOR_URL)
    assert ticket.phone_hint == "Volg uw beurt op uw gsm"

    data = ticket_bytes(ticket)
    phone, kiosk = parse(data)["images"]
    assert decode(phone) == [VISITOR_URL]
    assert decode(kiosk) == [ticket.qr_text]  # still scanned back at the kiosk: "I'm here"
    # the caption stands right above the phone's code, not above the kiosk's
    caption = data.index(b"Volg uw beurt op uw gsm\n")
    assert data.index(b"\x1dv0", caption) == caption + len(b"Volg uw beurt op uw gsm\n")


def test_without_a_public_url_the_paper_has_only_the_kiosks_code():
    ticket = served("A012", "nl")
    assert ticket.phone_hint == ""
    (image,) = parse(ticket_bytes(ticket))["images"]
    assert decode(image) == [ticket.qr_text]
    assert "Volg uw beurt op uw gsm" not in printed_text(ticket_bytes(ticket))


@pytest.mark.parametrize("language", ["nl", "fr", "en", "de"])
@pytest.mark.parametrize(("profile", "columns", "dots"), [("default", 42, 576), (NARROW, 32, 384)])
def test_the_whole_ticket_fits_58_and_80_mm_paper(language, profile, columns, dots):
    long_url = "https://www.example-stad.be/e-loket/aanvragen/identiteitskaart-en-paspoort"
    ticket = served("A107", language, VISITOR_URL)
    from dataclasses import replace

    ticket = replace(ticket, online_url=long_url)
    data = ticket_bytes(ticket, profile)

    printed = parse(data)
    assert max(len(line) for line in printed["lines"]) <= columns
    for image, text in zip(printed["images"], [VISITOR_URL, ticket.qr_text], strict=True):
        assert ImageOps.invert(image).getbbox()[2] <= dots  # no dark dot beyond the paper
        assert decode(image) == [text]
    lines = printed_text(data)
    # the address wraps only where the line is full, never at a dash: joined, it is whole
    start = next(i for i, line in enumerate(lines) if line.startswith("https://www.example"))
    cut = [long_url[i : i + columns] for i in range(0, len(long_url), columns)]
    assert lines[start : start + len(cut)] == cut


def test_the_58_mm_preview_is_384_dots_wide_and_both_codes_decode(tmp_path):
    ticket = served("A012", "fr", VISITOR_URL)
    open_printer(f"file:{tmp_path}", profile=NARROW).print_ticket(ticket)

    _, (png,) = printed_files(tmp_path)
    with Image.open(png) as preview:
        assert preview.width == 384
        assert sorted(decode(preview)) == sorted([VISITOR_URL, ticket.qr_text])
