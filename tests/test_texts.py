from datetime import date

import pytest

from loket import texts
from loket.texts import LANGUAGES, day_text, fields, missing, text

LONGEST_DAY = date(2026, 9, 30)  # woensdag/mercredi/Mittwoch + september
SAMPLE = {
    "minutes": "120",
    "position": "999",
    "time": "10:30",
    "series": "XY",
    "number": "negenhonderdnegenennegentig",
    "counter": "twaalf",
    "ticket": "XY9999",
    "count": "999",
    "button": "9",
    "items": "Identiteitskaart, pasfoto, oude kaart",
}


def sample_fields(language: str) -> dict[str, str]:
    day = day_text(language, LONGEST_DAY)
    when = text(language, "on_day_at", day=day, time="10:30")
    return {**SAMPLE, "day": day, "when": when}


def catalogue(language):
    return getattr(texts, language).TEXTS


def test_every_language_has_every_text_with_the_same_placeholders():
    assert missing() == []


def test_missing_reports_a_removed_text(monkeypatch):
    monkeypatch.delitem(texts.nl.TEXTS, "welcome")
    assert missing() == ["nl:welcome"]


def test_missing_reports_a_text_only_one_language_has(monkeypatch):
    monkeypatch.setitem(texts.de.TEXTS, "extra", "Extra")
    assert missing() == ["nl:extra", "fr:extra", "en:extra"]


def test_missing_reports_a_wrong_placeholder(monkeypatch):
    monkeypatch.setitem(texts.fr.TEXTS, "position", "Place : {place}")
    assert missing() == ["fr:position"]


def test_a_plural_text_takes_the_form_its_language_uses_for_the_count(monkeypatch):
    forms = {"one": "{count} ticket", "other": "{count} tickets"}
    monkeypatch.setitem(texts.fr.TEXTS, "tickets", forms)
    monkeypatch.setitem(texts.nl.TEXTS, "tickets", forms)
    said = [(lang, n, text(lang, "tickets", count=n)) for lang in ("fr", "nl") for n in (0, 1, 2)]
    assert said == [
        ("fr", 0, "0 ticket"),
        ("fr", 1, "1 ticket"),
        ("fr", 2, "2 tickets"),
        ("nl", 0, "0 tickets"),
        ("nl", 1, "1 ticket"),
        ("nl", 2, "2 tickets"),
    ]


def test_missing_reports_a_plural_text_without_its_other_form(monkeypatch):
    for lang in LANGUAGES:
        forms = {"one": "{count} ticket", "other": "{count} tickets"}
        monkeypatch.setitem(getattr(texts, lang).TEXTS, "tickets", forms)
    monkeypatch.setitem(texts.de.TEXTS, "tickets", {"one": "{count} Ticket"})
    monkeypatch.setitem(texts.nl.TEXTS, "tickets", "{count} tickets")
    assert missing() == ["nl:tickets", "de:tickets"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_formats_and_fits_on_a_kiosk(language):
    sample = sample_fields(language)
    for key, template in catalogue(language).items():
        assert fields(template) <= set(sample), (language, key)
        shown = text(language, key, **sample)
        assert shown.strip(), (language, key)
        assert len(shown) <= 90, (language, key, shown)


def test_language_names():
    names = [text(language, "language_name") for language in LANGUAGES]
    assert names == ["Nederlands", "Français", "English", "Deutsch"]


@pytest.mark.parametrize(
    "language, expected",
    [
        ("nl", "maandag 7 december"),
        ("fr", "lundi 7 décembre"),
        ("en", "Monday 7 December"),
        ("de", "Montag, 7. Dezember"),
    ],
)
def test_day_text(language, expected):
    assert day_text(language, date(2026, 12, 7)) == expected


def test_french_writes_the_first_as_an_ordinal():
    assert day_text("fr", date(2026, 6, 1)) == "lundi 1er juin"
    assert day_text("nl", date(2026, 6, 1)) == "maandag 1 juni"


@pytest.mark.parametrize("language", LANGUAGES)
def test_calendar_names(language):
    module = getattr(texts, language)
    assert len(module.WEEKDAYS) == 7 and len(module.MONTHS) == 12
    assert len(set(module.WEEKDAYS + module.MONTHS)) == 19


def test_text_fills_fields():
    assert text("nl", "position", position=4) == "Plaats in de rij: 4"
    assert text("de", "on_day_at", day="Montag, 7. Dezember", time="9:00") == (
        "am Montag, 7. Dezember um 9:00 Uhr"
    )


def test_unknown_language_or_key():
    with pytest.raises(KeyError, match="unknown language 'es'"):
        text("es", "welcome")
    with pytest.raises(KeyError, match="unknown language"):
        day_text("xx", date(2026, 1, 1))
    with pytest.raises(KeyError, match="no text 'nope'"):
        text("en", "nope")
