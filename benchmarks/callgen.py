"""Randomized scripted calls with ground truth: many voices, texts, conditions.

``calls(split, n)`` lays out ``n`` two-party calls from fixed seeds and
``render(spec)`` synthesises one with espeak-ng, passes each side through a
channel condition and writes a stereo 16 kHz WAV (agent channel 0, customer 1)
plus its truth. Nothing here imports calmcall: the generator is the ground truth
the product is measured against (:mod:`bench_cues` scores it).

Splits (disjoint seeds, voices AND texts)
    ``dev``   seeds 1000+i, dev voices, dev phrase bank: for looking at and tuning;
    ``held``  seeds 5000+i, held-out voices, held-out phrase bank: report these.

A call (~40-90 s, ~60 s on average) opens with four calm exchanges (the agent's 10 s baseline),
then random segments until its length: calm exchanges (some with the agent
answering 0.05-0.25 s after the caller stops), agent violations (pace 1.5-1.8x
the agent's calm wpm; pitch +30..+45 espeak units, about +5..+8 semitones;
volume +9..+12 dB; 1-3 per call, of distinct kinds), two violations close together (3-8 s apart), the agent
talking over a long caller turn, the caller interrupting the agent, agent and
caller backchannels inside the other's turn (0.3-0.6 s), an angry caller
(+8..+11 dB, +25..+40 pitch units, 1.35-1.5x wpm) answered calmly. A quarter of
the calls have no agent violation at all (half of those with an angry caller).

Conditions (round-robin over seeds)
    ``clean``        wideband, -70 dBFS noise floor;
    ``phone``        the telephone channel (G.711 mu-law, 300-3400 Hz, comfort noise);
    ``phone_noise``  telephone plus pink noise at 12-20 dB SNR on both sides;
    ``phone_echo``   telephone plus the caller's voice on the agent channel at
                     -30..-20 dB, 30-60 ms late (headset echo / bleed).
The telephone channel is ``benchmarks/telephone.py``'s ``telephone_channel`` (gated
comfort noise at -60 dBFS between words; its pink noise; its echo path).

Ground truth per call (``truth`` dict, also ``<wav>.truth.json``)
    ``turns``: every turn (speaker, start_s, end_s, text, voice, role, espeak
    settings, level); ``violations``: [{kind, start_s, end_s}] with kind pace |
    pitch | volume (an agent turn), overtalk (:func:`real_overtalks` over the turn
    spans: the definition below), customer_escalation (the angry caller turn);
    ``calm_agent_s``: agent speech seconds outside violation turns.

Real overtalk (:func:`real_overtalks`, the same definition on AMI's RTTM turns)
    An agent *onset* is the start of agent speech after >= 0.3 s of agent silence.
    It is overtalk when (1) the caller is speaking at the onset, (2) has held the
    floor >= 0.5 s: talking (pauses < 0.6 s bridged) since after the agent's
    previous speech ended, and (3) both keep talking >= 0.6 s after the onset
    (pauses <= 0.25 s bridged): a backchannel shorter than 0.6 s, or a caller who
    stops within 0.6 s (the agent took the turn), is not overtalk. The violation
    spans from the onset to the end of the overlap.

Reproducible: espeak-ng gives identical output for the same settings; every random
choice comes from ``numpy.random.default_rng(seed)``. Renders are cached under
``benchmarks/results/callgen/`` (git-ignored), keyed by :data:`GEN_VERSION` and seed.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
CACHE = HERE / "results" / "callgen"
SR = 16000
ESPEAK_SR = 22050
GEN_VERSION = 4
CONDITIONS = ("clean", "phone", "phone_noise", "phone_echo")
SPLITS = {"dev": 1000, "held": 5000}

# ----------------------------------------------------------------------------- voices
# espeak-ng 1.51 `--voices=en` (gmw voices; mbrola voices are not installed) and
# variants (`--voices=variant`). Dev and held-out share neither base voice nor variant.
_DEV_BASES = ("en-us", "en-gb-x-rp", "en-029", "en-gb-x-gbclan")
_HELD_BASES = ("en-gb", "en-gb-scotland", "en-us-nyc", "en-gb-x-gbcwmd")
_DEV_VARIANTS = ("m1", "m2", "m3", "m4", "f1", "f2", "klatt", "Andy", "edward", "iven", "linda", "steph", "paul")
_HELD_VARIANTS = ("m5", "m6", "m7", "f3", "f4", "f5", "klatt3", "Gene", "Michael", "travis", "belinda", "zac", "victor")
VOICES = {
    "dev": tuple(f"{b}+{v}" for b in _DEV_BASES for v in _DEV_VARIANTS),
    "held": tuple(f"{b}+{v}" for b in _HELD_BASES for v in _HELD_VARIANTS),
}

# ------------------------------------------------------------------------ phrase bank
# Written for this generator (bills, refunds, outages); not the project's scripted lines.
# Even-numbered lines go to the dev split, odd-numbered ones to the held-out split.
_AGENT = [
    "Good morning, you are through to billing, my name is Priya. How can I help?",
    "Hello, thanks for holding, this is Marcus in customer support.",
    "I have your account open now, can you tell me what you are seeing on the bill?",
    "Okay, I can see a late fee here from the second of the month.",
    "Let me check the meter readings we have on file for that period.",
    "That payment did reach us, it just arrived a day after the due date.",
    "I can take the late fee off as a one time courtesy, if that helps.",
    "The outage in your area started at about six this morning.",
    "Our engineers are on site, and the estimate is back up by four o'clock.",
    "I will put a credit on the account for the days without service.",
    "The refund was issued on Tuesday, so it should show up by the weekend.",
    "Can I just confirm the postcode on the account before I make the change?",
    "I have set up the payment plan, so it will be split over three months.",
    "You should get a text message when the line is working again.",
    "The direct debit failed because the bank details had changed.",
    "I can send you a new link to update the card details right now.",
    "There is a note here from last week saying a technician was booked.",
    "Your contract ends in March, so there is no charge for leaving after that.",
    "I have raised a complaint reference for you, it starts with four nine.",
    "Is the router showing a red light or an orange one at the moment?",
    "I can see two accounts under your name, which one is this about?",
    "The estimated bill was high because nobody could read the meter.",
    "If you send us a photo of the meter we can correct it today.",
    "The new price applies from the first of next month, not this one.",
    "Let me put you on a short hold while I speak to the refunds team.",
    "Thanks for waiting, the refunds team have approved it.",
    "I will email you a summary of everything we agreed on this call.",
    "Is there anything else I can help you with today?",
    "I understand, and I will make sure it is sorted before we finish.",
    "We can also switch you to paper bills if you prefer that.",
    "Your balance after the credit comes to twenty two pounds forty.",
    "Thank you for calling, and enjoy the rest of your day.",
]
_AGENT_LONG = [  # violation turns need >= 4 s of speech
    "What I can do for you is reverse the late fee, move your payment date to the fifteenth, "
    "and send a confirmation email so you have it all in writing.",
    "So the engineers found a fault at the local cabinet, they are replacing the card now, "
    "and every line on your street should come back within the next few hours.",
    "The first charge was the normal monthly plan, and the second one was a roaming fee from "
    "when the phone was used abroad for a couple of days in June.",
    "I have gone through the last three bills with you, and each one used an estimated reading, "
    "which is why the total kept going up every single month.",
    "Right, I have cancelled the duplicate order, refunded the forty pounds to your card, "
    "and added a note so that the system does not bill you for it again.",
    "The compensation is worked out per day of the outage, so for five days it comes to about "
    "fifteen pounds, and it will show as a credit on your next bill.",
    "If the router still shows a red light after the restart, we will book a technician visit, "
    "and there is no charge for that because the fault is on our side.",
    "Your refund has been approved by the team, it goes back to the original card, and banks "
    "usually take between three and five working days to show it.",
    "The price went up because the fixed deal ended last month, but I can move you onto a new "
    "fixed deal today that is cheaper than what you are paying now.",
    "We changed the billing system in the spring, and some accounts were sent two bills for the "
    "same month, which is what happened on yours as well.",
]
_AGENT_CUT_IN = [  # the agent talking over the caller
    "Sorry, can I just stop you there for a second, please?",
    "Hang on, let me just explain what the charge actually is.",
    "Okay, but if I could just jump in here for a moment.",
    "Right, I hear you, but the fee has already been removed.",
    "Sorry to cut in, but I think I know what went wrong here.",
    "Just a moment, I need to check one thing on the system.",
]
_CUSTOMER = [
    "Hi, I am ringing about my electricity bill, it looks far too high.",
    "Hello, my internet has been down since early this morning.",
    "Yes, it says I owe a late fee, but I paid on time.",
    "I have the bill in front of me, it is the one from April.",
    "Okay, so when will the service be back on?",
    "It is the account ending in five five two.",
    "The postcode is the same as on the letter you sent.",
    "That would be great, thank you very much.",
    "No, I did not get any text message about it.",
    "Right, so I just have to wait for the refund then?",
    "The light on the router is flashing orange.",
    "I was told last time that this had been fixed already.",
    "How much will the credit be, roughly?",
    "I would rather pay it in one go, to be honest.",
    "Can you send that to my email instead of by post?",
    "I think the reading on the bill is wrong, the meter says less.",
    "Yes, I can hold for a minute, that is fine.",
    "Okay, and will that show on the next bill?",
    "That is everything for now, thanks for your help.",
    "My neighbour has the same problem with their line.",
]
_CUSTOMER_LONG = [  # long caller turns (the agent talks over these)
    "Well the thing is, I set up the direct debit back in January, and every month since then "
    "you have taken the money twice, and nobody has ever explained why.",
    "I have been without internet for three days now, I work from home, and every time I call I "
    "get told somebody will ring me back, and then nobody does.",
    "The meter reading on the bill is nearly double what the meter actually says, and I sent a "
    "photo of it last month, so I really do not understand how this happened.",
    "So I moved house in February, I gave you the new address, and you are still sending the "
    "bills to the old flat, and now I have a late fee on top of it.",
    "My mother is elderly and she relies on the phone line, and it has been dead since the storm, "
    "and the website just keeps saying there are no known problems.",
    "I was promised a refund of sixty pounds on the last call, I have the reference number here, "
    "and it has been three weeks and I still have not seen anything.",
]
_CUSTOMER_ANGRY = [
    "This is absolutely ridiculous, I have called four times this week and nobody has fixed "
    "anything, I want this sorted out right now!",
    "Do not tell me to wait again, I have been waiting for a month, and you keep taking money "
    "out of my account for a service I do not even have!",
    "I am sick and tired of being passed from one department to another, every single one of you says something different!",
    "You cut off my internet in the middle of an exam week, and now you want to charge me a fee for it, are you serious?",
    "I want to speak to a manager, because this is the worst service I have ever had from any "
    "company, and I have had enough of it!",
    "Three hundred pounds for one month is not possible, nobody uses that much, somebody over "
    "there has made a mistake and I am not paying it!",
]
_BACKCHANNEL = ["Yeah.", "Right.", "I see.", "Okay.", "Sure.", "Uh-huh.", "Yes.", "Got it."]  # 0.3-0.5 s


def _half(lines: Sequence[str], split: str) -> list[str]:
    return [s for i, s in enumerate(lines) if (i % 2 == 0) == (split == "dev")]


def phrase_bank(split: str) -> dict[str, list[str]]:
    """The split's lines by role: agent, agent_long, agent_cut_in, customer,
    customer_long, customer_angry, backchannel (dev and held share no line)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {tuple(SPLITS)}, got {split!r}")
    return {
        "agent": _half(_AGENT, split),
        "agent_long": _half(_AGENT_LONG, split),
        "agent_cut_in": _half(_AGENT_CUT_IN, split),
        "customer": _half(_CUSTOMER, split),
        "customer_long": _half(_CUSTOMER_LONG, split),
        "customer_angry": _half(_CUSTOMER_ANGRY, split),
        "backchannel": _half(_BACKCHANNEL, split),
    }


