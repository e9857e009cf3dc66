"""The announcements' number words: ours next to num2words and to espeak-ng reading digits.

num2words is installed into a throwaway virtual environment (never the project's), and
its words for 0..9999 come back as JSON. "Spoken" compares espeak-ng's phonemes
(`espeak-ng -q -x`), which is what a waiting room hears: a difference of spelling that
sounds the same is no difference there. Run alone: `.venv/bin/python
benchmarks/number_words_figures.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from timing import process_times

from loket import texts
from loket.announce import VOICES

NUM2WORDS_LANG = {"nl": "nl", "fr": "fr_BE", "en": "en", "de": "de"}
NUMBERS = range(10_000)
# espeak-ng reads about 500 numbers a second: all of 0..999, then every 10th to 9999.
SPOKEN = [*range(1000), *range(1000, 10_000, 10)]
IMPORT_RUNS = 10
EXAMPLES = 3
STRESS_AND_PAUSES = re.compile(r"_[!|:]?|['\",\s]")
# Misreadings found by listening to the phonemes of our words; none is in the digits' reading.
MISREADINGS = {
    "nl": (r"xt[',]?Ond", r"Ond[',]?E2"),  # "achthonderd" loses its h; "honDERD"
    "fr": (),
    "en": (r"_:_: and",),  # "hundred ... and" with a pause and a full, stressed "and"
    "de": (r"v[',]?i:",),  # "vierzehn", "fünfundvierzig" with v instead of f
}
A012 = {"words": "A {}", "digits": "A 12", "one by one": "A 0 1 2"}
MARKER = "Xylofoon"  # said between two numbers, to tell where one ends

DUMP = """
import json, sys
from num2words import num2words
langs = json.loads(sys.argv[1])
print(json.dumps({ours: [num2words(n, lang=theirs) for n in range(10_000)]
                  for ours, theirs in langs.items()}))
"""


def install_num2words(folder: str) -> Path | None:
    """A throwaway venv with num2words; its python, or None when pip cannot install it."""
    venv.create(folder, with_pip=True)
    python = Path(folder) / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    installed = subprocess.run([*pip, "num2words"], capture_output=True, text=True)
    return python if installed.returncode == 0 else None


def installed_size_kib(python: Path) -> int:
    """num2words and what it pulled in (docopt), on disk."""
    site = next((python.parent.parent / "lib").glob("python*/site-packages"))
    names = ("num2words", "docopt")
    paths = [p for p in site.iterdir() if p.name.lower().startswith(names)]
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return sum(f.stat().st_size for f in files) // 1024


def phonemes(language: str, lines: list[str]) -> list[str]:
    """espeak-ng's phonemes for each line (a line with commas or a long word spans several)."""
    marker = _espeak(language, [MARKER])[0]
    said, current = [], []
    for output in _espeak(language, [part for line in lines for part in (line, MARKER)]):
        if output == marker:
            said.append(" ".join(current))
            current = []
        else:
            current.append(output)
    if len(said) != len(lines):
        raise RuntimeError(f"espeak-ng said {len(said)} of {len(lines)} sentences")
    return said


def _espeak(language: str, lines: list[str]) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as text:
        text.write("".join(f"{line}.\n" for line in lines))
        text.flush()
        result = subprocess.run(
            ["espeak-ng", "-q", "-x", "-v", VOICES[language], "-f", text.name],
            capture_output=True,
            text=True,
            check=True,
        )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def measure() -> dict:
    """Agreement per language, the cost of num2words, and how espeak-ng reads A012."""
    ours = {lang: [texts.number_words(lang, n) for n in NUMBERS] for lang in NUM2WORDS_LANG}
    if shutil.which("espeak-ng") is None:
        return {"ours": ours, "theirs": None, "missing": "espeak-ng is not installed"}
    with tempfile.TemporaryDirectory(prefix="loket-num2words-") as folder:
        python = install_num2words(folder)
        if python is None:
            return {"ours": ours, "theirs": None, "missing": "pip could not install num2words"}
        dumped = subprocess.run(
            [str(python), "-c", DUMP, json.dumps(NUM2WORDS_LANG)],
            capture_output=True,
            text=True,
            check=True,
        )
        theirs = json.loads(dumped.stdout)
        bare = process_times([str(python), "-c", "pass"], IMPORT_RUNS, None)
        imported = process_times([str(python), "-c", "import num2words"], IMPORT_RUNS, None)
        size = installed_size_kib(python)
    jobs = {
        (lang, kind): [words[n] for n in SPOKEN]
        for lang in NUM2WORDS_LANG
        for kind, words in (("ours", ours[lang]), ("theirs", theirs[lang]))
    }
    jobs.update({(lang, "digits"): [str(n) for n in SPOKEN] for lang in NUM2WORDS_LANG})
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        heard = pool.map(lambda key: phonemes(key[0], jobs[key]), jobs)
        said = dict(zip(jobs, heard, strict=True))
    a012 = {lang: dict(zip(A012, said_a012(lang), strict=True)) for lang in NUM2WORDS_LANG}
    return {
        "ours": ours,
        "theirs": theirs,
        "said": said,
        "a012": a012,
        "import_ms": statistics.median(imported) - statistics.median(bare),
        "size_kib": size,
    }


