"""Spoken card numbers in recorded audio: how much card-digit audio stays audible.

Generates scripted two-party calls with espeak-ng (:mod:`scripted`), plays each one
through the real recording path (``calmcall replay CALL --record-audio`` in a
subprocess: the live session, the real-time streaming transcriber with tiny.en, the
card masker and :class:`calmcall.qa.recorder.AudioRecorder`) and scores the written
FLACs against the known spans of every spoken card digit.

    nice -n 10 .venv/bin/python benchmarks/bench_cardaudio.py [--split design|heldout|all]
        [--src PATH/src] [--speed 2] [--limit N] [--keep DIR]

Call variants (``variant`` = how the number is read, ``prompt`` = how it comes up):

* ``groups``: four groups of four digits as words, commas between the groups;
* ``flat``: sixteen digit words without punctuation;
* ``double``: a repeated digit read as "double four" (numbers chosen to have pairs);
* ``oh``: zeros read as "oh" (numbers chosen to have zeros);
* ``pauses``: each group a separate utterance, 1.3-2.6 s of silence between them;
* ``slow`` / ``fast``: groups at 105 / 185 words per minute.

``prompt``: ``asked`` (the agent asks for "the long number on the card" or "the card
number", then for the expiry and security code, which the customer reads too; the
code's audio counts as card-digit audio) or ``volunteered`` (the customer reads the
number unprompted and no card word is said in the whole call). ``noncard`` calls read
a phone or order number instead (no card anywhere): their digit audio is counted as
non-card speech, separately.

Scores (samples of 16 kHz audio; a sample is *speech* where its 20 ms frame in the
source is more than 15 dB above the call's line noise):

* ``card_audible_share``: card-digit speech samples (the number and the security code,
  on the reader's channel) that are not silenced in the FLAC (silenced = in a 5 ms block
  of zeros) / all card-digit speech samples;
  also the number of calls with any audible card-digit sample (goal: 0);
* ``noncard_silenced_share``: speech samples outside the card-digit spans (both
  speakers, on their own channels) that are silenced in the FLAC, split into the digits of
  phone/order numbers and all other speech.

The split is fixed: ``design`` calls (voices en-gb-x-rp+f3, en-us, en-gb-scotland;
text set A) were used while the recorder's rules were written; ``heldout`` calls
(voices en-029, en-gb-x-gbclan, en-us-nyc, en-gb-x-gbcwmd+f2; text set B; other card
numbers) were run only for the final figures. Everything is seeded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


import scripted  # noqa: E402

SR = 16000
UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# --------------------------------------------------------------------- numbers


def luhn_complete(body: str) -> str:
    """``body`` + the Luhn check digit (written here, not taken from
    ``calmcall.text.masking.luhn_ok``: the ground truth does not lean on the product)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def card_number(rng: random.Random, *, want: str = "") -> str:
    """A Luhn-valid 16-digit number starting 4 or 5; ``want`` "pairs" (3+ repeated
    adjacent digits) or "zeros" (2+ zeros) retries until it holds."""
    for _ in range(10_000):
        body = rng.choice("45") + "".join(rng.choice("0123456789") for _ in range(14))
        n = luhn_complete(body)
        if want == "pairs" and sum(a == b for a, b in itertools.pairwise(n)) < 3:
            continue
        if want == "zeros" and n.count("0") < 2:
            continue
        return n
    raise RuntimeError("no number found")


def say_digits(digits: str, *, oh: bool = False, double: bool = False) -> list[str]:
    """Words for ``digits``: "zero"/"oh", and "double X" for a pair if ``double``."""
    out: list[str] = []
    i = 0
    while i < len(digits):
        d = digits[i]
        w = "oh" if (oh and d == "0") else UNITS[int(d)]
        if double and i + 1 < len(digits) and digits[i + 1] == d:
            out += ["double", w]
            i += 2
            continue
        out.append(w)
        i += 1
    return out


def grouped(digits: str, size: int = 4) -> list[str]:
    return [digits[i : i + size] for i in range(0, len(digits), size)]


