"""Big block glyphs for ticket numbers on a terminal."""

from __future__ import annotations

GLYPH_HEIGHT = 5

# Drawn with '#' for ink. Look-alikes are kept apart on purpose: 0 is slashed and O is
# round, 1 has a flag and I has bars, 5 and B and Z have square corners where S, 8 and 2
# are round, because references mix these letters and digits.
_SHAPES = {
    "A": (".###.", "#...#", "#####", "#...#", "#...#"),
    "B": ("####.", "#...#", "####.", "#...#", "####."),
    "C": (".####", "#....", "#....", "#....", ".####"),
    "D": ("####.", "#...#", "#...#", "#...#", "####."),
    "E": ("#####", "#....", "####.", "#....", "#####"),
    "F": ("#####", "#....", "####.", "#....", "#...."),
    "G": (".####", "#....", "#..##", "#...#", ".####"),
    "H": ("#...#", "#...#", "#####", "#...#", "#...#"),
    "I": ("#####", "..#..", "..#..", "..#..", "#####"),
    "J": ("....#", "....#", "....#", "#...#", ".###."),
    "K": ("#...#", "#..#.", "###..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#...#", "#...#"),
    "N": ("#...#", "##..#", "#.#.#", "#..##", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "####.", "#....", "#...."),
    "Q": (".###.", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "####.", "#..#.", "#...#"),
    "S": (".###.", "#....", ".###.", "....#", ".###."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", ".#.#.", "..#..", ".#.#.", "#...#"),
    "Y": ("#...#", ".#.#.", "..#..", "..#..", "..#.."),
    "Z": ("#####", "...#.", "..#..", ".#...", "#####"),
    "0": (".###.", "#..##", "#.#.#", "##..#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "..##.", ".#...", "#####"),
    "3": ("####.", "....#", ".###.", "....#", "####."),
    "4": ("...#.", "..##.", ".#.#.", "#####", "...#."),
    "5": ("#####", "#....", "####.", "....#", "####."),
    "6": (".###.", "#....", "####.", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", "..#.."),
    "8": (".###.", "#...#", ".###.", "#...#", ".###."),
    "9": (".###.", "#...#", ".####", "....#", ".###."),
    " ": ("...", "...", "...", "...", "..."),
    "-": ("...", "...", "###", "...", "..."),
    ">": ("#..", ".#.", "..#", ".#.", "#.."),
    ":": (".", "#", ".", "#", "."),
    # Punctuation that counter names use ("Loket 1/2", "Balie (ingang)").
    ".": (".", ".", ".", ".", "#"),
    ",": ("..", "..", "..", ".#", "#."),
    "'": ("#", "#", ".", ".", "."),
    "/": ("....#", "...#.", "..#..", ".#...", "#...."),
    "(": (".#", "#.", "#.", "#.", ".#"),
    ")": ("#.", ".#", ".#", ".#", "#."),
    "+": ("...", ".#.", "###", ".#.", "..."),
}
GLYPHS: dict[str, tuple[str, ...]] = {
    char: tuple(row.replace("#", "█").replace(".", " ") for row in rows)
    for char, rows in _SHAPES.items()
}


def _glyph(char: str) -> tuple[str, ...]:
    try:
        return GLYPHS[char.upper()]
    except KeyError:
        raise ValueError(f"no big glyph for {char!r}") from None


def render(text: str) -> list[str]:
    """The GLYPH_HEIGHT lines that draw `text` in big block glyphs."""
    glyphs = [_glyph(char) for char in text]
    return [" ".join(glyph[row] for glyph in glyphs) for row in range(GLYPH_HEIGHT)]


def can_render(text: str) -> bool:
    """Whether every character of `text` has a big glyph."""
    return all(char.upper() in GLYPHS for char in text)


def width(text: str) -> int:
    """How many columns render(text) takes."""
    return len(render(text)[0])


def scaled(text: str, scale: int) -> list[str]:
    """render(text) with every cell drawn `scale` columns wide and `scale` rows high."""
    return ["".join(cell * scale for cell in line) for line in render(text) for _ in range(scale)]


_HALVES = {("█", "█"): "█", ("█", " "): "▀", (" ", "█"): "▄", (" ", " "): " "}


def halved(text: str) -> list[str]:
    """render(text) in 3 rows instead of 5: two rows of cells share a row as half blocks."""
    lines = [*render(text), " " * width(text)]
    return [
        "".join(_HALVES[pair] for pair in zip(upper, lower, strict=True))
        for upper, lower in zip(lines[0::2], lines[1::2], strict=True)
    ]
