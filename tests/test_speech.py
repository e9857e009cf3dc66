"""The kiosk's voice: real espeak-ng processes, queued, stopped at once, and silent when it cannot speak."""

from __future__ import annotations

import subprocess
import time
import wave

import pytest

from loket import speech
from loket.announce import SpeechUnavailable
from loket.speech import Recorder, Speaker, Utterance, Voice, open_voice
from loket.texts import LANGUAGES, text

LONG = "This sentence goes on and on so that the voice is still busy when it is stopped. " * 400


def said(folder) -> list[str]:
    return [path.read_text(encoding="utf-8").strip() for path in sorted(folder.glob("*.txt"))]


def seconds(path) -> float:
    with wave.open(str(path)) as sound:
        return sound.getnframes() / sound.getframerate()


def test_an_interruption_stops_a_real_espeak_ng_within_100_ms(tmp_path):
    voice = Voice(Recorder(str(tmp_path)))
    voice.say(LONG, "en")
    deadline = time.monotonic() + 10
    while not (tmp_path / "0001-en.wav").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # it is writing sound now
    process = voice._playing.process
    assert process.poll() is None and voice.busy
    stopped = time.monotonic()
    voice.interrupt()
    process.wait(5)
    assert voice.wait(1)
    assert time.monotonic() - stopped < 0.1
    assert not voice.busy and voice.problem is None
    voice.close()


def test_utterances_are_said_in_turn_and_an_interruption_drops_the_queue(tmp_path):
    voice = Voice(Recorder(str(tmp_path)))
    voice.say(LONG, "en")
    voice.say("Second.", "en")
    voice.say("Third.", "en")
    time.sleep(0.1)
    voice.interrupt()
    voice.say("After the key.", "nl")
    assert voice.wait(30)
    assert said(tmp_path)[1:] == ["Second.", "Third.", "After the key."]
    wavs = sorted(path.name for path in tmp_path.glob("*.wav"))
    assert "0002-en.wav" not in wavs and "0003-en.wav" not in wavs  # never spoken
    assert seconds(tmp_path / "0004-nl.wav") > 0.5
    voice.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_espeak_ng_renders_each_sentence_at_a_listening_pace(language, tmp_path):
    voice = Voice(Recorder(str(tmp_path)))
    sentences = [
        text(language, "speech_start"),
        text(language, "speech_number", series="A", number="12"),
        text(language, "speech_estimated_wait", count=25),
    ]
    for sentence in sentences:
        voice.say(sentence, language)
    assert voice.wait(60)
    for path, sentence in zip(sorted(tmp_path.glob("*.wav")), sentences, strict=True):
        words = len(sentence.split())
        # 140 words a minute is 0.43 s a word; numbers and pauses make some words longer
        assert 0.25 * words < seconds(path) < 0.9 * words + 1, (sentence, seconds(path))
    voice.close()


def test_the_repeat_says_the_last_utterance_again(tmp_path):
    voice = Voice(Recorder(str(tmp_path)))
    voice.say("Uw nummer is A 1.", "nl")
    voice.repeat()
    assert voice.wait(30)
    assert said(tmp_path) == ["Uw nummer is A 1.", "Uw nummer is A 1."]
    assert [path.name for path in sorted(tmp_path.glob("*.txt"))] == ["0001-nl.txt", "0002-nl.txt"]
    voice.close()


def test_the_volume_steps_between_softest_and_loudest_and_reaches_espeak_ng(tmp_path):
    voice = Voice(Recorder(str(tmp_path)))
    assert voice.volume == 100
    assert [voice.louder() for _ in range(5)] == [True, True, True, True, False]
    assert voice.volume == 200
    assert [voice.softer() for _ in range(8)] == [True] * 7 + [False]
    assert voice.volume == 25
    command = speech.espeak_command(Utterance("Luider.", "nl"), voice.volume)
    assert command[command.index("-a") + 1] == "25" and command[command.index("-v") + 1] == "nl"
    voice.close()


