"""The booking system's mail merge gets each appointment's reference and QR code from Loket."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loket.cli import main

DATA = Path(__file__).parent.parent / "data"
# 2026-12-07 08:30 in Brussels: the day of the demo export's first appointments.
MONDAY_MORNING = "2026-12-07T07:30:00+00:00"


@pytest.fixture
def loket(db_path, capsys, monkeypatch):
    """Run `loket --db <demo office> ARGS...` on 2026-12-07 08:30; returns (code, out, err)."""
    monkeypatch.setenv("LOKET_FROZEN_CLOCK", MONDAY_MORNING)
    assert main(["--db", str(db_path), "init"]) == 0
    capsys.readouterr()

    def run(*args: str):
        try:
            code = main(["--db", str(db_path), *args])
        except SystemExit as usage:
            code = usage.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def booked_day(loket, tmp_path):
    """The demo booking system's export and a cancellation imported, one booking made at the desk."""
    assert loket("appointments", "import", str(DATA / "appointments-sample.ics"))[0] == 0
    cancellation = tmp_path / "cancelled.csv"
    cancellation.write_text("uid;date;time;service;status\nweb-9;2026-12-07;12:00;A;cancelled\n")
    assert loket("appointments", "import", str(cancellation))[0] == 0
    cancellation.unlink()
    code, out, err = loket("appointments", "add", "C", "--at", "11:15", "--json")
    assert code == 0, err
    return json.loads(out)


def listed(loket, day: str = "2026-12-07") -> dict[str, dict]:
    code, out, err = loket("appointments", "list", "--date", day, "--json")
    assert code == 0, err
    return {a["reference"]: a for a in json.loads(out)["appointments"]}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def decoded(image) -> str:
    import zxingcpp
    from PIL import Image

    (found,) = zxingcpp.read_barcodes(Image.open(image))
    return found.text


def test_the_csv_holds_uid_reference_service_local_time_and_payload_of_each_booking(
    loket, booked_day, tmp_path
):
    target = tmp_path / "mails.csv"
    code, out, err = loket("appointments", "export", "--date", "2026-12-07", "--csv", str(target))
    assert (code, err) == (0, "")
    assert (
        out
        == f"Exported 3 appointments of 2026-12-07: {target} (1 cancelled appointment left out)\n"
    )
    exported = rows(target)
    assert list(exported[0]) == ["uid", "reference", "service", "starts_at", "qr_payload", "image"]
    assert [(r["uid"], r["service"], r["starts_at"]) for r in exported] == [
        ("bk-2026-0001@afspraken.stad-demo.be", "A", "2026-12-07 09:00"),
        ("bk-2026-0002@afspraken.stad-demo.be", "B", "2026-12-07 10:20"),
        ("", "C", "2026-12-07 11:15"),  # booked at the desk: no booking system uid
    ]
    known = listed(loket)
    for row in exported:
        assert row["qr_payload"] == known[row["reference"]]["qr_payload"]
        assert row["image"] == ""
    assert exported[2]["reference"] == booked_day["reference"]


def test_the_exported_payload_is_what_the_kiosk_scanner_checks_in(loket, booked_day, tmp_path):
    target = tmp_path / "mails.csv"
    assert loket("appointments", "export", "--csv", str(target))[0] == 0
    first = rows(target)[0]  # 09:00, and check-in opens 30 minutes before
    code, out, err = loket("checkin", first["qr_payload"], "--json")
    assert (code, err) == (0, "")
    assert (json.loads(out)["outcome"], json.loads(out)["number"]) == ("accepted", "R001")


def test_a_png_per_appointment_named_by_uid_or_reference_decodes_to_its_payload(
    loket, booked_day, tmp_path
):
    folder = tmp_path / "qr"  # does not exist yet: its parent does
    target = tmp_path / "mails.csv"
    code, out, err = loket(
        "appointments", "export", "--csv", str(target), "--images", str(folder), "--json"
    )
    assert (code, err) == (0, "")
    exported = rows(target)
    assert sorted(os.listdir(folder)) == sorted(row["image"] for row in exported)
    assert [row["image"] for row in exported] == [
        "bk-2026-0001@afspraken.stad-demo.be.png",
        "bk-2026-0002@afspraken.stad-demo.be.png",
        f"{booked_day['reference']}.png",
    ]
    for row in exported:
        assert decoded(folder / row["image"]) == row["qr_payload"]
    assert_white_margin_of_four_modules(folder / exported[0]["image"])
    images = json.loads(out)["images"]
    assert images[booked_day["reference"]] == str(folder / f"{booked_day['reference']}.png")


