"""`python -m display [--db PATH] [--voice nl] ...` runs the display, as `loket display` does."""

import sys

from loket.cli import main

raise SystemExit(main(["display", *sys.argv[1:]]))