def said_a012(lang: str) -> list[str]:
    """espeak-ng's phonemes for A012 in each of the forms of A012."""
    words = texts.number_words(lang, 12)
    return phonemes(lang, [form.format(words) for form in A012.values()])


def agreement(same: list[bool]) -> str:
    return f"{sum(same) / len(same):.1%}"


def sounds(phonemes: str) -> str:
    """Phonemes without stress and pause marks: the sounds alone."""
    return STRESS_AND_PAUSES.sub("", phonemes)


def spoken_agreement(said: list[str], other: list[str]) -> str:
    """Share with the same sounds, and (in brackets) with the same stress and pauses too."""
    same_sounds = [sounds(a) == sounds(b) for a, b in zip(said, other, strict=True)]
    same = [a == b for a, b in zip(said, other, strict=True)]
    return f"{agreement(same_sounds)} ({agreement(same)})"


def differences(result: dict, lang: str) -> str:
    """The first numbers that sound different in num2words' words, with both spellings."""
    ours, theirs, said = result["ours"][lang], result["theirs"][lang], result["said"]
    spoken_ours, spoken_theirs = said[(lang, "ours")], said[(lang, "theirs")]
    found = [
        f"{n}: {ours[n]} / {theirs[n]}"
        for n, a, b in zip(SPOKEN, spoken_ours, spoken_theirs, strict=True)
        if sounds(a) != sounds(b)
    ]
    return "; ".join(found[:EXAMPLES]) or "none"


def misread(said: list[str], lang: str) -> int:
    """How many numbers espeak-ng says with one of the language's known misreadings."""
    return sum(any(re.search(p, phonemes) for p in MISREADINGS[lang]) for phonemes in said)


def report(result: dict) -> str:
    """Markdown: one row a language, then num2words' cost and how A012 is read."""
    if result["theirs"] is None:
        return f"## Number words of the announcements\n\nNot measured: {result['missing']}.\n"
    rows = []
    for lang in NUM2WORDS_LANG:
        ours, theirs, said = result["ours"][lang], result["theirs"][lang], result["said"]
        written = [a == b for a, b in zip(ours, theirs, strict=True)]
        spoken = spoken_agreement(said[(lang, "ours")], said[(lang, "theirs")])
        digits = spoken_agreement(said[(lang, "ours")], said[(lang, "digits")])
        wrong = f"{misread(said[(lang, 'ours')], lang)} / {misread(said[(lang, 'digits')], lang)}"
        rows.append(
            f"| {lang} ({NUM2WORDS_LANG[lang]}) | {agreement(written)} | {spoken} | {digits} | "
            f"{wrong} | {differences(result, lang)} |"
        )
    a012 = [
        f"| {lang} | `{forms['words']}` | `{forms['digits']}` | `{forms['one by one']}` |"
        for lang, forms in result["a012"].items()
    ]
    return "\n".join(
        [
            "## Number words of the announcements",
            "",
            f"Written: 0..9999. Spoken (espeak-ng phonemes): {len(SPOKEN):,} numbers from 0 to "
            f"{SPOKEN[-1]:,}. Known misreadings: nl achthonderd without h and "
            "honDERD, en a pause and a full 'and', de vier with v. num2words "
            f"costs {result['import_ms']:.0f} ms of import and {result['size_kib']:,} KiB "
            "installed (with docopt).",
            "",
            "| Language | ours = num2words, written | same sounds (and stress) | ours = "
            "espeak-ng reading the digits: same sounds (and stress) | known misreadings: ours / "
            "digits | first numbers num2words says differently (ours / num2words) |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "How espeak-ng says A012 (phonemes): our words, the digits `A 12`, and `A 0 1 2`:",
            "",
            "| Language | A + our words | A 12 | A 0 1 2 |",
            "|---|---|---|---|",
            *a012,
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(print(report(measure())))
