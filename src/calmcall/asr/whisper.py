"""The faster-whisper adapter: decode options, the 30 s window patch (short utterances are
padded to their own length, not to 30 s), one decode pass returning timed words, and a
whole-file transcription helper."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from calmcall.asr.agreement import HypWord
from calmcall.asr.words import _norm_word
from calmcall.constants import SAMPLE_RATE_HZ
from calmcall.events import Speaker, Word


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """Options of every faster-whisper pass.

    ``window_min_s``: encode a window of max(``window_min_s``, audio +
    ``window_margin_s``) seconds instead of Whisper's fixed 30 s (``None``: always
    30 s); see :func:`_install_window_patch`.
    ``language=None`` lets a multilingual model detect it (English-only models
    ignore it). Segments with ``no_speech_prob > no_speech_max``, ``avg_logprob <
    logprob_min`` or ``compression_ratio > compression_ratio_max`` are dropped.
    """

    language: str | None = "en"
    beam_size: int = 1
    prompt_words: int = 0
    window_min_s: float | None = 10.0
    window_margin_s: float = 2.0
    no_speech_max: float = 0.6
    logprob_min: float = -1.0
    compression_ratio_max: float = 2.4
    #: repetition-loop guard (None: off, the English default): a pass may generate at
    #: most ``max_tokens_per_s`` tokens per second of audio plus ``tokens_floor``;
    #: a segment that reaches the cap is a loop ("je vais je vais je vais ...") and is
    #: dropped. Without it a looping pass generates Whisper's 448 tokens (8-9 s with
    #: base here instead of ~1 s).
    max_tokens_per_s: float | None = None
    tokens_floor: int = 16

    def token_cap(self, audio_s: float) -> int | None:
        """Most tokens one pass over ``audio_s`` seconds may generate (None: no cap)."""
        if self.max_tokens_per_s is None:
            return None
        return int(math.ceil(audio_s * self.max_tokens_per_s)) + self.tokens_floor

    def transcribe_kwargs(self) -> dict[str, Any]:
        return dict(
            language=self.language,
            beam_size=self.beam_size,
            best_of=1,
            temperature=0.0,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=False,
            compression_ratio_threshold=self.compression_ratio_max,
            log_prob_threshold=self.logprob_min,
            no_speech_threshold=self.no_speech_max,
        )


_pad_state = threading.local()
_pad_lock = threading.Lock()
_pad_installed = False


def _install_window_patch() -> None:
    """Let a pass encode a window shorter than Whisper's fixed 30 s.

    faster-whisper 1.2.1 pads every window's features to 3000 frames (30 s) before the
    encoder, which is ~75 % of a pass's compute for tiny.en. CTranslate2 accepts
    shorter inputs, so ``faster_whisper.transcribe.pad_or_trim`` is wrapped: when the
    *calling thread* has set a frame count (only inside :func:`_decode`), windows are
    padded to that length instead; every other caller (whole-file mode, other code in
    the process) sees the original behaviour. Too short a window makes Whisper loop
    ("... modern, modern, modern"); max(10 s, speech + 2 s) measured as accurate as
    30 s on the test clips at a third of the compute (see ``DecodeOptions.window_min_s``).
    """
    global _pad_installed
    with _pad_lock:
        if _pad_installed:
            return
        import faster_whisper.transcribe as fwt

        original = fwt.pad_or_trim

        def pad_or_trim(array: Any, length: int = 3000, *, axis: int = -1) -> Any:
            frames = getattr(_pad_state, "frames", None)
            if frames is not None and length == 3000:
                length = frames
            return original(array, length, axis=axis)

        fwt.pad_or_trim = pad_or_trim
        _pad_installed = True


def _decode(model: Any, audio: np.ndarray, offset_s: float, opts: DecodeOptions, prompt: str | None) -> list[HypWord]:
    """One faster-whisper pass over ``audio`` (which starts at ``offset_s``); returns
    the words of the segments that pass the quality filters, in absolute seconds."""
    kwargs = opts.transcribe_kwargs()
    if prompt:
        kwargs["initial_prompt"] = prompt
    cap = opts.token_cap(len(audio) / SAMPLE_RATE_HZ)
    if cap is not None:
        kwargs["max_new_tokens"] = cap
    frames: int | None = None
    if opts.window_min_s is not None:
        _install_window_patch()
        window_s = max(opts.window_min_s, len(audio) / SAMPLE_RATE_HZ + opts.window_margin_s)
        frames = int(math.ceil(window_s * 100))
        if frames >= 3000:
            frames = None
    _pad_state.frames = frames
    try:
        segments, _info = model.transcribe(audio, **kwargs)
        segments = list(segments)  # the generator decodes while iterated: do it here
    finally:
        _pad_state.frames = None
    end_s = offset_s + len(audio) / SAMPLE_RATE_HZ
    if cap is not None and segments and sum(len(s.tokens) for s in segments) >= cap - 2:
        segments = segments[:-1]  # the pass hit the token cap: its last segment is a loop
    out: list[HypWord] = []
    for seg in segments:
        if seg.no_speech_prob > opts.no_speech_max and seg.avg_logprob < opts.logprob_min:
            continue
        if seg.avg_logprob < opts.logprob_min - 0.5:
            continue
        if seg.compression_ratio > opts.compression_ratio_max:
            continue
        for w in seg.words or ():
            text = w.word.strip()
            norm = _norm_word(text)
            if not norm:
                continue
            w_end = min(offset_s + float(w.end), end_s)
            w_start = min(offset_s + float(w.start), w_end)
            out.append(HypWord(w_start, w_end, text, norm, float(w.probability)))
    return out


def transcribe_whole_file(
    model: Any,
    audio: np.ndarray,
    speaker: Speaker = "agent",
    *,
    options: DecodeOptions | None = None,
    vad_filter: bool = True,
) -> list[Word]:
    """Transcribe a whole channel in one ``model.transcribe`` call (for comparison,
    ``--whole-file``). Same decoding options as the streaming passes, faster-whisper's
    own Silero VAD filter on. Every word's ``t_s`` is the end of the audio (nothing
    is known before the whole file is)."""
    opts = options or DecodeOptions()
    x = np.asarray(audio, dtype=np.float32).ravel()
    kwargs = opts.transcribe_kwargs()
    kwargs["vad_filter"] = vad_filter
    segments, _ = model.transcribe(x, **kwargs)
    duration_s = len(x) / SAMPLE_RATE_HZ
    words: list[Word] = []
    for seg in segments:
        if seg.no_speech_prob > opts.no_speech_max and seg.avg_logprob < opts.logprob_min:
            continue
        if seg.compression_ratio > opts.compression_ratio_max:
            continue
        for w in seg.words or ():
            text = w.word.strip()
            if not _norm_word(text):
                continue
            end = min(float(w.end), duration_s)
            words.append(Word(duration_s, min(float(w.start), end), end, text, speaker, float(w.probability)))
    return words


# --------------------------------------------------------------------------- clocks
