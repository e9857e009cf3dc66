"""Visitor texts in Dutch, French, English and German."""

from __future__ import annotations

from datetime import date
from string import Formatter
from types import ModuleType

from loket.texts import de, en, fr, nl

LANGUAGES = ("nl", "fr", "en", "de")
_CATALOGUES: dict[str, ModuleType] = {"nl": nl, "fr": fr, "en": en, "de": de}


def _catalogue(language: str) -> ModuleType:
    try:
        return _CATALOGUES[language]
    except KeyError:
        raise KeyError(f"unknown language {language!r}; expected one of {LANGUAGES}") from None


def text(language: str, key: str, **fields: object) -> str:
    """The text `key` in `language`, with `fields` filled in."""
    texts = _catalogue(language).TEXTS
    if key not in texts:
        raise KeyError(f"no text {key!r} in language {language!r}")
    return texts[key].format(**fields)


def day_text(language: str, day: date) -> str:
    """A date as a visitor reads it, e.g. "maandag 7 december"."""
    catalogue = _catalogue(language)
    number = str(day.day)
    if day.day == 1:
        number = getattr(catalogue, "FIRST_OF_MONTH", number)
    return catalogue.DAY_FORMAT.format(
        weekday=catalogue.WEEKDAYS[day.weekday()],
        day=number,
        month=catalogue.MONTHS[day.month - 1],
    )


def fields(template: str) -> set[str]:
    """The placeholder names in a text, e.g. {"time"} for "at {time}"."""
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


def missing() -> list[str]:
    """Every "lang:key" that is absent, or whose placeholders differ from the English text.

    "lang:number_words" means that language cannot say a number aloud.
    """
    keys = set().union(*(_catalogue(lang).TEXTS for lang in LANGUAGES))
    english = en.TEXTS
    problems = []
    for lang in LANGUAGES:
        if not callable(getattr(_catalogue(lang), "number_words", None)):
            problems.append(f"{lang}:number_words")  # the display's voice needs it
        texts = _catalogue(lang).TEXTS
        for key in sorted(keys):
            absent = key not in texts
            if absent or key in english and fields(texts[key]) != fields(english[key]):
                problems.append(f"{lang}:{key}")
    return problems


def number_words(language: str, number: int) -> str:
    """A number as said aloud in `language`, e.g. 12 -> "twaalf"."""
    return _catalogue(language).number_words(number)
