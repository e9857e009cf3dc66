"""`python -m loket` runs the command line."""

from loket.cli import main

raise SystemExit(main())