# --------------------------------------------------------------------- calls

#: Text sets: A for design calls, B for held-out ones. No card word in the
#: "volunteer" and non-card lines.
TEXTS: dict[str, dict[str, list[str]]] = {
    "A": {
        "greet": [
            "Good morning, you are through to billing, how can I help?",
            "Hello, thanks for calling, what can I do for you today?",
        ],
        "reason_card": ["Hi, I would like to pay the balance on my account.", "Hello, I want to settle my bill today."],
        "ask": ["Of course. Can I have the long number on the card, please?", "Sure. Could you read me the card number, please?"],
        "pre": ["Yes, it is", "Okay, here it is"],
        "ask_cvv": ["Thank you. And the three digit security code on the back?", "Thanks. What is the security code, please?"],
        "pre_cvv": ["It is", "That is"],
        "volunteer_lead": [
            "I want to pay what I owe right now, here is the number",
            "I would like to pay the bill, the number is",
        ],
        "after": [
            "Thank you, that has gone through. Anything else today?",
            "Lovely, the payment is done. Is there anything else?",
        ],
        "bye": ["No, that is all, thanks.", "No thank you, goodbye."],
        "reason_other": [
            "Hi, I am calling about a delivery that has not arrived.",
            "Hello, I need to change the phone number on my account.",
        ],
        "ask_other": [
            "I can help with that. What is the best number to reach you on?",
            "No problem. Could you give me the order number?",
        ],
        "pre_other": ["Sure, my phone number is", "The order number is"],
        "after_other": ["Thank you, I have updated that for you now.", "Thanks, I can see it here, it is on its way."],
    },
    "B": {
        "greet": ["Hi there, payments team, who am I speaking with?", "Welcome to customer services, how may I help you?"],
        "reason_card": ["Hiya, I got a letter saying my payment is overdue.", "Good afternoon, I need to make a payment please."],
        "ask": [
            "Right, what is the number on the front of your debit card?",
            "No problem, I just need the sixteen digit card number.",
        ],
        "pre": ["Okay, let me see, it's", "Sure thing, it is"],
        "ask_cvv": ["Great, and the CVV, the last three digits on the back?", "Perfect. Finally the security code please."],
        "pre_cvv": ["Yes, it's", "Okay,"],
        "volunteer_lead": [
            "Hiya, I just want to pay off what is left, so that is",
            "Hello, I am paying the overdue amount, it's",
        ],
        "after": [
            "Brilliant, that is all paid now. Can I help with anything else?",
            "Wonderful, you are all up to date. Anything else I can do?",
        ],
        "bye": ["That is everything, cheers.", "No, that's great, bye bye."],
        "reason_other": ["Hi, I would like to check on my order please.", "Hello, you called me earlier and I missed it."],
        "ask_other": ["Sure, what is your order reference?", "Okay, which number did we call you on?"],
        "pre_other": ["It's order number", "You rang me on"],
        "after_other": ["Got it, thank you, let me look that up.", "Thanks, I have found the note on your account."],
    },
}

VOICES = {
    "design": [("en-us", "en-gb-x-rp+f3"), ("en-gb-x-rp", "en-us+f2"), ("en-us", "en-gb-scotland")],
    "heldout": [
        ("en-gb", "en-029"),
        ("en-us-nyc", "en-gb-x-gbclan"),
        ("en-gb-x-rp+f3", "en-gb-x-gbcwmd+f2"),
        ("en-029+f4", "en-us-nyc"),
    ],
}
VARIANTS = ["groups", "flat", "double", "oh", "pauses", "slow", "fast"]


@dataclass
class CallSpec:
    call_id: str
    split: str
    variant: str  # groups / flat / ... / noncard
    prompt: str  # asked / volunteered / noncard
    voices: tuple[str, str]
    noise_db: float
    seed: int
    turns: list[scripted.Turn] = field(default_factory=list)
    #: index of turns whose speech is card digits ("card" / "cvv") or other digits ("digits")
    kinds: dict[int, str] = field(default_factory=dict)


