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
    """The text `key` in `language`, with `fields` filled in.

    A text with plural forms is a dict {"one": ..., "other": ...}; its `count` field
    picks the form by the language's rule, e.g. fr "1 rendez-vous", "0 rendez-vous".
    """
    texts = _catalogue(language).TEXTS
    if key not in texts:
        raise KeyError(f"no text {key!r} in language {language!r}")
    template = texts[key]
    if isinstance(template, dict):
        template = template[plural_form(language, int(fields["count"]))]
    return template.format(**fields)


def plural_form(language: str, count: int) -> str:
    """CLDR's plural category of a whole number: "one" or "other".

    French counts 0 and 1 as "one" (0 rendez-vous, 1 ticket); Dutch, English and
    German only 1.
    """
    if language == "fr":
        return "one" if count in (0, 1) else "other"
    return "one" if count == 1 else "other"


def templates(value: str | dict[str, str]) -> list[str]:
    """A catalogue entry's templates: one text, or each plural form."""
    return list(value.values()) if isinstance(value, dict) else [value]


def spelling(language: str) -> dict[str, str]:
    """Words that tell apart letters that sound alike in `language`, e.g. "B" -> "Bravo"."""
    return getattr(_catalogue(language), "SPELLING", {})


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


def fields(template: str | dict[str, str]) -> set[str]:
    """The placeholder names in a text, e.g. {"time"} for "at {time}" (all plural forms')."""
    return {
        name
        for form in templates(template)
        for _, name, _, _ in Formatter().parse(form)
        if name is not None
    }


def _forms_right(value: str | dict[str, str], english: str | dict[str, str]) -> bool:
    """Plural texts have both forms, each with a {count}, where English has plural forms."""
    if not isinstance(english, dict):
        return not isinstance(value, dict)
    return (
        isinstance(value, dict)
        and set(value) == {"one", "other"}
        and all("count" in fields(form) for form in value.values())
    )


def missing() -> list[str]:
    """Every "lang:key" that is absent, or whose placeholders differ from the English text."""
    keys = set().union(*(_catalogue(lang).TEXTS for lang in LANGUAGES))
    english = en.TEXTS
    problems = []
    for lang in LANGUAGES:
        texts = _catalogue(lang).TEXTS
        for key in sorted(keys):
            absent = key not in texts
            if (
                absent
                or key in english
                and (
                    fields(texts[key]) != fields(english[key])
                    or not _forms_right(texts[key], english[key])
                )
            ):
                problems.append(f"{lang}:{key}")
    return problems