def assert_white_margin_of_four_modules(png: Path) -> None:
    """The QR standard's quiet zone: a mail client may show the image on a dark background."""
    from PIL import Image

    image = Image.open(png).convert("L")
    margin = 4 * 8  # modules of 8 pixels
    width, height = image.size
    for box in [(0, 0, width, margin), (0, 0, margin, height),
                (width - margin, 0, width, height), (0, height - margin, width, height)]:  # fmt: skip
        assert image.crop(box).getextrema() == (255, 255)
    assert image.crop((margin, margin, margin + 8, margin + 8)).getextrema() == (0, 0)  # a corner


def test_svg_images_decode_once_a_browser_draws_them(loket, booked_day, tmp_path):
    browser = shutil.which("chromium")
    assert browser, "install Debian's chromium: bash .ci/system-packages"
    folder = tmp_path / "qr"
    code, out, err = loket("appointments", "export", "--images", str(folder), "--format", "svg")
    assert (code, err) == (0, "")
    assert (
        out
        == f"Exported 3 appointments of 2026-12-07: 3 SVG images in {folder} (1 cancelled appointment left out)\n"
    )
    svg = folder / f"{booked_day['reference']}.svg"
    screenshot = tmp_path / "drawn.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={screenshot}", "--window-size=400,400", svg.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert decoded(screenshot) == booked_day["qr_payload"]


def test_one_appointment_is_counted_in_the_singular(loket, tmp_path):
    loket("appointments", "add", "A", "--at", "10:00")
    code, out, _ = loket("appointments", "export", "--images", str(tmp_path / "qr"))
    assert (code, out) == (
        0,
        f"Exported 1 appointment of 2026-12-07: 1 PNG image in {tmp_path / 'qr'}\n",
    )


def test_a_day_without_appointments_gives_a_csv_with_only_its_header(loket, tmp_path):
    target = tmp_path / "none.csv"
    code, out, _ = loket("appointments", "export", "--date", "2026-12-25", "--csv", str(target))
    assert (code, out) == (0, f"Exported 0 appointments of 2026-12-25: {target}\n")
    assert target.read_text() == "uid,reference,service,starts_at,qr_payload,image\n"


def test_an_existing_csv_is_refused_and_left_as_it_was(loket, booked_day, tmp_path):
    target = tmp_path / "mails.csv"
    target.write_text("the clerk's own notes\n")
    folder = tmp_path / "qr"
    code, out, err = loket("appointments", "export", "--csv", str(target), "--images", str(folder))
    assert (code, out, err) == (
        1,
        "",
        f"loket: {target} already exists: choose a new file for the export\n",
    )
    assert target.read_text() == "the clerk's own notes\n"
    assert not folder.exists()  # refused before anything was written


def test_an_image_already_in_the_folder_is_refused_and_nothing_is_written(
    loket, booked_day, tmp_path
):
    folder = tmp_path / "qr"
    folder.mkdir()
    (folder / f"{booked_day['reference']}.png").write_bytes(b"an older code")
    code, out, err = loket("appointments", "export", "--images", str(folder))
    assert (code, out) == (1, "")
    assert err == (
        f"loket: {folder} already holds {booked_day['reference']}.png: "
        "choose a new or empty folder\n"
    )
    assert os.listdir(folder) == [f"{booked_day['reference']}.png"]
    assert (folder / f"{booked_day['reference']}.png").read_bytes() == b"an older code"