def _line(rng: random.Random, texts: dict[str, list[str]], key: str) -> str:
    return rng.choice(texts[key])


def build_call(split: str, k: int, variant: str, prompt: str) -> CallSpec:
    seed = (1000 if split == "heldout" else 0) + k
    rng = random.Random(seed)
    texts = TEXTS["B" if split == "heldout" else "A"]
    voices = VOICES[split][k % len(VOICES[split])]
    noise = [-65.0, -55.0][k % 2]
    spec = CallSpec(f"{split}-{k:02d}-{prompt}-{variant}", split, variant, prompt, voices, noise, seed)
    sc = scripted.Script(start_s=0.5)
    agent_v, cust_v = voices
    wpm = {"slow": 105, "fast": 185}.get(variant, rng.choice([125, 135, 145, 155]))

    def say(who: str, text: str, kind: str | None = None, gap_s: float | None = None, rate: int | None = None) -> None:
        sc.say(
            who,
            text,
            gap_s=gap_s,
            voice=agent_v if who == "agent" else cust_v,  # type: ignore[arg-type]
            wpm=rate or (140 if who == "agent" else wpm),
        )
        if kind:
            spec.kinds[len(sc.turns) - 1] = kind

    say("agent", _line(rng, texts, "greet"))
    if prompt == "noncard":
        say("customer", _line(rng, texts, "reason_other"))
        say("agent", _line(rng, texts, "ask_other"))
        pre = _line(rng, texts, "pre_other")
        say("customer", pre)
        if "phone" in pre or "rang" in pre:
            digits = "07" + "".join(rng.choice("0123456789") for _ in range(9))
            parts = [digits[:5], digits[5:8], digits[8:]]
        else:
            digits = "".join(rng.choice("0123456789") for _ in range(8))
            parts = [digits[:4], digits[4:]]
        words = [" ".join(say_digits(p, oh=True)) for p in parts]
        say("customer", ", ".join(words) + ".", kind="digits", gap_s=0.3)
        say("agent", _line(rng, texts, "after_other"))
        say("customer", _line(rng, texts, "bye"))
        spec.turns = sc.turns
        return spec
    number = card_number(rng, want={"double": "pairs", "oh": "zeros"}.get(variant, ""))
    if prompt == "asked":
        say("customer", _line(rng, texts, "reason_card"))
        say("agent", _line(rng, texts, "ask"))
        say("customer", _line(rng, texts, "pre"))
    else:
        say("customer", _line(rng, texts, "volunteer_lead"))
    opts = {"oh": variant == "oh", "double": variant == "double"}
    if variant == "flat":
        say("customer", " ".join(say_digits(number, **opts)) + ".", kind="card", gap_s=0.3)
    elif variant == "pauses":
        for i, g in enumerate(grouped(number)):
            say("customer", " ".join(say_digits(g, **opts)) + ".", kind="card", gap_s=0.3 if i == 0 else rng.uniform(1.3, 2.6))
    else:
        say("customer", ", ".join(" ".join(say_digits(g, **opts)) for g in grouped(number)) + ".", kind="card", gap_s=0.3)
    if prompt == "asked":
        say("agent", _line(rng, texts, "ask_cvv"))
        cvv = "".join(rng.choice("0123456789") for _ in range(3))
        say("customer", _line(rng, texts, "pre_cvv"))
        say("customer", " ".join(say_digits(cvv)) + ".", kind="cvv", gap_s=0.25)
        say("agent", _line(rng, texts, "after"))
    else:
        say("agent", "Thank you. Give me a moment to take that payment for you.")
    say("customer", _line(rng, texts, "bye"))
    spec.turns = sc.turns
    return spec


def calls(split: str) -> list[CallSpec]:
    """The fixed call list of a split (``design`` 21, ``heldout`` 24 calls)."""
    out: list[CallSpec] = []
    k = 0
    plan: list[tuple[str, str]] = [(v, "asked") for v in VARIANTS] + [(v, "volunteered") for v in VARIANTS]
    plan += [("noncard", "noncard")] * (7 if split == "design" else 10)
    for variant, prompt in plan:
        out.append(build_call(split, k, variant, prompt))
        k += 1
    return out


