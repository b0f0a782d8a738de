"""Words per minute and VTT/SRT export (no model needed)."""

from __future__ import annotations

import pytest

from calmcall.asr.export import cues, to_srt, to_vtt
from calmcall.asr.wpm import speech_time_s, wpm
from calmcall.events import Word


def W(start: float, end: float, text: str, speaker: str = "agent", t: float | None = None) -> Word:
    return Word(t if t is not None else end + 1.0, start, end, text, speaker, 0.9)  # type: ignore[arg-type]


def test_wpm_counts_speech_time_not_pauses() -> None:
    # 10 words of 0.3 s separated by 0.1 s gaps: 10*0.3 + 9*0.1 = 3.9 s of speech
    words = [W(i * 0.4, i * 0.4 + 0.3, f"w{i}") for i in range(10)]
    assert speech_time_s(words) == pytest.approx(3.9)
    assert wpm(words, now_s=10.0) == pytest.approx(60 * 10 / 3.9)
    # the same words with a 5 s pause in the middle: the pause does not count
    paused = words[:5] + [W(w.start_s + 5, w.end_s + 5, w.text) for w in words[5:]]
    assert wpm(paused, now_s=15.0) == pytest.approx(60 * 10 / 3.8)


def test_wpm_only_uses_words_known_by_now_and_the_window() -> None:
    words = [W(i * 0.4, i * 0.4 + 0.3, f"w{i}", t=5.0) for i in range(10)]
    assert wpm(words, now_s=4.9) is None  # not committed yet
    assert wpm(words, now_s=100.0, window_s=20.0) is None  # out of the window
    assert wpm(words + [W(0, 0.3, "x", "customer")], now_s=6.0, speaker="agent") == pytest.approx(60 * 10 / 3.9)
    with pytest.raises(ValueError, match="window_s"):
        wpm(words, now_s=6.0, window_s=0)


def test_cues_split_on_speaker_pause_and_sentence_end() -> None:
    words = [
        W(0.0, 0.4, "Hello"),
        W(0.5, 0.9, "there."),
        W(1.0, 1.3, "How"),
        W(1.4, 1.6, "are"),
        W(1.7, 2.0, "you?"),
        W(2.1, 2.5, "Fine", "customer"),
        W(5.0, 5.4, "thanks", "customer"),
    ]
    assert [c[3] for c in cues(words)] == ["Hello there.", "How are you?", "Fine", "thanks"]


def test_vtt_and_srt() -> None:
    words = [W(1.0, 1.5, "I"), W(1.5, 2.25, "understand."), W(3723.0, 3724.5, "<ok>", "customer")]
    vtt = to_vtt(words, names={"customer": "Caller"})
    assert vtt.startswith("WEBVTT\n\n")
    assert "00:00:01.000 --> 00:00:02.250\n<v agent>I understand.\n" in vtt
    assert "01:02:03.000 --> 01:02:04.500\n<v Caller>&lt;ok&gt;\n" in vtt
    srt = to_srt(words)
    assert srt.startswith("1\n00:00:01,000 --> 00:00:02,250\nagent: I understand.\n\n2\n")
    assert "01:02:03,000 --> 01:02:04,500\ncustomer: <ok>" in srt
    assert to_vtt([]) == "WEBVTT\n" and to_srt([]) == ""


def test_wer_scores_contractions_and_spelling_variants_as_the_same_words() -> None:
    from calmcall.asr.metrics import word_errors

    assert word_errors("That is far too slow.", "That's far too slow") == (0, 5)
    assert word_errors("Alright, I suppose that will have to do.", "All right, I suppose that will have to do") == (0, 9)
    assert word_errors("Okay. When do I get it?", "OK, when do I get it?") == (0, 6)
    # a real substitution still counts: "we'll" is "we will", one word more than "will"
    assert word_errors("that will have to do", "that we'll have to do") == (1, 5)
    assert word_errors("I have had enough", "I can't be a enough") == (3, 4)
