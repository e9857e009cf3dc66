from itertools import combinations

import pytest

from loket.glyphs import GLYPH_HEIGHT, GLYPHS, halved, render, scaled, width

SUPPORTED = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ->:.,'/()+"


def test_every_character_renders_as_a_block_of_equal_lines():
    assert set(GLYPHS) == set(SUPPORTED)
    for char in SUPPORTED:
        lines = render(char)
        assert len(lines) == GLYPH_HEIGHT
        assert len({len(line) for line in lines}) == 1, char
        assert set("".join(lines)) <= {"█", " "}, char
        assert width(char) == len(lines[0])


def test_glyphs_are_separated_by_one_blank_column():
    lines = render("A0-:")
    assert width("A0-:") == 5 + 1 + 5 + 1 + 3 + 1 + 1 == len(lines[0])
    assert all(line[5] == " " for line in lines)
    assert render("") == [""] * GLYPH_HEIGHT


def test_all_glyphs_are_pairwise_distinct():
    for a, b in combinations(SUPPORTED, 2):
        assert render(a) != render(b), (a, b)


@pytest.mark.parametrize("a, b", [("0", "O"), ("1", "I"), ("5", "S"), ("8", "B"), ("2", "Z")])
def test_look_alikes_differ_in_several_cells(a, b):
    differing = sum(x != y for x, y in zip("".join(render(a)), "".join(render(b)), strict=True))
    assert differing >= 3, (a, b, differing)


def test_w_is_not_an_upside_down_m():
    assert render("W") != render("M")[::-1]


def test_a012_exact():
    assert render("a012") == [
        " ███   ███    █    ███ ",
        "█   █ █  ██  ██   █   █",
        "█████ █ █ █   █     ██ ",
        "█   █ ██  █   █    █   ",
        "█   █  ███   ███  █████",
    ]


def test_unknown_character_is_named():
    with pytest.raises(ValueError, match="'é'"):
        render("Aé")
    with pytest.raises(ValueError, match="'#'"):
        width("#")


def test_a_scaled_glyph_draws_every_cell_as_a_square_of_cells():
    assert scaled("1", 2) == [
        "    ██    ",
        "    ██    ",
        "  ████    ",
        "  ████    ",
        "    ██    ",
        "    ██    ",
        "    ██    ",
        "    ██    ",
        "  ██████  ",
        "  ██████  ",
    ]
    assert scaled("A012", 1) == render("A012")
    big = scaled("LOKET 1", 4)
    assert len(big) == 4 * GLYPH_HEIGHT
    assert {len(line) for line in big} == {4 * width("LOKET 1")}


def test_a_halved_glyph_pairs_rows_in_half_blocks():
    assert halved("A") == [
        "▄▀▀▀▄",
        "█▀▀▀█",
        "▀   ▀",
    ]
    assert [len(line) for line in halved("A012 > 3")] == [width("A012 > 3")] * 3


def test_counter_names_with_punctuation_have_glyphs():
    assert render("1/2") == [
        "  █       █  ███ ",
        " ██      █  █   █",
        "  █     █     ██ ",
        "  █    █     █   ",
        " ███  █     █████",
    ]
    assert render("(A)")[0] == " █  ███  █ "
