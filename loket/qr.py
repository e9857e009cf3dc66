"""QR codes drawn as text (terminal, kiosk screen) or as PNG, from one matrix."""

from __future__ import annotations

QUIET_ZONE = 2
MASK = 2


def matrix(text: str) -> list[list[bool]]:
    """The QR modules of `text` (True = dark), with a quiet zone around them."""
    import qrcode

    # A fixed mask: choosing the "best" of eight costs ~10 ms per code, and any mask scans.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE, mask_pattern=MASK
    )
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()


def as_text(text: str) -> str:
    """The QR code in half-block characters, two module rows per line.

    Dark modules are drawn as blocks: show it dark-on-light (e.g. Rich style
    "black on white") so that phone cameras and scanners read it.
    """
    rows = matrix(text)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    glyphs = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
    return "\n".join(
        "".join(glyphs[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    )


def write_png(text: str, path: str, scale: int = 8) -> None:
    """Write the QR code of `text` as a black-on-white PNG; LoketError if it cannot be written."""
    from PIL import Image

    from loket.errors import LoketError

    rows = matrix(text)
    size = len(rows)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in rows for dark in row])
    try:
        image.resize((size * scale, size * scale), Image.NEAREST).save(path, format="PNG")
    except OSError as error:
        raise LoketError(f"cannot write {path}: {error.strerror or error}") from None