# --------------------------------------------------------------------- running and scoring


def render(spec: CallSpec, d: Path, condition: str = "clean") -> tuple[Path, dict[str, Any]]:
    """Render the call to ``d/<call_id>.wav`` (+ ``.truth.json``). ``condition`` other than
    "clean": each channel then goes through ``telephone.telephone_channel`` with that
    preset (seeded); the rendered clean call stays as ``<call_id>.clean.wav`` (the speech
    mask of the score comes from it)."""
    wav = d / f"{spec.call_id}.wav"
    truth = scripted.render_call(spec.turns, wav, noise_db=spec.noise_db, seed=spec.seed)
    for i, kind in spec.kinds.items():
        truth["turns"][i]["digits_kind"] = kind
    truth["condition"] = condition
    if condition != "clean":
        from telephone import CONDITIONS, telephone_channel

        clean = wav.with_suffix(".clean.wav")
        wav.rename(clean)
        x, sr = sf.read(clean, dtype="float64")
        rng = np.random.default_rng(spec.seed)
        kw = dict(CONDITIONS[condition])
        y = np.stack(
            [
                telephone_channel(x[:, ch], sr, rng=rng, **({**kw, "echo_of": x[:, 1 - ch]} if "echo_db" in kw else kw))[: len(x)]
                for ch in range(2)
            ],
            axis=1,
        )
        sf.write(wav, y, 16000, subtype="PCM_16")
    wav.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return wav, truth


def replay(wav: Path, sessions: Path, *, src: Path, speed: float, timeout_s: float = 600.0) -> dict[str, Any]:
    """``calmcall replay WAV --record-audio`` with ``src`` first on PYTHONPATH; the
    session's FLAC paths and the summary."""
    env = dict(os.environ, PYTHONPATH=str(src))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "calmcall.cli",
            "replay",
            str(wav),
            "--record-audio",
            "--speed",
            str(speed),
            "--port",
            "0",
            "--sessions-dir",
            str(sessions),
            "--linger",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"replay failed ({proc.returncode}): {proc.stderr[-2000:]}")
    logs = sorted(sessions.glob("*.jsonl"))
    if len(logs) != 1:
        raise RuntimeError(f"expected one session log in {sessions}, found {len(logs)}")
    recs = [json.loads(line) for line in logs[0].read_text().splitlines() if line.strip()]
    end = next((r for r in recs if r.get("type") == "session_end"), {})
    sid = logs[0].stem
    return {
        "log": str(logs[0]),
        "flac": {r: str(sessions / f"{sid}.{r}.flac") for r in ("agent", "customer")},
        "audio": end.get("summary", {}).get("audio", {}),
        "wall_s": wall,
        "words": [r for r in recs if r.get("type") == "word"],
        "partials": [r for r in recs if r.get("type") == "partial" and r.get("text")],
    }


def speech_mask(x: np.ndarray, noise_db: float) -> np.ndarray:
    """Per sample: its 20 ms frame is more than 15 dB above the line noise."""
    n = len(x) // 320 * 320
    fr = x[:n].reshape(-1, 320).astype(np.float64)
    e = 10 * np.log10(np.mean(fr**2, axis=1) + 1e-12)
    m = np.repeat(e > noise_db + 15.0, 320)
    return np.concatenate([m, np.zeros(len(x) - n, dtype=bool)])


def zeroed(y: np.ndarray, block_n: int = 80) -> np.ndarray:
    """Per sample: it lies in a 5 ms block (80 samples) that is all zeros in the FLAC,
    i.e. silenced (a lone zero sample of speech is not; a block that is only partly
    silenced counts as audible)."""
    n = len(y) // block_n * block_n
    blk = np.repeat(~np.any(y[:n].reshape(-1, block_n) != 0, axis=1), block_n)
    return np.concatenate([blk, np.zeros(len(y) - n, dtype=bool)])


