"""The engine stays headless and the quick commands stay light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import loket

PROBE = """
import sys
from loket.cli import main
code = main(sys.argv[1:])
print("MODULES", " ".join(sorted(m for m in sys.modules if m.split(".")[0] in {"textual", "rich", "sqlite_utils", "icalendar", "qrcode", "platformdirs"})))
"""


def loaded_modules(*args: str) -> set[str]:
    """Which heavy top-level modules one CLI command imports."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("MODULES"))
    return {name.split(".")[0] for name in line.split()[1:]}


def test_no_module_of_the_engine_mentions_textual():
    for path in Path(loket.__file__).parent.glob("*.py"):
        source = path.read_text()
        assert "import textual" not in source and "from textual" not in source, path.name


def test_issuing_a_ticket_imports_neither_textual_rich_nor_sqlite_utils(tmp_path):
    db = str(tmp_path / "x.db")
    subprocess.run(
        [sys.executable, "-m", "loket", "--db", db, "init"], check=True, capture_output=True
    )
    assert loaded_modules("--db", db, "ticket", "A") == set()
    assert loaded_modules("--db", db, "call", "1", "--json") == set()


def test_table_commands_use_rich_but_never_textual(tmp_path):
    db = str(tmp_path / "x.db")
    subprocess.run([sys.executable, "-m", "loket", "--db", db, "init"], check=True)
    modules = loaded_modules("--db", db, "status")
    assert "rich" in modules and "textual" not in modules


def test_json_output_is_one_object(tmp_path):
    db = str(tmp_path / "x.db")
    subprocess.run([sys.executable, "-m", "loket", "--db", db, "init"], check=True)
    out = subprocess.run(
        [sys.executable, "-m", "loket", "--db", db, "services", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert list(json.loads(out)) == ["services"]


VERSION_PROBE = """
import sys
from loket.cli import main
try:
    main(["--version"])
finally:
    print("MODULES", " ".join(sorted(m for m in sys.modules if m.split(".")[0] == "textual")))
"""


def test_version_comes_from_the_package_and_needs_no_textual():
    out = subprocess.run(
        [sys.executable, "-c", VERSION_PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["loket 0.1.0", "MODULES "]
