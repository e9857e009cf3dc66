"""A kiosk issuing tickets while `loket appointments import` writes a large CSV export.

Run: .venv/bin/python benchmarks/import_figures.py [ROWS]   (default 250,000)

The import runs in a process of its own, as a clerk would start it; this process plays the
kiosk and issues a ticket every 50 ms until the import ends, timing each one. Then the same
file is parsed and imported in this process to show where the import's time goes.
Goal: no kiosk ticket refused, and every one issued within a second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loket.engine import Engine
from loket.imports import read_appointments


def export(path: Path, rows: int) -> Path:
    """A CSV export of `rows` appointments over the coming weeks, 5,000 a day."""
    lines = ["uid;date;time;service;name"]
    for i in range(rows):
        day = 7 + i // 5000 % 20
        lines.append(f"bulk-{i};2026-12-{day:02d};{8 + i % 9:02d}:{i % 60:02d};A;Naam {i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def kiosk_waits(db: Path, csv_file: Path) -> tuple[list[float], int, float]:
    """Milliseconds per ticket issued during the import, refusals, and the import's seconds."""
    waits, refused = [], 0
    with Engine(db) as kiosk:
        began = time.perf_counter()
        importer = subprocess.Popen(
            [sys.executable, "-m", "loket", "--db", str(db), "appointments", "import",
             str(csv_file)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        while importer.poll() is None:
            start = time.perf_counter()
            try:
                kiosk.issue_ticket("A")
            except Exception as error:  # a refusal is the figure this script exists to count
                refused += 1
                print(f"refused: {error}", file=sys.stderr)
            waits.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05)
        seconds = time.perf_counter() - began
    if importer.returncode:
        raise SystemExit(f"the import failed with exit code {importer.returncode}")
    return waits, refused, seconds


def where_the_time_goes(db: Path, csv_file: Path) -> tuple[float, float]:
    """Seconds to parse the file, and to write it (a re-import: every row updates)."""
    with Engine(db) as engine:
        began = time.perf_counter()
        plan = read_appointments(csv_file, engine.office)
        parsed = time.perf_counter()
        engine.import_appointments(plan.rows)
        return parsed - began, time.perf_counter() - parsed


def measure(rows: int) -> dict:
    """The kiosk's waits during an import of `rows` rows, and where the import's time goes."""
    with tempfile.TemporaryDirectory(prefix="loket-import-bench-") as folder:
        db = Path(folder) / "loket.db"
        Engine(db).close()
        csv_file = export(Path(folder) / "bulk.csv", rows)
        waits, refused, seconds = kiosk_waits(db, csv_file)
        parse, write = where_the_time_goes(db, csv_file)
    return {
        "rows": rows,
        "waits": waits,
        "refused": refused,
        "seconds": seconds,
        "parse": parse,
        "write": write,
    }


def main() -> None:
    figures = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 250_000)
    waits = sorted(figures["waits"])
    p95 = waits[max(round(0.95 * len(waits)) - 1, 0)]
    print(f"import of {figures['rows']:,} rows: {figures['seconds']:.1f} s in its own process")
    print(f"kiosk during it: {len(waits)} tickets, {figures['refused']} refused, wait p50 "
          f"{statistics.median(waits):.0f} ms, p95 {p95:.0f} ms, max {waits[-1]:.0f} ms")  # fmt: skip
    print(
        f"where the import's time goes: parse and check {figures['parse']:.1f} s, "
        f"write {figures['write']:.1f} s"
    )
    verdict = "PASS" if figures["refused"] == 0 and waits[-1] < 1000 else "MISS"
    print(f"goal: no ticket refused, every wait < 1 s: {verdict}")


if __name__ == "__main__":
    main()
