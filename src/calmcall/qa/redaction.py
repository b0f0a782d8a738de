"""The recording's redaction policy: which samples of a session's audio to silence, and
up to where the audio is checked and may be written.

Pure and synchronous: no threads, no files, no clock. :class:`RedactionPolicy` is fed
the audio (16 kHz int16 per channel, in order), the raw committed words, the masked
words and partials the pipeline released, and the transcriber's settled time; it
answers with *release points* (:meth:`RedactionPolicy.release_limit`: the sample before
which audio may be handed on now) and *masks* (:meth:`RedactionPolicy.release`: which
samples of a released stretch to silence, on every channel).
:class:`calmcall.qa.recorder.AudioRecorder` holds the audio in memory, asks this
policy, and writes what it may (queue + writer thread + FLAC).

The rules
---------
* **Card numbers are silenced.** Audio is held for at least ``delay_s`` (default
  :data:`DEFAULT_DELAY_S` = 12 s: transcript lag, up to about 2.5 s, plus the card
  masker's hold of up to 4.5 s after a number ends, with room to spare), and longer
  while the transcript is behind: a stretch is released only once (a) the transcriber
  can no longer commit a word in it (``settled_s``) and (b) every committed word that
  starts in it has come back from the card masker (raw words seen in
  :meth:`RedactionPolicy.transcribed` but not yet in :meth:`RedactionPolicy.word`).
  Every span ``[start_s - pad_s, end_s + pad_s]`` of a word whose masked text contains
  :data:`calmcall.text.masking.MASK` is silenced on *every* channel (a number read by
  the customer is also heard faintly in the agent's headset microphone), and so is the
  rest of that speaker's stretch of speech around it (joined across pauses shorter
  than ``join_gap_s``, at most ``extend_s`` before and after; voice activity from an
  energy VAD with a tracked noise floor on the speaker's channel): the recogniser often
  drops or merges digits of a number read aloud, and those digits would otherwise stay
  audible. A masked live partial (the pipeline masks any run of 6+ digits in partial
  text) silences the same way, from the speaker's last committed word to the
  partial's time: the recogniser's repetition filter can drop a number like "one one
  one one, one one one one, ..." from the committed words altogether while the
  partial showed it.
* **Security codes: a window after a card number.** A security code read in a later
  turn is often not transcribed as digits at all (in the test call "seven three nine"
  came back as "I'm" or "3 Highl"), so no masked word points at it. After a masked word
  or masked partial of a speaker, every stretch of that speaker's speech (voice
  activity on their channel, grown like a masked word's span: joined across pauses
  shorter than ``join_gap_s``, at most ``extend_s`` beyond the window) that lies in the
  next ``cvv_window_s`` (default 20 s, :class:`calmcall.text.masking.MaskContext`'s
  CVV window) is silenced, on every channel as above. The same window opens for the
  customer's speech (the agent's if the call has no customer channel) when a
  committed word arms the transcript's CVV rule ("security code", "CVV", "card
  verification", ...: the policy feeds the masked words it gets in
  :meth:`RedactionPolicy.word` to a keyword tracker of its own, the one
  :class:`calmcall.text.masking.CardMasker` uses). Non-speech audio in the window and
  the other speaker's speech are kept, except where they overlap a silenced stretch
  (the reader's voice leaks into the other microphone). Counted apart as
  ``cvv_window`` (samples silenced by this rule and by no masked word). A code read
  more than ``cvv_window_s`` after the card number and without a keyword the
  recogniser catches, or digits not transcribed in an utterance without any masked
  word, are not found (see docs/reports.md).
* **Evidence beyond masked words.** A card number read aloud is often not masked at
  all: the recogniser commits "for the 0 2 5, normal 2, ..." for "four zero two five,
  double two, ...", or nothing (a repetition loop), and the masker sees no 13-digit run.
  Three more rules silence the speaker's stretch of speech (grown like a masked word's
  span, on every channel) or open a window like the CVV window:

  - *digit runs* (``digit_run_min``, default 3): committed words, or a live partial, that
    say at least 3 digits in one run of number words / digits (fillers, "and", "for"
    inside; :func:`calmcall.text.masking.spoken_digit_count`) are silenced, and the CVV
    window opens after them. A partial's span starts at its speaker's stretch of speech
    (its utterance is still open), at most back to the last committed word;
  - *untranscribed speech* (``uncovered_s``, default 0.8 s): voice activity of a speaker
    that no raw committed word covers (each word covers its span +- ``cover_tol_s`` =
    0.35 s) for 0.8 s of activity (pauses under ``join_gap_s`` inside) is silenced,
    and the CVV window opens after it. It is judged only where the transcriber has
    settled (``settled_s`` - ``cover_tol_s``), and audio of a run still too short to
    judge is held;
  - *card requests* (``card_window_s``, default 30 s): a phrase that asks for or announces
    card data (:func:`calmcall.text.masking.card_request`: "card number", "the long
    number on the card", "read me the card", "credit/debit card", "expiry", "visa",
    "sixteen digits", ...; a bare "card" as in "block the card" is not one), in a
    committed word or in a partial of either speaker, opens a window on the customer's
    speech (the agent's on a call without a customer channel) from the phrase (a
    partial's: from the start of its speaker's stretch) for 30 s.

  All keywords and number words are the call's language's (``language``: ``en``,
  ``fr``, ``auto`` = both, the lexicon the transcript's masker uses): in French
  "numéro de (votre) carte", "les seize chiffres", "date d'expiration", "carte
  bancaire", "payer par carte" open the card window, "cryptogramme", "code de
  sécurité", "les chiffres au dos" the CVV window, "quatre un un un" / "soixante-dix"
  are digit runs; accents may be missing and elisions written "d'expiration", "d
  expiration" or "dexpiration".

  Each silenced sample is counted once (:attr:`RedactionPolicy.silenced_n`), for the
  first rule in the order masked word, digit run, untranscribed speech, CVV window,
  card window (:data:`WHY`); :attr:`RedactionPolicy.evidence_spans` counts the spans and
  windows the new rules started. The voice activity behind all of this is an energy
  detector whose noise floor is the quietest 20 ms frame of the last 6 s (unclamped, so
  that steady line noise is not taken for speech).
* **Transcript lost.** After :meth:`RedactionPolicy.transcript_lost` nothing past what
  was already checked is released (:attr:`RedactionPolicy.cutoff_n`).

A span that comes back after its audio was released (a *late mask*) cannot be
applied: it is counted (``late_masks``) and reported once through ``on_warning``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calmcall.constants import SAMPLE_RATE_HZ
from calmcall.text.masking import MASK, KeywordTracker, Lexicon, MaskContext, card_request, lexicon, spoken_digit_count
from calmcall.vad import NoiseFloorVad

__all__ = [
    "DEFAULT_CARD_WINDOW_S",
    "DEFAULT_COVER_TOL_S",
    "DEFAULT_CVV_WINDOW_S",
    "DEFAULT_DELAY_S",
    "DEFAULT_DIGIT_RUN_MIN",
    "DEFAULT_EXTEND_S",
    "DEFAULT_JOIN_GAP_S",
    "DEFAULT_PAD_S",
    "DEFAULT_UNCOVERED_S",
    "VAD_FRAME_N",
    "WHY",
    "RedactionPolicy",
]

#: Minimum time audio stays in memory before it is written (seconds of audio).
DEFAULT_DELAY_S = 12.0
#: Silence this much audio before and after each masked word (seconds): Whisper's word
#: timestamps are off by up to about 0.2 s.
DEFAULT_PAD_S = 0.3
#: A masked word silences the whole stretch of its speaker's speech around it: joined
#: across pauses shorter than this (seconds of no voice activity on that channel) ...
DEFAULT_JOIN_GAP_S = 1.0
#: ... up to this far before its first and after its last masked word (seconds). The
#: recogniser often drops or merges digits of a number read aloud; their audio lies in
#: the same stretch of speech as the masked words it did find.
DEFAULT_EXTEND_S = 10.0
#: Voice-activity frames of the policy (samples at 16 kHz = 20 ms).
VAD_FRAME_N = 320
#: The policy's voice activity: noise floor = quietest frame of this many seconds.
_VAD_FLOOR_WINDOW_S = 6.0
#: A masked partial silences back to the speaker's last committed word, at most this far
#: (seconds; the transcriber's decoding window is at most 20 s).
_PARTIAL_BACK_S = 20.0
#: After a card number (or a word that arms the CVV rule), silence the speech of the
#: code's reader for this long (seconds of audio): the transcript masks a security code
#: said within this window (:class:`calmcall.text.masking.MaskContext`).
DEFAULT_CVV_WINDOW_S = MaskContext().cvv_window_s
#: After a phrase that asks for or announces card data ("card number", "the long number on
#: the card", "credit card", "expiry", "security code", ...; committed or in a partial,
#: either speaker), silence the card reader's speech for this long (seconds of audio).
DEFAULT_CARD_WINDOW_S = 30.0
#: Committed words or a partial that say at least this many digits in one run (number
#: words or digits, fillers and "and"/"for"/"to" inside the run allowed) silence their
#: speaker's stretch of speech like a masked word (the masker lets short runs and
#: non-card numbers through; the recogniser often drops the rest of a card number).
DEFAULT_DIGIT_RUN_MIN = 3
#: A speaker's speech that no committed word covers (within ``cover_tol_s``) for at least
#: this long (seconds of voice activity, pauses shorter than ``join_gap_s`` inside) is
#: silenced: the recogniser drops digits of a number read aloud ("one one one one ..."
#: as a repetition loop, or a whole group) without a trace in the transcript.
DEFAULT_UNCOVERED_S = 0.8
#: A committed word covers its speaker's voice activity this far around its start/end (s).
DEFAULT_COVER_TOL_S = 0.35
#: Why a sample was silenced, strongest first (each sample is counted once, for the first).
WHY = ("masked", "digits", "untranscribed", "cvv_window", "card_window")


@dataclass
class _Span:
    """Samples to silence on every channel: a masked word ± pad, grown over the
    speech of ``role`` around it. ``open`` while its end is not settled yet."""

    role: str | None
    s0: int
    s1: int
    word_end_n: int
    open: bool = True
    scan_f: int = 0  # next activity frame to look at (forward)
    last_active_f: int = -1
    run_f: int = 0  # inactive frames in a row so far
    why: str = "masked"  # the rule that made it (one of WHY), for the counters


@dataclass
class _Window:
    """Samples ``[n0, n1)`` in which every stretch of ``role``'s speech is silenced (the
    CVV window after a card number or a CVV keyword)."""

    role: str
    n0: int
    n1: int
    scan_f: int  # next activity frame to look at
    span: _Span | None = None  # the last span this window started
    why: str = "cvv_window"


class RedactionPolicy:
    """Which samples of a session's channels to silence, and when they are checked;
    see the module docstring.

    Parameters
    ----------
    roles:
        the recorded channels (``"agent"``, ``"customer"``), in order.
    delay_s, pad_s, join_gap_s, extend_s, cvv_window_s, card_window_s, digit_run_min,
    uncovered_s, cover_tol_s:
        the figures in the module docstring (seconds of audio; ``digit_run_min`` in
        digits). 0 turns the CVV window, card window, digit-run or untranscribed rule off.
    on_warning:
        ``on_warning(key, text)`` for a late mask (key ``"late"``); default: ignored.
    language:
        the call's language, ``en``, ``fr`` or ``auto`` (English and French keywords
        and number words together, as the transcript's masker reads an ``auto`` call).

    Feed it in audio order: :meth:`feed_audio` with every block, :meth:`transcribed`
    with the raw committed words, :meth:`word` / :meth:`partial` with what the pipeline
    released; then ask :meth:`release_limit` and hand each stretch on through
    :meth:`release` (checked audio, with its mask) or :meth:`skip` (audio not written
    as checked: dropped, or written as silence). :meth:`finish` at the end of the audio.
    All positions are sample indices of the call (16 kHz).
    """

    def __init__(
        self,
        roles: Sequence[str],
        *,
        delay_s: float = DEFAULT_DELAY_S,
        pad_s: float = DEFAULT_PAD_S,
        join_gap_s: float = DEFAULT_JOIN_GAP_S,
        extend_s: float = DEFAULT_EXTEND_S,
        cvv_window_s: float = DEFAULT_CVV_WINDOW_S,
        card_window_s: float = DEFAULT_CARD_WINDOW_S,
        digit_run_min: int = DEFAULT_DIGIT_RUN_MIN,
        uncovered_s: float = DEFAULT_UNCOVERED_S,
        cover_tol_s: float = DEFAULT_COVER_TOL_S,
        on_warning: Callable[[str, str], None] | None = None,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        language: str = "en",
    ) -> None:
        if not roles:
            raise ValueError("RedactionPolicy needs at least one role (e.g. ('agent', 'customer'))")
        if (
            min(delay_s, pad_s, extend_s, cvv_window_s, card_window_s, uncovered_s, cover_tol_s) < 0
            or join_gap_s <= 0
            or digit_run_min < 0
        ):
            raise ValueError(
                "delay_s, pad_s, extend_s, cvv_window_s, card_window_s, uncovered_s and "
                "cover_tol_s must be >= 0 s, digit_run_min >= 0 and join_gap_s > 0 s"
            )
        self.roles = tuple(roles)
        #: the call's language (``en``, ``fr``, ``auto``: both): the number words, card
        #: requests and security-code keywords the rules read (:mod:`calmcall.text.masking`)
        self.language = language
        self._lex: Lexicon = lexicon(language)
        self.sr = int(sample_rate_hz)
        self.delay_s = float(delay_s)
        self.pad_s = float(pad_s)
        self.join_gap_s = float(join_gap_s)
        self.extend_s = float(extend_s)
        self._pad_n = int(round(self.pad_s * self.sr))
        self._gap_f = max(1, int(round(self.join_gap_s * self.sr / VAD_FRAME_N)))
        self._extend_f = int(round(self.extend_s * self.sr / VAD_FRAME_N))
        self.cvv_window_s = float(cvv_window_s)
        self._cvv_n = int(round(self.cvv_window_s * self.sr))
        self.card_window_s = float(card_window_s)
        self._card_n = int(round(self.card_window_s * self.sr))
        self.digit_run_min = int(digit_run_min)
        self.uncovered_s = float(uncovered_s)
        self._uncov_f = int(round(self.uncovered_s * self.sr / VAD_FRAME_N))
        self.cover_tol_s = float(cover_tol_s)
        self._tol_f = int(round(self.cover_tol_s * self.sr / VAD_FRAME_N))
        self._on_warning = on_warning
        #: samples fed (per channel)
        self.n = 0
        #: samples handed on (released, skipped): spans never reach back before this
        self.released_n = 0
        #: transcript lost: nothing from this sample on is released (None: not lost)
        self.cutoff_n: int | None = None
        self._spans: list[_Span] = []  # masked spans not yet entirely released
        self._windows: list[_Window] = []  # CVV windows not yet entirely scanned
        self._kw_ctx = MaskContext(cvv_window_s=self.cvv_window_s, language=language)
        self._kw = {r: KeywordTracker() for r in ("agent", "customer", *self.roles)}
        # the noise floor is the quietest frame of the last 6 s, unclamped: with the
        # detector's default clamp (floor <= loudest - 25 dB) steady line noise above
        # -60 dBFS counts as speech, and every span grows over the pauses
        self._vads = {
            r: NoiseFloorVad(hop_s=VAD_FRAME_N / self.sr, floor_window_s=_VAD_FLOOR_WINDOW_S, min_range_db=0.0)
            for r in self.roles
        }
        self._act = {r: bytearray() for r in self.roles}  # 1 = voice, per 20 ms frame
        self._vad_carry = {r: np.zeros(0, dtype=np.float32) for r in self.roles}
        self._last_word_end_s: dict[str, float] = {}
        # card-request phrases (last words of each speaker) and digit runs in committed words
        self._recent: dict[str, list[str]] = {}
        self._num_run: dict[str, list[tuple[float, float, int]]] = {}  # (start_s, end_s, digits)
        # speech no committed word covers: frames covered by a raw word (+- cover_tol_s),
        # next frame to judge, and the run of uncovered speech being judged
        self._cov = {r: bytearray() for r in self.roles}
        self._ucov_f = {r: 0 for r in self.roles}
        self._urun: dict[str, list[int] | None] = {r: None for r in self.roles}  # [first, last, active, gap]
        self._uspan: dict[str, _Span | None] = {}  # the last span of each speaker's uncovered speech
        self._raw: collections.Counter[tuple[str, float, float]] = collections.Counter()
        #: samples silenced, per rule of :data:`WHY` (each sample counted once)
        self.silenced_n = {w: 0 for w in WHY}
        #: masked words and partials that started a span
        self.masked_spans = 0
        #: spans and windows started by the rules beyond masked words
        self.evidence_spans = {w: 0 for w in ("digits", "untranscribed", "card_window")}
        #: spans that came back after their audio was released (not applied)
        self.late_masks = 0

    # ------------------------------------------------------------------ inputs
    def feed_audio(self, arrays: Mapping[str, np.ndarray]) -> None:
        """The next block of every role (int16 PCM at 16 kHz, shape (n,), equal lengths)."""
        n = 0
        for role in self.roles:
            x = arrays[role]
            n = len(x)
            self._vad_feed(role, x)
        self.n += n

    def transcribed(self, items: Iterable[Any]) -> None:
        """Raw committed words (before masking) as the transcriber gave them: their
        audio is held until the masker has released them (:meth:`word`)."""
        for w in items:
            if getattr(w, "type", None) == "word":
                self._raw[(w.speaker, float(w.start_s), float(w.end_s))] += 1
                cov = self._cov.get(w.speaker)
                if cov is not None:
                    f0 = max(0, int(math.floor(float(w.start_s) * self.sr / VAD_FRAME_N)) - self._tol_f)
                    f1 = int(math.ceil(float(w.end_s) * self.sr / VAD_FRAME_N)) + self._tol_f
                    if len(cov) < f1:
                        cov.extend(bytes(f1 - len(cov)))
                    cov[f0:f1] = b"\x01" * (f1 - f0)

    def word(self, w: Any) -> None:
        """A masked word as the pipeline released it (a ``Word`` event)."""
        key = (w.speaker, float(w.start_s), float(w.end_s))
        if self._raw.get(key):
            self._raw[key] -= 1
            if not self._raw[key]:
                del self._raw[key]
        self._last_word_end_s[w.speaker] = max(self._last_word_end_s.get(w.speaker, 0.0), float(w.end_s))
        role = w.speaker if w.speaker in self._act else None
        if _is_masked(w.text):
            s0 = max(0, int(math.floor((w.start_s - self.pad_s) * self.sr)))
            s1 = int(math.ceil((w.end_s + self.pad_s) * self.sr))
            self._add_span(role, s0, s1, what=f"a masked word at {w.start_s:.1f} s")
            if role is not None:  # a security code may follow, in a turn the recogniser garbles
                self._open_window(role, s1)
            self._num_run.pop(w.speaker, None)
        else:
            self._digit_word(w, role)
        self._card_words(w.speaker, w.text.split(), float(w.end_s))
        if not _is_masked(w.text) and self._cvv_n > 0:
            # the transcript's CVV rule: "security code", "CVV", ... (either speaker)
            before = self._kw_ctx.cvv_word_t
            self._kw.setdefault(w.speaker, KeywordTracker()).feed(w.text, float(w.end_s), self._kw_ctx)
            t = self._kw_ctx.cvv_word_t
            if t is not None and t != before:
                role = "customer" if "customer" in self._act else w.speaker
                if role in self._act:
                    self._open_window(role, int(math.floor(t * self.sr)))

    def partial(self, p: Any) -> None:
        """A masked live partial (a ``Partial`` event: uncommitted text of the current
        utterance, in which the pipeline masks any run of 6 or more digits). If it holds
        the mask character, the speaker is reading a long number right now: the audio
        from the end of their last committed word (at most ``_PARTIAL_BACK_S`` back) to
        the partial's ``t_s`` is silenced, grown over their speech like a masked word.
        This also covers numbers the recogniser shows in a partial but never commits
        (its repetition filter drops "one one one one, one one one one ...")."""
        text = getattr(p, "text", "") or ""
        if not text:
            return
        role = p.speaker if p.speaker in self._act else None
        t_n = int(math.ceil(float(p.t_s) * self.sr))
        start_s = max(self._last_word_end_s.get(p.speaker, 0.0), float(p.t_s) - _PARTIAL_BACK_S)
        back_n = max(0, int(math.floor(start_s * self.sr)) - self._pad_n)
        toks = text.split()
        # a card-request phrase in the partial: the committed words may lose it
        recent = list(self._recent.get(p.speaker, []))
        for i in range(len(toks)):
            if card_request(recent[-3:] + toks[: i + 1], self._lex):
                # said in the utterance still open: from the start of its stretch of speech
                start = self._stretch_start(role, t_n) if role is not None else back_n
                self._card_request(p.speaker, max(back_n, start))
                break
        if _is_masked(text):
            why, what = "masked", "a masked partial"
        elif self.digit_run_min and _longest_digit_run(toks, self._lex) >= self.digit_run_min:
            # a partial belongs to the utterance still open: its stretch of speech
            why, what = "digits", "a partial with digits"
            if role is not None:
                back_n = max(back_n, self._stretch_start(role, t_n))
        else:
            return
        self._add_span(role, back_n, t_n, what=f"{what} at {float(p.t_s):.1f} s", why=why)
        if role is not None:
            self._open_window(role, t_n)

    def transcript_lost(self, settled_s: float | None = None) -> int:
        """Transcription stopped: card numbers can no longer be found, so nothing after
        what is already checked is released: audio before ``settled_s`` (None =
        unknown: then only audio older than ``delay_s``). Returns :attr:`cutoff_n`
        (unchanged after the first call)."""
        if self.cutoff_n is not None:
            return self.cutoff_n
        cut = self.n - int(round(self.delay_s * self.sr))
        if settled_s is not None:
            cut = min(cut, int(math.floor(settled_s * self.sr)))
        if self._raw:
            cut = min(cut, int(math.floor((min(k[1] for k in self._raw) - self.pad_s) * self.sr)))
        self.cutoff_n = max(cut, self.released_n)
        return self.cutoff_n

    # ------------------------------------------------------------------ outputs
    @property
    def end_n(self) -> int:
        """The last sample (exclusive) that may ever be released: :attr:`n`, or
        :attr:`cutoff_n` once the transcript was lost."""
        return self.n if self.cutoff_n is None else self.cutoff_n

    def release_limit(self, settled_s: float | None = None) -> int:
        """The sample before which audio is checked now: old enough (``delay_s``), the
        transcriber finished with it (before ``settled_s``, None = unknown), no word
        still held by the card masker, no span or window that may still reach into it.
        Advances the scans of the activity fed so far; may be <= :attr:`released_n`
        (nothing new to release)."""
        limit = self.n - int(round(self.delay_s * self.sr))
        if settled_s is not None:
            limit = min(limit, int(math.floor(settled_s * self.sr)))
        if self._raw:  # room to grow a masked span back over the speech before it
            first = min(k[1] for k in self._raw)
            limit = min(limit, int(math.floor((first - self.pad_s - self.extend_s) * self.sr)))
        if self.cutoff_n is not None:
            limit = min(limit, self.cutoff_n)
        for f in self._scan_uncovered(settled_s):  # speech not judged yet may still be silenced
            limit = min(limit, f * VAD_FRAME_N - self._pad_n)
        self._scan_windows()
        for win in self._windows:  # speech it has not seen yet may still start a span
            limit = min(limit, win.scan_f * VAD_FRAME_N)
        for span in self._spans:
            if span.open:
                self._extend_forward(span)
                if span.open:  # may still grow: write nothing past its current end
                    limit = min(limit, span.s1)
        return limit

    def finish(self) -> None:
        """End of the audio: judge the rest, close every span and window, so that
        :meth:`release` up to :attr:`end_n` applies every mask."""
        self._scan_uncovered(None, final=True)
        for span in self._spans:
            self._extend_forward(span, final=True)
        self._scan_windows(final=True)

    def release(self, to_n: int) -> np.ndarray | None:
        """Hand samples ``[released_n, to_n)`` on as checked: the bool mask (shape
        ``(to_n - released_n,)``) of the samples to silence on every channel, or None
        when nothing is to be silenced anywhere yet. Counts each silenced sample once
        (:attr:`silenced_n`) and forgets spans released entirely."""
        a = self.released_n
        if to_n <= a:
            return None
        got = to_n - a
        mask: np.ndarray | None = None
        if self._spans:
            by_why = {w: np.zeros(got, dtype=bool) for w in WHY}
            for span in self._spans:
                lo, hi = max(span.s0, a), min(span.s1, to_n)
                if hi > lo:
                    by_why[span.why][lo - a : hi - a] = True
            mask = np.zeros(got, dtype=bool)
            for w in WHY:  # each silenced sample counted once, for the strongest rule
                self.silenced_n[w] += int((by_why[w] & ~mask).sum())
                mask |= by_why[w]
            self._spans = [sp for sp in self._spans if sp.open or sp.s1 > to_n]
        self.released_n = to_n
        return mask

    def skip(self, to_n: int) -> None:
        """Hand samples ``[released_n, to_n)`` on unchecked (written as silence, or not
        at all): no mask is applied or counted."""
        self.released_n = max(self.released_n, to_n)

    # ------------------------------------------------------------------ internals
    def _stretch_start(self, role: str, n: int) -> int:
        """First sample (- pad) of ``role``'s stretch of speech at sample ``n`` (or the one
        that ended at most ``join_gap_s`` before it): voice activity joined across pauses
        shorter than ``join_gap_s``, at most ``_PARTIAL_BACK_S`` back."""
        f = min(len(self._act[role]), n // VAD_FRAME_N + 1)
        lo = max(0, f - 1 - int(_PARTIAL_BACK_S * self.sr / VAD_FRAME_N))
        return max(0, self._first_active_f(role, f, lo) * VAD_FRAME_N - self._pad_n)

    def _first_active_f(self, role: str, f0: int, lo: int) -> int:
        """Walking back from frame ``f0`` (exclusive) to ``lo``: the first voice-activity
        frame of the speech joined across pauses shorter than ``join_gap_s``; ``f0`` if
        there is none before the first such pause."""
        act = self._act[role]
        first, run = f0, 0
        for f in range(min(f0, len(act)) - 1, lo - 1, -1):
            if act[f]:
                first, run = f, 0
            else:
                run += 1
                if run >= self._gap_f:
                    break
        return first

    def _digit_word(self, w: Any, role: str | None) -> None:
        """Committed words of one run of digits (number words, digits; fillers, "and",
        "for" inside): once the run says ``digit_run_min`` digits, every word of it is
        silenced like a masked word (the first ones late: their audio is still held, the
        masker held them too)."""
        if not self.digit_run_min:
            return
        n = spoken_digit_count(w.text, self._lex)
        run = self._num_run.get(w.speaker)
        if n is None or (run and float(w.start_s) - run[-1][1] > 2.0):
            self._num_run.pop(w.speaker, None)
            run = None
            if n is None:
                return
        if run is None:
            if n == 0:
                return  # a filler or "for" outside a run
            run = self._num_run.setdefault(w.speaker, [])
        run.append((float(w.start_s), float(w.end_s), n))
        total = sum(k for _, _, k in run)
        if total < self.digit_run_min:
            return
        first = 0 if total - n < self.digit_run_min else len(run) - 1  # the run's words so far, once
        a_s, b_s = run[first][0], run[-1][1]
        s0 = max(0, int(math.floor((a_s - self.pad_s) * self.sr)))
        s1 = int(math.ceil((b_s + self.pad_s) * self.sr))
        self._add_span(role, s0, s1, what=f"a number said at {a_s:.1f} s", why="digits")
        if role is not None:
            self._open_window(role, s1)

    def _card_words(self, speaker: str, toks: list[str], t_s: float) -> None:
        """Committed words of ``speaker``: a card-request phrase opens the card window."""
        recent = self._recent.setdefault(speaker, [])
        for tok in toks:
            recent.append(tok)
            del recent[:-6]
            if card_request(recent, self._lex):
                self._card_request(speaker, int(math.floor(t_s * self.sr)))

    def _card_request(self, speaker: str, n0: int) -> None:
        """Someone asked for (or announced) card data at sample ``n0``: silence the card
        reader's speech (the customer's; the agent's on a call without a customer
        channel) for ``card_window_s``."""
        if self._card_n <= 0:
            return
        role = "customer" if "customer" in self._act else speaker
        if role in self._act:
            self._open_window(role, n0, self._card_n, why="card_window")

    def _open_window(self, role: str, n0: int, length_n: int | None = None, *, why: str = "cvv_window") -> None:
        """Silence ``role``'s speech in ``[n0, n0 + length_n)`` (default ``cvv_window_s``;
        merged with an open window of the same role and kind that it overlaps)."""
        length_n = self._cvv_n if length_n is None else length_n
        if length_n <= 0:
            return
        n0 = max(n0, self.released_n)
        n1 = n0 + length_n
        for win in self._windows:
            if win.role == role and win.why == why and win.n0 <= n0 <= win.n1:
                win.n1 = max(win.n1, n1)
                return
        if why != "cvv_window":
            self.evidence_spans[why] += 1
        self._windows.append(_Window(role, n0, n1, scan_f=n0 // VAD_FRAME_N, why=why))

    def _scan_windows(self, *, final: bool = False) -> None:
        """Start a span at each stretch of speech in a CVV window (activity known so far)."""
        if not self._windows:
            return
        keep: list[_Window] = []
        for win in self._windows:
            act = self._act[win.role]
            end_f = min(len(act), -(-win.n1 // VAD_FRAME_N))
            f = max(win.scan_f, self.released_n // VAD_FRAME_N)
            while f < end_f:
                if act[f] and (win.span is None or f * VAD_FRAME_N >= win.span.s1):
                    s0 = max(self.released_n, f * VAD_FRAME_N - self._pad_n)
                    span = _Span(
                        win.role,
                        s0,
                        (f + 1) * VAD_FRAME_N + self._pad_n,
                        max((f + 1) * VAD_FRAME_N, win.n1),
                        scan_f=f + 1,
                        last_active_f=f,
                        why=win.why,
                    )
                    if win.span is None:
                        self._extend_back(span)
                    self._extend_forward(span, final=final)
                    self._spans.append(span)
                    win.span = span
                f += 1
            win.scan_f = f
            if f * VAD_FRAME_N < win.n1 and not final:
                keep.append(win)
        self._windows = keep

    def _add_span(self, role: str | None, s0: int, s1: int, *, what: str, why: str = "masked") -> None:
        if why == "masked":
            self.masked_spans += 1
        else:
            self.evidence_spans[why] = self.evidence_spans.get(why, 0) + 1
        if s0 < self.released_n:
            self.late_masks += 1
            if self._on_warning is not None:
                self._on_warning(
                    "late",
                    f"audio recording: {what} came back after its audio was written; that stretch of the FLAC is not masked",
                )
        span = _Span(role, max(s0, self.released_n), max(s1, self.released_n), s1, scan_f=-(-s1 // VAD_FRAME_N), why=why)
        if role is None or self._extend_f == 0:
            span.open = False
        else:
            self._extend_back(span)
            self._extend_forward(span)
        if span.open or span.s1 > self.released_n:
            self._spans.append(span)

    def _scan_uncovered(self, settled_s: float | None, *, final: bool = False) -> list[int]:
        """Find stretches of each speaker's voice activity that no committed word covers
        (within ``cover_tol_s``) for ``uncovered_s`` of activity (pauses shorter than
        ``join_gap_s`` inside), up to where the transcript is settled (``settled_s`` -
        ``cover_tol_s``; unknown: ``delay_s`` / 2 behind the audio; ``final``: all), and
        silence each like a masked word. Returns, per speaker, the first frame that
        is not judged yet (audio from there on may still be silenced)."""
        if self._uncov_f <= 0:
            return []
        if final:
            judge_n = self.n
        elif settled_s is not None:
            judge_n = min(self.n, int(math.floor((settled_s - self.cover_tol_s) * self.sr)))
        else:
            judge_n = self.n - int(round(self.delay_s / 2 * self.sr))
        pending: list[int] = []
        for role in self.roles:
            act, cov = self._act[role], self._cov[role]
            end_f = min(len(act), max(0, judge_n) // VAD_FRAME_N)
            f = self._ucov_f[role]
            run = self._urun[role]
            while f < end_f:
                if act[f] and not (f < len(cov) and cov[f]):
                    if run is None:
                        run = [f, f, 0, 0]
                    run[1], run[2], run[3] = f, run[2] + 1, 0
                    if run[2] >= self._uncov_f:  # long enough: silence it, and what follows
                        self._uncovered_run(role, run)
                        run[0] = f + 1
                elif run is not None:
                    run[3] += 1
                    if act[f] or run[3] >= self._gap_f:  # covered speech or a pause ends it
                        run = None
                f += 1
            self._ucov_f[role] = f
            if run is not None and final:
                run = None
            self._urun[role] = run
            # a run too short so far may still grow to uncovered_s: hold its audio
            pending.append(run[0] if run is not None and run[2] < self._uncov_f else f)
        return pending

    def _uncovered_run(self, role: str, run: list[int]) -> None:
        """Silence the uncovered speech ``run`` = [first frame not yet silenced, last
        frame, active frames, pause frames]: the first time grown over the speaker's
        stretch of speech like a masked word (and a CVV window after it), later frames of
        the same run extend that span."""
        s0 = max(0, run[0] * VAD_FRAME_N - self._pad_n)
        s1 = (run[1] + 1) * VAD_FRAME_N + self._pad_n
        span = self._uspan.get(role)
        if span is not None and span.s0 <= s0 <= span.s1 and any(sp is span for sp in self._spans):
            span.s1 = max(span.s1, s1)
            return
        self._add_span(role, s0, s1, what=f"untranscribed speech at {run[0] * VAD_FRAME_N / self.sr:.1f} s", why="untranscribed")
        self._uspan[role] = self._spans[-1] if self._spans and self._spans[-1].why == "untranscribed" else None
        self._open_window(role, s1)

    def _extend_back(self, span: _Span) -> None:
        """Grow ``span`` back over its speaker's speech (pauses < join_gap_s), at most
        extend_s, never into audio already released."""
        assert span.role is not None
        f0 = span.s0 // VAD_FRAME_N
        lo = max(0, f0 - self._extend_f, self.released_n // VAD_FRAME_N)
        first_active = self._first_active_f(span.role, f0, lo)
        if first_active < f0:
            span.s0 = max(self.released_n, first_active * VAD_FRAME_N - self._pad_n)

    def _extend_forward(self, span: _Span, *, final: bool = False) -> None:
        """Grow an open ``span`` forward over the activity frames known so far; close it
        at a pause of join_gap_s, after extend_s, or (``final``) at the end of the audio."""
        if not span.open:
            return
        assert span.role is not None  # a span without a role is closed when made
        act = self._act[span.role]
        cap_f = -(-span.word_end_n // VAD_FRAME_N) + self._extend_f
        f = span.scan_f
        end_f = min(len(act), cap_f)
        while f < end_f:
            if act[f]:
                span.last_active_f, span.run_f = f, 0
            else:
                span.run_f += 1
                if span.run_f >= self._gap_f:
                    span.open = False
                    f += 1
                    break
            f += 1
        span.scan_f = f
        if span.last_active_f >= 0:
            span.s1 = max(span.s1, (span.last_active_f + 1) * VAD_FRAME_N + self._pad_n)
        if span.open and (f >= cap_f or final):
            span.open = False
            if f >= cap_f:
                span.s1 = max(span.s1, cap_f * VAD_FRAME_N)

    def _vad_feed(self, role: str, x16: np.ndarray) -> None:
        """Voice activity of ``role`` per 20 ms frame (for growing masked spans)."""
        x = np.concatenate([self._vad_carry[role], x16.astype(np.float32) / 32768.0])
        k = len(x) // VAD_FRAME_N
        self._vad_carry[role] = x[k * VAD_FRAME_N :]
        if k == 0:
            return
        frames = x[: k * VAD_FRAME_N].reshape(k, VAD_FRAME_N)
        energy_db = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
        vad = self._vads[role]
        self._act[role].extend(1 if vad.update(float(e))[0] else 0 for e in energy_db)


def _longest_digit_run(toks: Iterable[str], lex: Lexicon | str | None = None) -> int:
    """Most digits said in one run of number words / digits in ``toks``, number words
    of ``lex`` (see :func:`calmcall.text.masking.spoken_digit_count`; None: English)."""
    best = cur = 0
    for t in toks:
        n = spoken_digit_count(t, lex)
        if n is None:
            cur = 0
        else:
            cur += n
            best = max(best, cur)
    return best


def _is_masked(text: str) -> bool:
    return MASK in text
