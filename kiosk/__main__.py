"""`python -m kiosk [--db PATH] [--printer SPEC]` runs the kiosk, as `loket kiosk` does."""

import sys

from loket.cli import main

raise SystemExit(main(["kiosk", *sys.argv[1:]]))
