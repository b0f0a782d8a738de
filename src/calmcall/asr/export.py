"""Transcript export: WebVTT and SubRip cues from committed words.

Words are sorted by start time and grouped into cues per speaker: a new cue starts
when the speaker changes, after a pause of ``max_gap_s``, after sentence-final
punctuation, or when the cue would exceed ``max_cue_s`` seconds or ``max_chars``
characters. VTT carries the speaker as a voice tag (``<v agent>``), SRT as a prefix
(``agent: ``). ``names`` maps speakers to display names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from calmcall.events import Word

__all__ = ["cues", "to_srt", "to_vtt"]

_SENTENCE_END = (".", "?", "!")


def cues(
    words: Iterable[Word],
    *,
    max_gap_s: float = 1.0,
    max_cue_s: float = 6.0,
    max_chars: int = 84,
) -> list[tuple[float, float, str, str]]:
    """Group words into ``(start_s, end_s, speaker, text)`` cues, ordered by start."""
    out: list[tuple[float, float, str, str]] = []
    cur: list[Word] = []

    def flush() -> None:
        if cur:
            out.append((cur[0].start_s, max(w.end_s for w in cur), cur[0].speaker, " ".join(w.text for w in cur)))
            cur.clear()

    for w in sorted(words, key=lambda w: (w.start_s, w.end_s)):
        if cur:
            last = cur[-1]
            text_len = sum(len(x.text) + 1 for x in cur) + len(w.text)
            if (
                w.speaker != last.speaker
                or w.start_s - last.end_s > max_gap_s
                or last.text.endswith(_SENTENCE_END)
                or w.end_s - cur[0].start_s > max_cue_s
                or text_len > max_chars
            ):
                flush()
        cur.append(w)
    flush()
    return out


def _ts(t_s: float, sep: str) -> str:
    ms = max(int(round(t_s * 1000)), 0)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(words: Iterable[Word], *, names: Mapping[str, str] | None = None) -> str:
    """WebVTT text (``WEBVTT`` header, one cue per group, ``<v speaker>`` voice tags)."""
    parts = ["WEBVTT", ""]
    for start, end, speaker, text in cues(words):
        name = (names or {}).get(speaker, speaker)
        end = max(end, start + 0.001)
        parts += [f"{_ts(start, '.')} --> {_ts(end, '.')}", f"<v {_escape_vtt(name)}>{_escape_vtt(text)}", ""]
    return "\n".join(parts)


def to_srt(words: Iterable[Word], *, names: Mapping[str, str] | None = None) -> str:
    """SubRip text: numbered cues, ``speaker: text``."""
    parts: list[str] = []
    for i, (start, end, speaker, text) in enumerate(cues(words), 1):
        name = (names or {}).get(speaker, speaker)
        end = max(end, start + 0.001)
        parts += [str(i), f"{_ts(start, ',')} --> {_ts(end, ',')}", f"{name}: {text}", ""]
    return "\n".join(parts)
