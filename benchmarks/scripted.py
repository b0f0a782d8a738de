"""Scripted two-party calls with ground truth, rendered with espeak-ng.

A call is a list of :class:`Turn` objects. :func:`render_call` synthesises every
turn with ``espeak-ng``, trims the synthesiser's edge silence, resamples to the
call's rate, places the speech at ``start_s`` on its speaker's channel (agent on
channel 0, customer on channel 1) and writes a stereo PCM16 WAV plus a
``.truth.json`` file next to it that says where every turn and every violation
really is. Nothing here imports calmcall: the renderer is the ground truth the
product is measured against.

Rendering is reproducible: espeak-ng 1.51 gives bit-identical output for the same
voice, rate, pitch, amplitude and text, resampling is a fixed polyphase filter,
and the optional background noise comes from a seeded generator.

Voices (``espeak-ng --voices=en``, espeak-ng 1.51)
    agent     ``en-us``          American English, male, median F0 ~94 Hz at ``-p 40``
    customer  ``en-gb-x-rp+f3``  British RP with the female variant f3, ~195 Hz at ``-p 40``
    ``en-gb+f3`` silently ignores the ``+f3`` variant in 1.51 (it renders the male
    en-gb voice, byte for byte), so the customer uses ``en-gb-x-rp+f3``.

What was measured (espeak-ng 1.51; levels = active-speech RMS, F0 = median librosa.yin)
    Amplitude ``-a`` is not a clean dB scale: one 19-word sentence measured
    -27.0 dBFS at ``-a 50``, -20.8 at 100, -17.3 at 150, -15.2 at 200, -13.3 at
    300, and from ``-a 150`` up the peaks sit at full scale (``-a 250`` clips).
    So turns are rendered at ``-a 100`` and the level is set by scaling samples:
    every turn gets :data:`BASE_GAIN_DB` (-11 dB; calm agent turns then measure
    -31.3 to -32.3 dBFS, peaks <= 0.25) plus its own ``gain_db``. A "volume"
    violation uses ``gain_db=+10`` and measures +10 dB over the calm agent turns
    (-21.7 dBFS, peak 0.69). Gain and measured level of every turn are in the truth.
    Pitch ``-p``: ``en-us`` calm agent turns 88-92 Hz at ``-p 40``; a
    ``-p 85`` turn 146 Hz (+8.4 semitones), and ~2 dB louder as a side effect
    (espeak ``-p 80`` on one sentence: 94 -> 139 Hz, +6.8 st). Customer
    (``en-gb-x-rp+f3``) calm turns 183-201 Hz; escalated (``-p 80``, +10 dB,
    210 wpm) 282 Hz (+7 st) at -19.3 dBFS.
    Rate: espeak's ``-s`` is not the rate you get. Words per minute over the
    trimmed speech came out ~1.27x ``-s`` (``-s 150`` gave 184-240 wpm depending
    on the words), so ``Turn.wpm`` is the *measured* target and the renderer
    searches ``-s`` until the turn's words/minute is within 2 % (the ``-s`` used
    is in the truth as ``espeak_speed``). Calm turns: 145-155 wpm; the "pace"
    turn: 240 wpm (``-s`` ~190), whose F0 also rises ~1.6 st (99 vs 90 Hz).
    Because the rate is matched over the whole turn, a line with more internal
    pauses (commas, full stops) is articulated a little faster than one without;
    the ``-s`` used for calm lines spans ~103-155. calmcall's syllable-nuclei
    rate counter read one calm line ("I understand, and I am sorry ...") at
    5.5 syl/s against a 3.4 syl/s baseline (a false "pace" prompt): the text's
    real rate there is ~3.2 syllables/s.
    ASR check: faster-whisper tiny.en transcribes the rendered turns nearly
    word for word (a few slips such as "bill" -> "meal").

Public API
    Turn, render_call, synthesize, Script, scenario, SCENARIOS,
    sample_call_turns, to_telephone, active_level_dbfs
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

Speaker = Literal["agent", "customer"]

AGENT_VOICE = "en-us"
CUSTOMER_VOICE = "en-gb-x-rp+f3"
DEFAULT_VOICES: dict[str, str] = {"agent": AGENT_VOICE, "customer": CUSTOMER_VOICE}

#: Gain applied to every rendered turn before its own ``gain_db`` (dB).
BASE_GAIN_DB = -11.0
#: espeak-ng's output rate.
ESPEAK_RATE_HZ = 22050

AGENT_LABELS = ("calm", "pace", "pitch", "volume", "overtalk")
CUSTOMER_LABELS = ("calm", "escalated")
CHANNEL = {"agent": 0, "customer": 1}


@dataclass(frozen=True)
class Turn:
    """One stretch of speech by one party.

    ``start_s`` is where the speech itself begins (the synthesiser's edge
    silence is trimmed). ``wpm`` is the speaking rate the rendered turn really
    has: words of ``text`` per minute over the trimmed speech, within ~2 % (the
    renderer picks espeak's ``-s`` for it, about ``wpm / 1.27``). ``pitch`` and
    ``amplitude`` go to espeak-ng as ``-p`` (0-99) and ``-a``; ``gain_db`` scales the rendered samples
    (on top of :data:`BASE_GAIN_DB`). ``voice=None`` means the speaker's default
    voice. ``label`` is the ground-truth class: "calm", or for the agent
    "pace" | "pitch" | "volume" | "overtalk", for the customer "escalated".
    """

    speaker: Speaker
    start_s: float
    text: str
    wpm: int = 150
    pitch: int = 40
    amplitude: int = 100
    voice: str | None = None
    label: str = "calm"
    gain_db: float = 0.0

    @property
    def voice_name(self) -> str:
        return self.voice or DEFAULT_VOICES[self.speaker]

    def validate(self) -> None:
        if self.speaker not in CHANNEL:
            raise ValueError(f"speaker must be 'agent' or 'customer', got {self.speaker!r}")
        allowed = AGENT_LABELS if self.speaker == "agent" else CUSTOMER_LABELS
        if self.label not in allowed:
            raise ValueError(f"label {self.label!r} is not valid for a {self.speaker} turn; use one of {allowed}")
        if self.start_s < 0:
            raise ValueError(f"start_s must be >= 0, got {self.start_s}")
        if not self.text.strip():
            raise ValueError("text must not be empty")
        if not 0 <= self.pitch <= 99:
            raise ValueError(f"pitch must be 0..99 (espeak -p), got {self.pitch}")
        if not 90 <= self.wpm <= 500:
            raise ValueError(f"wpm must be 90..500 words per minute, got {self.wpm}")


# --------------------------------------------------------------------------- synthesis


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng not found: install it (apt-get install espeak-ng)")
    return exe


@lru_cache(maxsize=512)
def _synth_cached(voice: str, wpm: int, pitch: int, amplitude: int, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="calmcall-espeak-") as tmp:
        wav = Path(tmp) / "turn.wav"
        subprocess.run(
            [_espeak(), "-v", voice, "-s", str(wpm), "-p", str(pitch), "-a", str(amplitude), "-w", str(wav), "--stdin"],
            input=text.encode("utf-8"),
            check=True,
            capture_output=True,
        )
        x, sr = sf.read(wav, dtype="float64", always_2d=False)
    if sr != ESPEAK_RATE_HZ:
        raise RuntimeError(f"espeak-ng wrote {sr} Hz, expected {ESPEAK_RATE_HZ}")
    if x.ndim > 1:
        x = x[:, 0]
    # Trim edge silence so that start_s / end_s are where speech really is.
    thr = 0.01 * float(np.max(np.abs(x))) if x.size else 0.0
    idx = np.nonzero(np.abs(x) > thr)[0]
    if idx.size == 0:
        raise RuntimeError(f"espeak-ng produced silence for {text!r}")
    x = x[idx[0] : idx[-1] + 1].copy()
    x.setflags(write=False)
    return x


#: Measured words per minute over trimmed speech is about this many times espeak's -s.
_ESPEAK_RATE_FACTOR = 1.27
_ESPEAK_SPEED_RANGE = (80, 450)


def _measured_wpm(x: np.ndarray, text: str) -> float:
    return len(text.split()) / (len(x) / ESPEAK_RATE_HZ) * 60


@lru_cache(maxsize=512)
def _synth_at_rate(voice: str, wpm: int, pitch: int, amplitude: int, text: str) -> tuple[np.ndarray, int]:
    """Render ``text`` so that its words per minute over the trimmed speech come
    within ~2 % of ``wpm``: espeak's ``-s`` is adjusted (a few secant steps)."""
    lo, hi = _ESPEAK_SPEED_RANGE
    speed = int(min(hi, max(lo, round(wpm / _ESPEAK_RATE_FACTOR))))
    best: tuple[float, np.ndarray, int] | None = None
    for _ in range(4):
        x = _synth_cached(voice, speed, pitch, amplitude, text)
        m = _measured_wpm(x, text)
        err = abs(m / wpm - 1)
        if best is None or err < best[0]:
            best = (err, x, speed)
        if err <= 0.02:
            break
        nxt = int(min(hi, max(lo, round(speed * wpm / m))))
        if nxt == speed:
            break
        speed = nxt
    assert best is not None
    return best[1], best[2]


def synthesize(turn: Turn, *, sample_rate_hz: int = 16000) -> np.ndarray:
    """Render one turn to mono float64 samples at ``sample_rate_hz``, gain applied.

    Returns shape ``(n,)``; speech starts at sample 0 and ends at the last sample.
    """
    turn.validate()
    x, _ = _synth_at_rate(turn.voice_name, int(turn.wpm), int(turn.pitch), int(turn.amplitude), turn.text)
    if sample_rate_hz != ESPEAK_RATE_HZ:
        g = math.gcd(int(sample_rate_hz), ESPEAK_RATE_HZ)
        x = resample_poly(x, sample_rate_hz // g, ESPEAK_RATE_HZ // g)
    return x * 10 ** ((BASE_GAIN_DB + turn.gain_db) / 20)


def speech_duration_s(turn: Turn, *, sample_rate_hz: int = 16000) -> float:
    """Length of the turn's rendered speech in seconds."""
    return len(synthesize(turn, sample_rate_hz=sample_rate_hz)) / sample_rate_hz


def active_level_dbfs(x: np.ndarray, sample_rate_hz: int, *, floor_db: float = 30.0) -> float:
    """RMS level (dBFS, full-scale sine = -3 dBFS) over the 20 ms frames whose
    energy is within ``floor_db`` of the loudest frame. A simple stand-in for an
    active-speech level; ``nan`` for silence."""
    frame = max(1, int(0.02 * sample_rate_hz))
    n = len(x) // frame
    if n == 0:
        return float("nan")
    fr = np.asarray(x[: n * frame], dtype=np.float64).reshape(n, frame)
    ms = np.mean(fr**2, axis=1)
    if ms.max() <= 0:
        return float("nan")
    act = ms >= ms.max() * 10 ** (-floor_db / 10)
    return float(10 * np.log10(np.mean(ms[act])))


# --------------------------------------------------------------------------- rendering


def _r(t: float) -> float:
    return round(float(t), 3)


def render_call(
    turns: Sequence[Turn],
    out_path: str | Path,
    *,
    duration_s: float | None = None,
    sample_rate_hz: int = 16000,
    noise_db: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Render ``turns`` to a stereo PCM16 WAV at ``out_path`` and return its ground truth.

    Channel 0 is the agent, channel 1 the customer. ``duration_s=None`` ends the
    call 1.0 s after the last speech. ``noise_db`` adds independent white noise
    of that RMS level (dBFS) to each channel, from ``numpy.random.default_rng(seed)``.

    The truth dict (also written to ``out_path.with_suffix(".truth.json")``)::

        {"duration_s", "sample_rate_hz", "channels": {"agent": 0, "customer": 1},
         "noise_db", "turns": [{"speaker", "start_s", "end_s", "text", "wpm", "pitch",
         "amplitude", "voice", "label", "gain_db", "level_dbfs", "words",
         "speech_wpm", "espeak_speed"}],
         "violations": [{"kind", "start_s", "end_s", "speaker"}],
         "calm_agent_spans": [[start_s, end_s], ...]}

    ``end_s`` is the end of the rendered speech. ``gain_db`` is the total gain
    applied to espeak's output (``BASE_GAIN_DB`` + the turn's own). Violations:
    each agent turn labelled pace/pitch/volume/overtalk (kind = label) spans the
    turn, except "overtalk", which spans from the agent's start to the end of the
    overlap with the customer turn it cuts into; each customer turn labelled
    "escalated" gives kind "customer_escalation" over the turn.

    Raises ``ValueError`` when the script contradicts its own truth: two turns of
    one speaker overlap, an "overtalk" turn does not start inside customer speech,
    or any other agent turn does start inside customer speech (label it
    "overtalk"), or the gains would clip.
    """
    out_path = Path(out_path)
    if not turns:
        raise ValueError("turns must not be empty")
    if sample_rate_hz <= 0:
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")

    rendered: list[tuple[Turn, np.ndarray, int]] = []
    for t in turns:
        x = synthesize(t, sample_rate_hz=sample_rate_hz)
        rendered.append((t, x, int(round(t.start_s * sample_rate_hz))))

    spans = [(t, s / sample_rate_hz, (s + len(x)) / sample_rate_hz) for t, x, s in rendered]
    last_end = max(e for _, _, e in spans)
    if duration_s is None:
        duration_s = math.ceil((last_end + 1.0) * 10) / 10
    elif duration_s < last_end:
        raise ValueError(f"duration_s={duration_s} cuts off speech that ends at {last_end:.3f} s")
    n_total = int(round(duration_s * sample_rate_hz))

    # Same-speaker overlaps make the truth ambiguous.
    for spk in CHANNEL:
        own = sorted((a, b) for t, a, b in spans if t.speaker == spk)
        for (_a0, b0), (a1, _b1) in itertools.pairwise(own):
            if a1 < b0:
                raise ValueError(f"two {spk} turns overlap at {a1:.3f} s (previous ends {b0:.3f} s)")

    customer_spans = [(a, b) for t, a, b in spans if t.speaker == "customer"]

    def inside_customer(t0: float) -> tuple[float, float] | None:
        for a, b in customer_spans:
            if a <= t0 < b:
                return a, b
        return None

    audio = np.zeros((n_total, 2), dtype=np.float64)
    truth_turns: list[dict[str, Any]] = []
    violations: list[dict[str, Any]] = []
    calm_agent: list[list[float]] = []
    for (t, x, s), (_, a, b) in zip(rendered, spans):
        audio[s : s + len(x), CHANNEL[t.speaker]] += x
        words = len(t.text.split())
        truth_turns.append(
            {
                "speaker": t.speaker,
                "start_s": _r(a),
                "end_s": _r(b),
                "text": t.text,
                "wpm": t.wpm,
                "pitch": t.pitch,
                "amplitude": t.amplitude,
                "voice": t.voice_name,
                "label": t.label,
                "gain_db": round(BASE_GAIN_DB + t.gain_db, 2),
                "level_dbfs": round(active_level_dbfs(x, sample_rate_hz), 2),
                "words": words,
                "speech_wpm": round(words / (b - a) * 60, 1),
                "espeak_speed": _synth_at_rate(t.voice_name, int(t.wpm), int(t.pitch), int(t.amplitude), t.text)[1],
            }
        )
        if t.speaker == "agent":
            cut = inside_customer(a)
            if t.label == "overtalk":
                if cut is None:
                    raise ValueError(f"overtalk turn at {a:.3f} s does not start inside a customer turn")
                violations.append({"kind": "overtalk", "start_s": _r(a), "end_s": _r(min(b, cut[1])), "speaker": "agent"})
            else:
                if cut is not None:
                    raise ValueError(
                        f"agent turn at {a:.3f} s starts inside customer speech "
                        f"({cut[0]:.3f}-{cut[1]:.3f} s): label it 'overtalk' or move it"
                    )
                if t.label == "calm":
                    calm_agent.append([_r(a), _r(b)])
                else:
                    violations.append({"kind": t.label, "start_s": _r(a), "end_s": _r(b), "speaker": "agent"})
        elif t.label == "escalated":
            violations.append({"kind": "customer_escalation", "start_s": _r(a), "end_s": _r(b), "speaker": "customer"})

    if noise_db is not None:
        rng = np.random.default_rng(seed)
        audio += rng.standard_normal(audio.shape) * 10 ** (noise_db / 20)
    peak = float(np.max(np.abs(audio)))
    if peak >= 1.0:
        raise ValueError(f"the mix clips (peak {peak:.2f}); lower gain_db or noise_db")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out_path, audio, sample_rate_hz, subtype="PCM_16")
    violations.sort(key=lambda v: v["start_s"])
    truth: dict[str, Any] = {
        "duration_s": _r(n_total / sample_rate_hz),
        "sample_rate_hz": int(sample_rate_hz),
        "channels": dict(CHANNEL),
        "noise_db": noise_db,
        "turns": truth_turns,
        "violations": violations,
        "calm_agent_spans": calm_agent,
    }
    out_path.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def to_telephone(wav_path: str | Path, out_path: str | Path) -> Path:
    """Convert a rendered call to 8 kHz mu-law (both channels kept) with sox."""
    exe = shutil.which("sox")
    if exe is None:
        raise RuntimeError("sox not found: install it (apt-get install sox)")
    out_path = Path(out_path)
    subprocess.run([exe, str(wav_path), "-r", "8000", "-e", "mu-law", "-b", "8", str(out_path)], check=True, capture_output=True)
    return out_path


# --------------------------------------------------------------------------- scripting


@dataclass
class Script:
    """Lays turns out one after another using their real rendered lengths.

    ``say()`` starts a turn a short gap after the end of all speech so far
    (gaps cycle through ``gaps_s``), or ``overlap_s`` seconds *before* that end
    (the new talker cuts in while the previous one still talks).
    """

    start_s: float = 0.5
    gaps_s: tuple[float, ...] = (0.6, 0.5, 0.7, 0.45, 0.8, 0.55, 0.65, 0.4, 0.75)
    sample_rate_hz: int = 16000
    turns: list[Turn] = field(default_factory=list)
    _end_s: float = 0.0
    _n_gaps: int = 0

    def say(
        self,
        speaker: Speaker,
        text: str,
        *,
        gap_s: float | None = None,
        overlap_s: float | None = None,
        at_s: float | None = None,
        **kw: Any,
    ) -> Turn:
        if at_s is not None:
            start = at_s
        elif not self.turns:
            start = self.start_s
        elif overlap_s is not None:
            start = self._end_s - overlap_s
        else:
            if gap_s is None:
                gap_s = self.gaps_s[self._n_gaps % len(self.gaps_s)]
                self._n_gaps += 1
            start = self._end_s + gap_s
        turn = Turn(speaker=speaker, start_s=round(start, 3), text=text, **kw)
        end = turn.start_s + speech_duration_s(turn, sample_rate_hz=self.sample_rate_hz)
        self.turns.append(turn)
        self._end_s = max(self._end_s, end)
        return turn

    def end_of(self, turn: Turn) -> float:
        return turn.start_s + speech_duration_s(turn, sample_rate_hz=self.sample_rate_hz)

    @property
    def end_s(self) -> float:
        """End of all speech so far (s)."""
        return self._end_s


# Plausible call-centre lines, written for this project.
AGENT_CALM = [
    "Thank you for calling, my name is Sam. Let me pull up your account for you.",
    "I can see the charge you mean. Let me check where it came from.",
    "Could you confirm the last four digits of the card on file, please?",
    "I understand, and I am sorry it has taken this long. Let me look into it right now.",
    "Thank you. I have found the order, and I can see it was sent twice.",
    "I will refund the second payment today, and you should see it in three to five days.",
    "Is there anything else on the account I can help you with while I have it open?",
    "I have added a note so that nobody charges you for this again.",
    "You will also get an email with a reference number for this call.",
    "Thank you for your patience today. Have a good afternoon.",
]
CUSTOMER_CALM = [
    "Hi, I am calling about a charge on my last bill.",
    "It is the one from the fourteenth, for eighty dollars.",
    "Sure, it ends in four two seven one.",
    "Okay, that sounds fine, thank you.",
    "No, I think that was everything.",
    "Right, I did not expect that at all.",
    "Okay. How long will that take?",
    "Great, thanks for sorting it out.",
]
CUSTOMER_ESCALATED = (
    "This is the third time I have called about this! Nobody ever fixes anything, "
    "and I am sick of being passed around from one person to the next!"
)
AGENT_PACE = (
    "Okay so what I am going to do right now is open a ticket, escalate it to billing, "
    "reverse the charge, and send you a confirmation by email straight away."
)
AGENT_PITCH = (
    "I really do understand how frustrating this is, and I promise you that I am doing everything I can to fix it today."
)
AGENT_VOLUME = (
    "Please let me finish explaining, because the refund has already been approved and it will reach your account this week."
)
AGENT_OVERTALK = "Sir, I need you to listen to me for a moment, please."
CUSTOMER_LONG = (
    "Well the problem is that I was charged twice last month, and then again this month, "
    "and I never even ordered the second box in the first place."
)
AGENT_INTERRUPTED = (
    "So the first charge is the subscription, and the second one looks like a separate "
    "order that was placed on the same day from the website."
)
CUSTOMER_INTERJECTION = "Wait, that was not me."

#: Calm speaking rates cycle through these (words per minute), a mild natural spread.
CALM_WPM = (150, 145, 155)
# Prosody of violation turns (see the module docstring for what they measure).
PACE_WPM = 240
PITCH_HIGH = 85
VOLUME_GAIN_DB = 10.0
ESCALATED: dict[str, Any] = {"wpm": 210, "pitch": 80, "gain_db": 10.0}


class _Calm:
    """Hands out calm agent / customer lines in order, with the calm rate cycle."""

    def __init__(self, s: Script, agent_from: int = 0, customer_from: int = 0) -> None:
        self.s, self.a, self.c = s, agent_from, customer_from

    def agent(self, **kw: Any) -> Turn:
        t = self.s.say("agent", AGENT_CALM[self.a % len(AGENT_CALM)], wpm=CALM_WPM[self.a % len(CALM_WPM)], **kw)
        self.a += 1
        return t

    def customer(self, **kw: Any) -> Turn:
        t = self.s.say("customer", CUSTOMER_CALM[self.c % len(CUSTOMER_CALM)], wpm=CALM_WPM[(self.c + 1) % len(CALM_WPM)], **kw)
        self.c += 1
        return t

    def pairs(self, n: int) -> None:
        for _ in range(n):
            self.agent()
            self.customer()


def _opening() -> tuple[Script, _Calm]:
    """~22.5 s: agent, customer, agent, customer (about 12 s of agent speech)."""
    s = Script()
    calm = _Calm(s)
    calm.pairs(2)
    return s, calm


def _calm_only() -> list[Turn]:
    s, calm = _opening()
    while s.end_s < 58.0:
        calm.pairs(1)
    return s.turns


def _single_agent_violation(label: str, text: str, **kw: Any) -> list[Turn]:
    s, calm = _opening()
    calm.pairs(1)  # calm until ~30 s
    s.say("agent", text, label=label, **kw)
    calm.customer()
    calm.pairs(2)
    return s.turns


def _overtalk() -> list[Turn]:
    s, calm = _opening()
    calm.agent()
    s.say("customer", CUSTOMER_LONG)
    # The agent cuts in 3 s before the customer's end; the customer talks on for 3 s.
    s.say("agent", AGENT_OVERTALK, overlap_s=3.0, label="overtalk")
    calm.customer()
    calm.pairs(2)
    return s.turns


def _customer_interrupts() -> list[Turn]:
    s, calm = _opening()
    agent = s.say("agent", AGENT_INTERRUPTED)
    # The customer cuts in 2.5 s before the agent's end; the agent talks on. Not agent overtalk.
    s.say("customer", CUSTOMER_INTERJECTION, at_s=round(s.end_of(agent) - 2.5, 3))
    calm.agent()
    calm.customer()
    calm.pairs(1)
    return s.turns


def _customer_escalation() -> list[Turn]:
    s, calm = _opening()
    calm.agent()
    s.say("customer", CUSTOMER_ESCALATED, label="escalated", **ESCALATED)
    calm.pairs(2)
    return s.turns


SCENARIOS = ("calm_only", "pace", "pitch", "volume", "overtalk", "customer_interrupts", "customer_escalation")


def scenario(name: str) -> list[Turn]:
    """Turns of a named test scenario (see :data:`SCENARIOS`).

    Every single-violation scenario opens with calm alternating turns (~29-33 s,
    with 16-18 s of agent speech before the violation), then the one violation
    (>= 5 s of speech), then calm turns again. "calm_only" is ~60 s of calm
    alternating turns. "customer_interrupts": the customer starts talking 2.5 s
    before the end of a long agent turn (the agent's turn is calm, no violation).
    """
    if name == "calm_only":
        return _calm_only()
    if name == "pace":
        return _single_agent_violation("pace", AGENT_PACE, wpm=PACE_WPM)
    if name == "pitch":
        return _single_agent_violation("pitch", AGENT_PITCH, pitch=PITCH_HIGH)
    if name == "volume":
        return _single_agent_violation("volume", AGENT_VOLUME, gain_db=VOLUME_GAIN_DB)
    if name == "overtalk":
        return _overtalk()
    if name == "customer_interrupts":
        return _customer_interrupts()
    if name == "customer_escalation":
        return _customer_escalation()
    raise ValueError(f"unknown scenario {name!r}; choose one of {SCENARIOS}")


# --------------------------------------------------------------------------- the sample call

SAMPLE_ESCALATION = (
    "Have a look? I have called three times about this already! Every single time somebody "
    "promises to fix it, and every single time I get charged again! I have had enough of this, "
    "and I want it sorted out today, not next week!"
)
SAMPLE_OVERTALK = "Sir, I hear you, and I am sorry. Please just let me explain what happened."
#: The agent cuts into the escalated rant this long after its onset (s). The coach's
#: high-severity break-through needs a gap after the escalation prompt (6 s in
#: calmcall's default config, and that prompt comes ~3.6 s after the onset).
SAMPLE_OVERTALK_AFTER_ESCALATION_S = 10.0
SAMPLE_LINES: dict[str, str] = {
    "a_open": "Thank you for calling, this is Sam. How can I help you today?",
    "c_open": "Hi, I was charged twice on my last bill this month.",
    "a_look": "I am sorry to hear that. Let me pull up your account.",
    "c_after_overtalk": "Fine. Go on then.",
    "a_calm_1": "The second charge was a separate order.",
    "a_pace": (
        "Right so I will cancel that order now, refund the charge, block the card for "
        "online orders, and send you an email that confirms all of it today."
    ),
    "c_2": "Okay. When do I get the money back?",
    "a_calm_2": "It usually takes three to five working days to reach your account.",
    "c_3": "That is far too slow, I need the money back this week.",
    "a_volume": ("I have already marked it as urgent, so it should reach your account well before the weekend."),
    "c_4": "Alright, I suppose that will have to do.",
    "a_calm_3": "I have also added a note to your account, so that this does not happen again.",
    "c_5": "Thanks. So is that all sorted out, then?",
    "a_pitch": "Yes, that is everything, and I am really very sorry about the trouble.",
}


def sample_call_turns() -> list[Turn]:
    """The bundled sample call (``samples/sample_call.wav``, 88.6 s).

    Calm opening (agent, customer, agent; ~16 s, 10 s of agent speech), then,
    22 s apart: the customer escalates (loud +10 dB, high -p 80, fast 210 wpm);
    agent pace 240 wpm; agent +10 dB; agent pitch -p 85. 10 s into the customer's
    12 s rant the agent talks over them (the customer goes on for ~2 s). Calm
    turns in between. The overtalk comes right after the escalation onset because
    five violations 22 s apart do not fit in 90 s (overtalk prompts are high
    severity and may break through the coach's rate limit).
    """
    s = Script(start_s=0.4)
    L = SAMPLE_LINES
    s.say("agent", L["a_open"])
    s.say("customer", L["c_open"], wpm=155)
    s.say("agent", L["a_look"], wpm=145)
    esc = s.say("customer", SAMPLE_ESCALATION, label="escalated", gap_s=0.5, **ESCALATED)
    t_esc = esc.start_s
    s.say("agent", SAMPLE_OVERTALK, label="overtalk", at_s=round(t_esc + SAMPLE_OVERTALK_AFTER_ESCALATION_S, 3))
    s.say("customer", L["c_after_overtalk"], gap_s=0.5)
    s.say("agent", L["a_calm_1"], gap_s=0.45)
    s.say("agent", L["a_pace"], wpm=PACE_WPM, label="pace", at_s=round(t_esc + 22.0, 3))
    s.say("customer", L["c_2"], gap_s=0.5)
    s.say("agent", L["a_calm_2"], wpm=145, gap_s=0.45)
    s.say("customer", L["c_3"], gap_s=0.4)
    s.say("agent", L["a_volume"], gain_db=VOLUME_GAIN_DB, label="volume", at_s=round(t_esc + 44.0, 3))
    s.say("customer", L["c_4"], gap_s=0.6)
    s.say("agent", L["a_calm_3"], wpm=155, gap_s=0.6)
    s.say("customer", L["c_5"], gap_s=0.7)
    s.say("agent", L["a_pitch"], pitch=PITCH_HIGH, label="pitch", at_s=round(t_esc + 66.0, 3))
    return s.turns


__all__ = [
    "AGENT_VOICE",
    "BASE_GAIN_DB",
    "CUSTOMER_VOICE",
    "DEFAULT_VOICES",
    "ESPEAK_RATE_HZ",
    "SCENARIOS",
    "Script",
    "Turn",
    "active_level_dbfs",
    "render_call",
    "sample_call_turns",
    "scenario",
    "speech_duration_s",
    "synthesize",
    "to_telephone",
]
