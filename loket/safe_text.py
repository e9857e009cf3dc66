"""Text that came from outside (a config, an import, a database) made safe to print.

A name may hold terminal control sequences (ANSI escapes) or, once it reaches Rich,
markup such as `[/]` or `[link=...]`. Both must print as the characters they are.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls: a terminal acts on them instead of showing them.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """`text` with every control character shown as an escape such as \\x1b."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", str(text))


def for_rich(text: object) -> str:
    """`text` as Rich markup that prints literally: controls made visible, brackets escaped."""
    from rich.markup import escape

    return escape(printable(text))