def test_a_chosen_sound_device_is_passed_to_espeak_ng(monkeypatch):
    started = []
    monkeypatch.setattr(speech, "_popen", lambda command, **kwargs: started.append(command))
    Speaker("plughw:1,0").start(Utterance("Bonjour.", "fr"), 100)
    command = started[0]
    assert command[command.index("-d") + 1] == "plughw:1,0"
    assert command[command.index("-v") + 1] == "fr-be"


def test_without_a_sound_device_the_voice_says_so_once_and_goes_quiet(monkeypatch):
    monkeypatch.setenv("ALSA_CONFIG_PATH", "/dev/null")  # no ALSA card, wherever this runs
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent")
    warnings = []
    voice = Voice(Speaker(), warn=warnings.append)
    for n in range(3):
        voice.say(f"Zin {n}.", "nl")
        assert voice.wait(30)
    assert warnings == ["Kiosk without speech: no sound device (Unknown PCM default)"]
    assert voice.problem == "no sound device (Unknown PCM default)" and not voice.busy
    voice.close()


class Hanging:
    """A sink whose espeak-ng never finishes."""

    def __init__(self):
        self.processes = []

    def queued(self, utterance):
        pass

    def start(self, utterance, volume):
        self.processes.append(subprocess.Popen(["sleep", "600"]))
        playback = speech.Playback(self.processes[-1], utterance.text)
        playback.limit = 0.2
        return playback


def test_a_hung_espeak_ng_is_killed_and_silences_the_voice_with_one_warning():
    warnings = []
    sink = Hanging()
    voice = Voice(sink, warn=warnings.append)
    voice.say("Eén.", "nl")
    assert voice.wait(30)
    voice.say("Twee.", "nl")
    assert voice.wait(30) and not voice.busy
    assert warnings == ["Kiosk without speech: espeak-ng hung (still running after 0 s)"]
    assert [process.returncode for process in sink.processes] == [-9]  # killed; none after
    voice.close()


def test_a_playback_may_take_twice_its_words_at_the_speaking_rate_plus_a_minute():
    process = subprocess.Popen(["true"])
    assert speech.Playback(process, "").limit == speech.HUNG_SECONDS
    words = speech.WORDS_PER_MINUTE
    assert speech.Playback(process, "word " * words).limit == speech.HUNG_SECONDS + 120
    process.wait()


def test_a_speech_folder_that_goes_away_silences_the_voice_with_one_warning(tmp_path):
    folder = tmp_path / "said"
    warnings = []
    voice = Voice(Recorder(str(folder)), warn=warnings.append)
    folder.rmdir()
    voice.say("Eerste.", "nl")
    voice.say("Tweede.", "nl")
    assert voice.wait(5) and voice.problem is not None
    assert len(warnings) == 1 and warnings[0].startswith("Kiosk without speech: cannot record")
    voice.close()


def test_without_espeak_ng_there_is_no_voice_and_one_warning(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    warnings = []
    assert open_voice("espeak", warn=warnings.append) is None
    assert open_voice(None, warn=warnings.append) is None
    assert (
        warnings
        == ["Kiosk without speech: espeak-ng is not installed (Debian: apt-get install espeak-ng)"]
        * 2
    )
    with pytest.raises(SpeechUnavailable):
        Recorder("/nonexistent")


def test_speech_specs(tmp_path):
    assert open_voice("off") is None
    voice = open_voice(f"file:{tmp_path}/said")
    assert isinstance(voice.sink, Recorder) and (tmp_path / "said").is_dir()
    voice.close()
    for spec in ("loud", "file:", "espeak:hw0"):
        with pytest.raises(ValueError, match=r"use espeak, off or file:DIR$"):
            open_voice(spec)
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(ValueError, match="cannot write speech to .*taken/said"):
        open_voice(f"file:{tmp_path}/taken/said")
