"""A day's appointment references and QR codes for the booking system's confirmation mails.

One CSV row per booked appointment (uid, reference, service, starts_at in office time,
qr_payload, image) and, if asked, one QR image per appointment in a folder. Nothing is
overwritten: the CSV and every image must be new files, and if writing stops half-way
the files written so far are removed again, so that the same command can simply be re-run.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from typing import IO, TextIO

from loket import qr
from loket.errors import LoketError
from loket.model import Appointment

CSV_COLUMNS = ("uid", "reference", "service", "starts_at", "qr_payload", "image")
FORMATS = ("png", "svg")
# A uid is a file name only if it cannot climb out of the folder or upset a file system.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,149}")
# Mail clients may show images on a dark background: 4 light modules around the code, as the
# QR standard asks, instead of the 2 that suffice on a kiosk screen.
MARGIN = 4
PIXELS_PER_MODULE = 8


def image_names(appointments: list[Appointment], image_format: str) -> dict[str, str]:
    """Reference -> image file name: the uid where it is a safe, unique name, else the reference."""
    references = {a.display_reference.casefold() for a in appointments}
    uids = Counter((a.booking_uid or "").casefold() for a in appointments)
    names = {}
    for appointment in appointments:
        uid = appointment.booking_uid or ""
        # Compared without case: on Windows and macOS "BK-1" and "bk-1" are one file.
        usable = (
            SAFE_NAME.fullmatch(uid)
            and not uid.endswith(".")
            and uids[uid.casefold()] == 1
            and uid.casefold() not in references
        )
        name = uid if usable else appointment.display_reference
        names[appointment.display_reference] = f"{name}.{image_format}"
    return names


def check_new_csv(path: str) -> None:
    """Refuse a CSV target that exists already or whose folder does not."""
    if not path.strip():
        raise LoketError("--csv: the file name is empty")
    if os.path.lexists(path):
        raise LoketError(f"{path} already exists: choose a new file for the export")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise LoketError(f"cannot write {path}: folder {folder} does not exist")


def check_folder(folder: str, names: Iterable[str]) -> None:
    """Refuse an images folder that is a file, cannot be created, or already holds one of `names`."""
    if not folder.strip():
        raise LoketError("--images: the folder name is empty")
    if os.path.isdir(folder):
        taken = sorted(name for name in names if os.path.lexists(os.path.join(folder, name)))
        if taken:
            raise LoketError(
                f"{folder} already holds {taken[0]}"
                + (f" and {len(taken) - 1} more of these images" if len(taken) > 1 else "")
                + ": choose a new or empty folder"
            )
        return
    if os.path.lexists(folder):
        raise LoketError(f"{folder} is not a folder")
    parent = os.path.dirname(os.path.normpath(folder)) or "."
    if not os.path.isdir(parent):
        raise LoketError(f"cannot create the folder {folder}: {parent} does not exist")


def export(
    appointments: list[Appointment],
    local: Callable[[datetime], datetime],
    csv_path: str | None,
    folder: str | None,
    image_format: str = "png",
) -> dict[str, str]:
    """Write the CSV and the images (each optional); returns reference -> image file name."""
    booked = [a for a in appointments if a.status == "booked"]
    names = image_names(booked, image_format) if folder is not None else {}
    if csv_path is not None:
        check_new_csv(csv_path)
    if folder is not None:
        check_folder(folder, names.values())
    written: list[str] = []
    made_folder = None
    try:
        if folder is not None:
            if not os.path.isdir(folder):
                os.mkdir(folder)
                made_folder = folder
            _write_images(booked, names, folder, image_format, written)
        if csv_path is not None:
            # "x": a file that appeared since the check is still never overwritten.
            with open(csv_path, "x", newline="", encoding="utf-8") as file:
                written.append(csv_path)
                _write_csv(file, booked, names, local)
    except OSError as error:
        _remove(written, made_folder)
        target = error.filename or csv_path or folder
        raise LoketError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:
        _remove(written, made_folder)
        raise
    return names


def _write_csv(
    file: TextIO,
    appointments: list[Appointment],
    names: dict[str, str],
    local: Callable[[datetime], datetime],
) -> None:
    writer = csv.writer(file)
    writer.writerow(CSV_COLUMNS)
    for a in appointments:
        writer.writerow(
            [
                a.booking_uid or "",
                a.display_reference,
                a.service,
                f"{local(a.starts_at):%Y-%m-%d %H:%M}",
                a.qr_payload,
                names.get(a.display_reference, ""),
            ]
        )


def _write_images(
    appointments: list[Appointment],
    names: dict[str, str],
    folder: str,
    image_format: str,
    written: list[str],
) -> None:
    """One new image per appointment; each file is added to `written` as soon as it exists."""
    text = image_format == "svg"
    for appointment in appointments:
        path = os.path.join(folder, names[appointment.display_reference])
        # Exclusive creation: never through a symbolic link, nor over a file that
        # appeared since the check.
        with open(path, "x" if text else "xb", encoding="utf-8" if text else None) as file:
            written.append(path)
            _draw(appointment.qr_payload, file, image_format)


def _draw(payload: str, file: IO, image_format: str) -> None:
    rows = _with_margin(qr.matrix(payload))
    if image_format == "svg":
        file.write(svg(rows))
        return
    from PIL import Image

    size = len(rows)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in rows for dark in row])
    scaled = size * PIXELS_PER_MODULE
    image.resize((scaled, scaled), Image.NEAREST).save(file, format="PNG")


def _with_margin(rows: list[list[bool]]) -> list[list[bool]]:
    extra = MARGIN - qr.QUIET_ZONE
    width = len(rows[0]) + 2 * extra
    blank = [[False] * width for _ in range(extra)]
    return blank + [[False] * extra + row + [False] * extra for row in rows] + blank


def svg(rows: list[list[bool]]) -> str:
    """A QR matrix as an SVG image: a white square and one black path of horizontal runs."""
    size = len(rows)
    runs = []
    for y, row in enumerate(rows):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    pixels = size * PIXELS_PER_MODULE
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{pixels}" height="{pixels}" '
        f'viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>\n'
    )


def _remove(paths: list[str], folder: str | None) -> None:
    for path in paths:
        with suppress(OSError):
            os.remove(path)
    if folder is not None:
        with suppress(OSError):
            os.rmdir(folder)