def score(wav: Path, truth: dict[str, Any], rec: dict[str, np.ndarray], noise_db: float) -> dict[str, Any]:
    """Sample counts (see the module docstring) for one call."""
    clean = wav.with_suffix(".clean.wav")
    src, _ = sf.read(clean if clean.exists() else wav, dtype="int16")
    out = {
        "card_speech_n": 0,
        "card_audible_n": 0,
        "digit_speech_n": 0,
        "digit_silenced_n": 0,
        "other_speech_n": 0,
        "other_silenced_n": 0,
        "card_audible_s_max_turn": 0.0,
    }
    for ch, role in enumerate(("agent", "customer")):
        x = src[:, ch]
        y = rec[role]
        if len(y) != len(x):
            raise RuntimeError(f"{role} FLAC has {len(y)} samples, the call {len(x)}")
        sp = speech_mask(x / 32768.0, noise_db)
        own = np.zeros(len(x), dtype=bool)
        kinds = np.zeros(len(x), dtype=np.int8)  # 1 card, 2 other digits
        for t in truth["turns"]:
            if t["speaker"] != role:
                continue
            i, j = int(t["start_s"] * SR), int(t["end_s"] * SR)
            own[i:j] = True
            k = t.get("digits_kind")
            if k in ("card", "cvv"):
                kinds[i:j] = 1
                aud = sp[i:j] & ~zeroed(y)[i:j]
                out["card_audible_s_max_turn"] = max(out["card_audible_s_max_turn"], float(aud.sum()) / SR)
            elif k == "digits":
                kinds[i:j] = 2
        s = sp & own
        z = zeroed(y)
        out["card_speech_n"] += int((s & (kinds == 1)).sum())
        out["card_audible_n"] += int((s & (kinds == 1) & ~z).sum())
        out["digit_speech_n"] += int((s & (kinds == 2)).sum())
        out["digit_silenced_n"] += int((s & (kinds == 2) & z).sum())
        out["other_speech_n"] += int((s & (kinds == 0)).sum())
        out["other_silenced_n"] += int((s & (kinds == 0) & z).sum())
    return out


def _share(a: int, b: int) -> float:
    return a / b if b else 0.0


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Shares per (prompt, variant) group and overall."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(f"{r['prompt']}/{r['variant']}", []).append(r)
        groups.setdefault(f"{r['prompt']}/*", []).append(r)
        groups.setdefault("all", []).append(r)
    out = {}
    for name, rs in sorted(groups.items()):
        tot = {k: sum(r["score"][k] for r in rs) for k in rs[0]["score"] if k.endswith("_n")}
        out[name] = {
            "calls": len(rs),
            "calls_with_audible_card_digits": sum(r["score"]["card_audible_n"] > 0 for r in rs),
            "card_audible_share": round(_share(tot["card_audible_n"], tot["card_speech_n"]), 4),
            "card_audible_s": round(tot["card_audible_n"] / SR, 2),
            "card_speech_s": round(tot["card_speech_n"] / SR, 2),
            "digits_noncard_silenced_share": round(_share(tot["digit_silenced_n"], tot["digit_speech_n"]), 4),
            "other_speech_silenced_share": round(_share(tot["other_silenced_n"], tot["other_speech_n"]), 4),
            "other_speech_s": round(tot["other_speech_n"] / SR, 2),
        }
    return out