# ---------------------------------------------------------------------------- synthesis


@dataclass(frozen=True)
class Turn:
    """One stretch of speech. ``speed`` is espeak's ``-s``, ``pitch`` its ``-p``,
    ``gain_db`` scales the samples (on top of the speaker's channel gain).
    ``role``: calm | pace | pitch | volume | cut_in | backchannel | angry | long."""

    speaker: str
    start_s: float
    text: str
    voice: str
    speed: int
    pitch: int
    gain_db: float = 0.0
    role: str = "calm"


_SYNTH: dict[tuple, np.ndarray] = {}


def synth(voice: str, speed: int, pitch: int, text: str) -> np.ndarray:
    """espeak-ng → float64 mono at 16 kHz, edge silence trimmed, level-normalised to
    -30 dBFS active-speech RMS (so ``gain_db`` is the level relative to calm)."""
    key = (voice, speed, pitch, text)
    if key in _SYNTH:
        return _SYNTH[key]
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng not found: install it (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory(prefix="callgen-") as tmp:
        wav = Path(tmp) / "t.wav"
        subprocess.run(
            [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", "100", "-w", str(wav), "--stdin"],
            input=text.encode(),
            check=True,
            capture_output=True,
        )
        x, sr = sf.read(wav, dtype="float64", always_2d=False)
    if x.ndim > 1:
        x = x[:, 0]
    idx = np.flatnonzero(np.abs(x) > 0.01 * np.max(np.abs(x)))
    if idx.size == 0:
        raise RuntimeError(f"espeak-ng produced silence for voice {voice!r}: {text!r}")
    x = x[idx[0] : idx[-1] + 1]
    g = math.gcd(SR, sr)
    x = resample_poly(x, SR // g, sr // g)
    x = x * 10 ** ((-30.0 - active_level_dbfs(x)) / 20)
    _SYNTH[key] = x
    return x


def active_level_dbfs(x: np.ndarray, floor_db: float = 30.0) -> float:
    """RMS (dBFS) over 20 ms frames within ``floor_db`` of the loudest frame."""
    n = len(x) // 320
    ms = np.mean(np.asarray(x[: n * 320], dtype=np.float64).reshape(n, 320) ** 2, axis=1)
    act = ms >= ms.max() * 10 ** (-floor_db / 10)
    return float(10 * np.log10(np.mean(ms[act])))


# ----------------------------------------------------------------------------- layout


@dataclass
class Speaker:
    voice: str
    pitch: int
    speed: int  # espeak -s of calm speech
    gain_db: float  # channel gain (headset / line level)


@dataclass
class CallSpec:
    """A laid-out call (before rendering): seed, split, condition, speakers, turns."""

    seed: int
    split: str
    condition: str
    agent: Speaker
    customer: Speaker
    turns: list[Turn] = field(default_factory=list)
    echo_db: float | None = None
    echo_delay_s: float = 0.0
    noise_snr_db: float | None = None
    violations_planned: int = 0
    angry_caller: bool = False

    @property
    def name(self) -> str:
        return f"{self.split}-{self.seed}"


class _Layout:
    def __init__(self, spec: CallSpec, rng: np.random.Generator, bank: dict[str, list[str]]) -> None:
        self.spec, self.rng, self.bank = spec, rng, bank
        self.end = {"agent": 0.0, "customer": 0.0}
        self.idx = {k: int(rng.integers(len(v))) for k, v in bank.items()}

    @property
    def t(self) -> float:
        return max(self.end.values())

    def line(self, kind: str) -> str:
        lines = self.bank[kind]
        s = lines[self.idx[kind] % len(lines)]
        self.idx[kind] += 1
        return s

    def dur(self, turn: Turn) -> float:
        return len(synth(turn.voice, turn.speed, turn.pitch, turn.text)) / SR

    def add(
        self,
        speaker: str,
        text: str,
        start_s: float,
        *,
        role: str = "calm",
        speed_x: float = 1.0,
        pitch_up: int = 0,
        gain_db: float = 0.0,
    ) -> Turn:
        sp = self.spec.agent if speaker == "agent" else self.spec.customer
        start_s = max(start_s, self.end[speaker] + 0.35)  # one speaker never overlaps themself
        turn = Turn(
            speaker,
            round(start_s, 3),
            text,
            sp.voice,
            int(round(sp.speed * speed_x)),
            int(min(99, sp.pitch + pitch_up)),
            round(gain_db, 2),
            role,
        )
        self.spec.turns.append(turn)
        self.end[speaker] = max(self.end[speaker], turn.start_s + self.dur(turn))
        return turn

    def gap(self) -> float:
        r = self.rng.random()
        if r < 0.3:
            return float(self.rng.uniform(0.05, 0.25))  # a quick answer: turn-taking, not overtalk
        return float(self.rng.uniform(0.3, 1.0))

    def calm_pair(self, agent_first: bool = True) -> None:
        for spk in ("agent", "customer") if agent_first else ("customer", "agent"):
            self.add(spk, self.line(spk), self.t + self.gap())

    def violation(self, kind: str) -> Turn:
        r = self.rng
        kw: dict[str, Any] = {}
        if kind == "pace":
            kw["speed_x"] = float(r.uniform(1.5, 1.8))
        elif kind == "pitch":
            kw["pitch_up"] = int(r.integers(30, 46))
        else:
            kw["gain_db"] = float(r.uniform(9.0, 12.0))
        return self.add("agent", self.line("agent_long"), self.t + self.gap(), role=kind, **kw)

    def agent_overtalk(self) -> None:
        c = self.add("customer", self.line("customer_long"), self.t + self.gap(), role="long")
        c_end = c.start_s + self.dur(c)
        self.add("agent", self.line("agent_cut_in"), c_end - float(self.rng.uniform(1.3, 3.0)), role="cut_in")

    def caller_interrupts(self) -> None:
        a = self.add("agent", self.line("agent_long"), self.t + self.gap(), role="calm")
        a_end = a.start_s + self.dur(a)
        self.add("customer", self.line("customer"), a_end - float(self.rng.uniform(0.8, 2.0)), role="calm")

    def agent_backchannel(self) -> None:
        c = self.add("customer", self.line("customer_long"), self.t + self.gap(), role="long")
        self.add(
            "agent", self.line("backchannel"), c.start_s + float(self.rng.uniform(1.5, 3.0)), role="backchannel", speed_x=1.3
        )
        self.add("agent", self.line("agent"), c.start_s + self.dur(c) + self.gap())

    def customer_backchannel(self) -> None:
        a = self.add("agent", self.line("agent_long"), self.t + self.gap())
        self.add(
            "customer", self.line("backchannel"), a.start_s + float(self.rng.uniform(1.5, 3.0)), role="backchannel", speed_x=1.3
        )

    def angry(self) -> None:
        r = self.rng
        self.add(
            "customer",
            self.line("customer_angry"),
            self.t + self.gap(),
            role="angry",
            speed_x=float(r.uniform(1.35, 1.5)),
            pitch_up=int(r.integers(25, 41)),
            gain_db=float(r.uniform(8, 11)),
        )
        self.add("agent", self.line("agent"), self.t + self.gap())


def layout(split: str, seed: int) -> CallSpec:
    """Lay out call ``seed`` of ``split`` (deterministic; no audio rendered except
    espeak runs to learn turn lengths)."""
    bank = phrase_bank(split)
    rng = np.random.default_rng(seed)
    voices = VOICES[split]
    va, vc = rng.choice(len(voices), size=2, replace=False)

    def speaker(voice: str) -> Speaker:
        return Speaker(
            voice=voice,
            pitch=int(rng.integers(30, 61)),
            speed=int(rng.integers(125, 156)),
            gain_db=round(float(rng.uniform(-8.0, 4.0)), 2),
        )

    spec = CallSpec(
        seed=seed,
        split=split,
        condition=CONDITIONS[seed % len(CONDITIONS)],
        agent=speaker(voices[va]),
        customer=speaker(voices[vc]),
    )
    if spec.condition == "phone_echo":
        spec.echo_db = round(float(rng.uniform(-30.0, -20.0)), 1)
        spec.echo_delay_s = round(float(rng.uniform(0.03, 0.06)), 3)
    if spec.condition == "phone_noise":
        spec.noise_snr_db = round(float(rng.uniform(12.0, 20.0)), 1)
    lay = _Layout(spec, rng, bank)
    lay.add("agent", lay.line("agent"), 0.4)
    lay.add("customer", lay.line("customer"), lay.t + lay.gap())
    for _ in range(3):
        lay.calm_pair()
    target_s = float(rng.uniform(40.0, 55.0))
    calm_call = rng.random() < 0.25
    spec.angry_caller = bool(rng.random() < (0.5 if calm_call else 0.3))
    plan: list[str] = []
    if not calm_call:
        n = int(rng.integers(1, 4))
        # distinct kinds: a second prompt of one kind within the coach's 45 s cooldown is by design
        plan = [str(k) for k in rng.choice(["pace", "pitch", "volume", "overtalk"], size=n, replace=False)]
    spec.violations_planned = len(plan)
    fillers = ["calm", "calm", "interrupt", "agent_bc", "customer_bc"]
    if spec.angry_caller:
        plan.insert(int(rng.integers(0, len(plan) + 1)), "angry")
    while plan or lay.t < target_s:
        if plan:
            kind = plan.pop(0)
            if kind == "overtalk":
                lay.agent_overtalk()
            elif kind == "angry":
                lay.angry()
            else:
                lay.violation(kind)
            if plan and rng.random() < 0.4:
                continue  # the next one follows closely (3-8 s: one turn gap or a short reply)
            if plan and rng.random() < 0.5:
                lay.add("customer", lay.line("backchannel"), lay.t + lay.gap(), role="backchannel")
                continue
        f = fillers[int(rng.integers(len(fillers)))]
        if f == "calm":
            lay.calm_pair(agent_first=bool(rng.random() < 0.5))
        elif f == "interrupt":
            lay.caller_interrupts()
        elif f == "agent_bc":
            lay.agent_backchannel()
        else:
            lay.customer_backchannel()
        if lay.t > target_s + 25:
            break
    return spec


# ------------------------------------------------------------------- ground truth


def _merge(spans: Sequence[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a - out[-1][1] <= gap_s:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


AGENT_SILENCE_S = 0.3  #: an agent onset follows at least this much agent silence
FLOOR_S = 0.5  #: the caller must have held the floor this long at the onset
TURN_GAP_S = 0.6  #: pauses shorter than this continue the caller's turn (for the floor time)
KEEP_S = 0.6  #: both must keep talking this long after the onset (backchannels are shorter)
PAUSE_S = 0.25  #: pauses up to this do not end a stretch of speech


def real_overtalks(agent: Sequence[tuple[float, float]], customer: Sequence[tuple[float, float]]) -> list[dict[str, float]]:
    """The real agent overtalks between two speakers' speech spans (seconds; see
    the module docstring for the definition): ``[{start_s, end_s, floor_s}]``,
    ``start_s`` the agent's onset, ``end_s`` the end of the overlap."""
    a_runs = _merge(agent, AGENT_SILENCE_S)
    c_speech = _merge(customer, PAUSE_S)
    c_turns = _merge(customer, TURN_GAP_S)
    out = []
    prev_end = -1e9
    for a0, a1 in a_runs:
        cur = next(((c0, c1) for c0, c1 in c_speech if c0 <= a0 < c1), None)
        if cur is not None:
            turn0 = next(c0 for c0, c1 in c_turns if c0 <= a0 < c1)
            floor = a0 - max(turn0, prev_end)
            if floor >= FLOOR_S and cur[1] - a0 >= KEEP_S and a1 - a0 >= KEEP_S:
                out.append({"start_s": round(a0, 3), "end_s": round(min(a1, cur[1]), 3), "floor_s": round(floor, 3)})
        prev_end = a1
    return out


def truth_of(spec: CallSpec) -> dict[str, Any]:
    """The ground truth of a laid-out call (no rendering needed beyond turn lengths)."""
    turns = []
    for t in spec.turns:
        d = len(synth(t.voice, t.speed, t.pitch, t.text)) / SR
        turns.append(
            {
                **asdict(t),
                "end_s": round(t.start_s + d, 3),
                "words": len(t.text.split()),
                "wpm": round(len(t.text.split()) / d * 60, 1),
            }
        )
    spans = {s: [(t["start_s"], t["end_s"]) for t in turns if t["speaker"] == s] for s in ("agent", "customer")}
    viol: list[dict[str, Any]] = []
    for t in turns:
        if t["speaker"] == "agent" and t["role"] in ("pace", "pitch", "volume"):
            viol.append({"kind": t["role"], "start_s": t["start_s"], "end_s": t["end_s"]})
        if t["speaker"] == "customer" and t["role"] == "angry":
            viol.append({"kind": "customer_escalation", "start_s": t["start_s"], "end_s": t["end_s"]})
    for o in real_overtalks(spans["agent"], spans["customer"]):
        viol.append({"kind": "overtalk", "start_s": o["start_s"], "end_s": o["end_s"], "floor_s": o["floor_s"]})
    viol.sort(key=lambda v: v["start_s"])
    agent_viol = [
        (t["start_s"], t["end_s"]) for t in turns if t["speaker"] == "agent" and t["role"] in ("pace", "pitch", "volume")
    ]
    calm_agent_s = sum(t["end_s"] - t["start_s"] for t in turns if t["speaker"] == "agent") - sum(b - a for a, b in agent_viol)
    duration_s = math.ceil((max(t["end_s"] for t in turns) + 1.0) * 10) / 10
    return {
        "name": spec.name,
        "seed": spec.seed,
        "split": spec.split,
        "condition": spec.condition,
        "gen_version": GEN_VERSION,
        "duration_s": duration_s,
        "agent": asdict(spec.agent),
        "customer": asdict(spec.customer),
        "echo_db": spec.echo_db,
        "echo_delay_s": spec.echo_delay_s,
        "noise_snr_db": spec.noise_snr_db,
        "angry_caller": spec.angry_caller,
        "turns": turns,
        "violations": viol,
        "calm_agent_s": round(calm_agent_s, 2),
        "agent_speech_s": round(sum(b - a for a, b in spans["agent"]), 2),
    }


# -------------------------------------------------------------------------- channels


def _phone(x: np.ndarray, rng: np.random.Generator, **kw: Any) -> np.ndarray:
    """``x`` through benchmarks/telephone.py's channel (G.711 mu-law, 300-3400 Hz,
    gated comfort noise at -60 dBFS; ``kw`` adds noise or echo)."""
    from telephone import telephone_channel

    return np.asarray(telephone_channel(x, SR, rng=rng, codec="ulaw", **kw), dtype=np.float64)


def render(spec: CallSpec, out_dir: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Render a laid-out call to ``<out_dir>/<name>.wav`` (+ ``.truth.json``), or
    return the cached files when this generator version already rendered it."""
    out_dir = Path(out_dir) if out_dir else CACHE / f"v{GEN_VERSION}" / spec.split
    wav = out_dir / f"{spec.name}.wav"
    tpath = wav.with_suffix(".truth.json")
    if wav.exists() and tpath.exists():
        truth = json.loads(tpath.read_text())
        if truth.get("gen_version") == GEN_VERSION:
            return wav, truth
    truth = truth_of(spec)
    n = int(round(truth["duration_s"] * SR))
    ch = {"agent": np.zeros(n), "customer": np.zeros(n)}
    for t in spec.turns:
        sp = spec.agent if t.speaker == "agent" else spec.customer
        x = synth(t.voice, t.speed, t.pitch, t.text) * 10 ** ((sp.gain_db + t.gain_db) / 20)
        s = int(round(t.start_s * SR))
        ch[t.speaker][s : s + len(x)] += x
    rng = np.random.default_rng([spec.seed, 7])
    if spec.condition == "clean":
        out = {k: v + rng.standard_normal(n) * 10 ** (-70 / 20) for k, v in ch.items()}
    else:
        kw: dict[str, dict[str, Any]] = {"agent": {}, "customer": {}}
        if spec.noise_snr_db is not None:
            kw = {k: {"noise_snr_db": spec.noise_snr_db} for k in kw}
        if spec.echo_db is not None:
            kw["agent"] = {"echo_of": ch["customer"], "echo_db": spec.echo_db, "echo_delay_s": spec.echo_delay_s}
        out = {k: _phone(v, rng, **kw[k]) for k, v in ch.items()}
    audio = np.stack([out["agent"], out["customer"]], axis=1)
    peak = float(np.max(np.abs(audio)))
    if peak >= 1.0:
        audio *= 0.95 / peak
        truth["normalised_by_db"] = round(20 * np.log10(0.95 / peak), 2)
    out_dir.mkdir(parents=True, exist_ok=True)
    sf.write(wav, audio.astype(np.float32), SR, subtype="PCM_16")
    tpath.write_text(json.dumps(truth, indent=1) + "\n")
    return wav, truth


def calls(split: str, n: int) -> list[CallSpec]:
    """The first ``n`` calls of ``split`` (seeds ``SPLITS[split] + i``)."""
    return [layout(split, SPLITS[split] + i) for i in range(n)]


def render_split(split: str, n: int, *, jobs: int = 2) -> list[tuple[Path, dict[str, Any]]]:
    """Lay out and render (or load from the cache) the first ``n`` calls of ``split``."""
    seeds = [SPLITS[split] + i for i in range(n)]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as ex:
            return list(ex.map(_render_seed, [split] * n, seeds))
    return [_render_seed(split, s) for s in seeds]


def _render_seed(split: str, seed: int) -> tuple[Path, dict[str, Any]]:
    out_dir = CACHE / f"v{GEN_VERSION}" / split
    wav = out_dir / f"{split}-{seed}.wav"
    if wav.exists() and wav.with_suffix(".truth.json").exists():
        truth = json.loads(wav.with_suffix(".truth.json").read_text())
        if truth.get("gen_version") == GEN_VERSION:
            return wav, truth
    return render(layout(split, seed), out_dir)


if __name__ == "__main__":
    import argparse
    import time

    ap = argparse.ArgumentParser(description="render the randomized scripted calls (cached)")
    ap.add_argument("--split", default="dev", choices=tuple(SPLITS))
    ap.add_argument("-n", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    t0 = time.perf_counter()
    res = render_split(a.split, a.n, jobs=a.jobs)
    kinds: dict[str, int] = {}
    for _, tr in res:
        for v in tr["violations"]:
            kinds[v["kind"]] = kinds.get(v["kind"], 0) + 1
    dur = sum(tr["duration_s"] for _, tr in res)
    print(f"{a.split}: {len(res)} calls, {dur / 60:.1f} min, violations {kinds}, {time.perf_counter() - t0:.1f} s")
