"""`python -m counter COUNTER [--db PATH]` runs the counter app, as `loket counter` does."""

import sys

from loket.cli import main

raise SystemExit(main(["counter", *sys.argv[1:]]))