def run_split(
    split: str,
    *,
    src: Path,
    speed: float,
    limit: int | None,
    keep: Path | None,
    only: str | None = None,
    condition: str = "clean",
    log=print,
) -> dict[str, Any]:
    from calmcall.qa.recorder import read_recording

    specs = calls(split)
    if only:
        specs = [s for s in specs if only in s.call_id]
    if limit:
        specs = specs[:limit]
    tmp = Path(tempfile.mkdtemp(prefix="bench_cardaudio_")) if keep is None else keep
    results = []
    try:
        for spec in specs:
            d = tmp / spec.call_id
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
            wav, truth = render(spec, d, condition)
            r = replay(wav, d / "sessions", src=src, speed=speed)
            rec = {role: (read_recording(p)[0] * 32768.0).round().astype(np.int32) for role, p in r["flac"].items()}
            sc = score(wav, truth, rec, spec.noise_db)
            res = {
                "call_id": spec.call_id,
                "variant": spec.variant,
                "prompt": spec.prompt,
                "voices": list(spec.voices),
                "noise_db": spec.noise_db,
                "score": sc,
                "audio": r["audio"],
                "wall_s": round(r["wall_s"], 1),
                "words": " ".join(w["text"] for w in r["words"]),
            }
            results.append(res)
            log(
                f"{spec.call_id:<34} card audible {sc['card_audible_n'] / SR:5.2f}/{sc['card_speech_n'] / SR:5.2f} s"
                f"  other silenced {_share(sc['other_silenced_n'], sc['other_speech_n']):5.1%}"
                f"  digits silenced {_share(sc['digit_silenced_n'], sc['digit_speech_n']):5.1%}  ({r['wall_s']:.0f} s)"
            )
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return {"split": split, "speed": speed, "condition": condition, "calls": results, "summary": summarise(results)}


def rows_of(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for split, r in rep.items():
        s = r["summary"]
        if "all" not in s:
            continue
        a = s["all"]
        rows.append(
            (
                f"cardaudio {split}: card-digit audio left audible ({a['calls']} calls)",
                f"{100 * a['card_audible_share']:.2f} % ({a['card_audible_s']:.2f} of {a['card_speech_s']:.1f} s; "
                f"{a['calls_with_audible_card_digits']} calls)",
                "0",
            )
        )
        for name, g in s.items():
            if name == "all" or name.endswith("/*") or name.startswith("noncard"):
                continue
            rows.append(
                (
                    f"  {name}",
                    f"{100 * g['card_audible_share']:.2f} % audible, {g['calls_with_audible_card_digits']}/{g['calls']} calls",
                    "0",
                )
            )
        rows.append(
            (
                f"cardaudio {split}: other speech silenced",
                f"{100 * a['other_speech_silenced_share']:.1f} % of {a['other_speech_s']:.0f} s",
                "report",
            )
        )
        nc = s.get("noncard/*")
        if nc:
            rows.append(
                (
                    f"cardaudio {split}: phone/order digits silenced (non-card calls)",
                    f"{100 * nc['digits_noncard_silenced_share']:.1f} %",
                    "report",
                )
            )
            rows.append(
                (
                    f"cardaudio {split}: other speech silenced in non-card calls",
                    f"{100 * nc['other_speech_silenced_share']:.1f} %",
                    "report",
                )
            )
    return rows


def run(report: dict, *, splits: tuple[str, ...] = ("heldout",), speed: float = 2.0) -> list[tuple[str, str, str]]:
    """Section ``cardaudio`` of benchmarks/run.py: the held-out calls (about 12 min)."""
    if shutil.which("espeak-ng") is None:
        return [("cardaudio: skipped", "espeak-ng not installed", "-")]
    rep = {s: run_split(s, src=ROOT / "src", speed=speed, limit=None, keep=None) for s in splits}
    report["cardaudio"] = rep
    return rows_of(rep)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="heldout", choices=["design", "heldout", "all"])
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="calmcall source tree to measure")
    ap.add_argument("--speed", type=float, default=2.0)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--only", default=None, help="substring of the call ids to run")
    ap.add_argument("--condition", default="clean", help="clean, or a benchmarks/telephone.py preset (phone, phone_noisy, ...)")
    ap.add_argument("--keep", type=Path, default=None, help="keep calls, logs and FLACs here")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cardaudio.json")
    args = ap.parse_args()
    splits = ("design", "heldout") if args.split == "all" else (args.split,)
    rep = {
        s if args.condition == "clean" else f"{s}/{args.condition}": run_split(
            s,
            src=args.src,
            speed=args.speed,
            limit=args.limit,
            condition=args.condition,
            keep=(args.keep / s) if args.keep else None,
            only=args.only,
        )
        for s in splits
    }
    rows = rows_of(rep)
    from tables import print_rows

    print_rows(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"src": str(args.src), **rep}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