def test_a_folder_is_created_only_when_its_parent_exists(loket, booked_day, tmp_path):
    folder = tmp_path / "mails" / "qr"
    code, out, err = loket("appointments", "export", "--images", str(folder))
    assert (code, out) == (1, "")
    assert err == f"loket: cannot create the folder {folder}: {tmp_path / 'mails'} does not exist\n"
    assert not (tmp_path / "mails").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "export: give --csv FILE, --images FOLDER or both"),
        (("--csv", ""), "--csv: the file name is empty"),
        (("--images", " "), "--images: the folder name is empty"),
        (("--csv", "{tmp}/missing/x.csv"), "cannot write {tmp}/missing/x.csv: folder {tmp}/missing does not exist"),
        (("--images", "{tmp}/loket.db"), "{tmp}/loket.db is not a folder"),
    ],
)  # fmt: skip
def test_bad_targets_are_one_sentence_and_write_nothing(loket, booked_day, tmp_path, args, message):
    before = sorted(os.listdir(tmp_path))
    args = [arg.format(tmp=tmp_path) for arg in args]
    code, out, err = loket("appointments", "export", *args)
    assert (code, out, err) == (1, "", f"loket: {message.format(tmp=tmp_path)}\n")
    assert sorted(os.listdir(tmp_path)) == before


def test_a_uid_that_is_no_safe_file_name_never_leaves_the_folder(loket, tmp_path):
    bookings = tmp_path / "bookings.csv"
    bookings.write_text(
        "uid;date;time;service\n../../escape;2026-12-07;09:00;A\nBK-7;2026-12-07;09:10;A\n"
        "bk-7;2026-12-07;09:20;A\n/etc/x;2026-12-07;09:30;A\nweb-8;2026-12-07;09:40;A\n"
        ";2026-12-07;09:50;A\n",
        encoding="utf-8",
    )
    assert loket("appointments", "import", str(bookings))[0] == 0
    inside = tmp_path / "out"
    inside.mkdir()
    folder = inside / "qr"
    target = inside / "mails.csv"
    assert loket("appointments", "export", "--images", str(folder), "--csv", str(target))[0] == 0
    exported = rows(target)
    by_uid = {row["uid"]: row["image"] for row in exported}
    references = {row["uid"]: row["reference"] for row in exported}
    assert by_uid == {
        "../../escape": f"{references['../../escape']}.png",
        "BK-7": f"{references['BK-7']}.png",  # one file with bk-7 where case is ignored
        "bk-7": f"{references['bk-7']}.png",
        "/etc/x": f"{references['/etc/x']}.png",
        "web-8": "web-8.png",
        "": f"{references['']}.png",  # a row without uid: Loket's own key is not exported
    }
    assert sorted(os.listdir(inside)) == ["mails.csv", "qr"]
    assert sorted(os.listdir(folder)) == sorted(by_uid.values())
    assert set(os.listdir(tmp_path)) - {"loket.db-shm", "loket.db-wal"} == {
        "bookings.csv",
        "loket.db",
        "out",
    }


def test_a_write_failing_half_way_removes_what_it_wrote(loket, booked_day, tmp_path, monkeypatch):
    from PIL import Image

    saves = []
    save = Image.Image.save

    def disk_full_at_the_third(image, file, *args, **kwargs):
        saves.append(file)
        if len(saves) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", file.name)
        return save(image, file, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", disk_full_at_the_third)
    folder = tmp_path / "qr"
    code, out, err = loket(
        "appointments", "export", "--images", str(folder), "--csv", str(tmp_path / "m.csv")
    )
    third = folder / f"{booked_day['reference']}.png"
    assert (code, out, err) == (1, "", f"loket: cannot write {third}: No space left on device\n")
    assert not folder.exists() and not (tmp_path / "m.csv").exists()
    monkeypatch.setattr(Image.Image, "save", save)
    assert loket("appointments", "export", "--images", str(folder))[0] == 0  # simply run again


def test_the_export_command_in_its_own_process(tmp_path):
    env = {**os.environ, "LOKET_FROZEN_CLOCK": MONDAY_MORNING}
    db = tmp_path / "office.db"

    def loket(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "loket", "--db", str(db), *args],
            capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path,
        )  # fmt: skip

    assert loket("init").returncode == 0
    assert loket("appointments", "import", str(DATA / "appointments-sample.csv")).returncode == 0
    done = loket(
        "appointments", "export", "--date", "2026-12-14", "--csv", "m.csv", "--images", "qr"
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "Exported 3 appointments of 2026-12-14: m.csv, 3 PNG images in qr\n"
    exported = rows(tmp_path / "m.csv")
    assert [row["image"] for row in exported] == ["web-5001.png", "web-5002.png", "web-5003.png"]
    assert all(decoded(tmp_path / "qr" / row["image"]) == row["qr_payload"] for row in exported)
