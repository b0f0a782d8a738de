"""Fuzzing the input edges (issue 14): generated broken WAV/FLAC headers, TOML
configs, profiles, playbooks, damaged session logs and command-line numbers, run
through the real commands. The contract for every one of them:

* exit status 0, or exit status 2 with exactly one line on stderr;
* never a traceback, never a hang: each run ends within :data:`TIME_BOUND_S`.

Deterministic (``derandomize=True``: the same examples on every run, so CI cannot
flake) and bounded: about a minute on two cores for the whole file
(``CALMCALL_FUZZ_SCALE=10`` for a deeper, randomised local hunt). Most runs go
in-process through :func:`calmcall.cli.main` for speed; a few go through a real
subprocess. The named cases of the issue are in tests/test_bad_input.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmcall import cli

#: Longest one command may take on a generated input (s); a hang or runaway
#: allocation shows up as a failure here.
TIME_BOUND_S = 20.0

#: ``CALMCALL_FUZZ_SCALE=N`` runs N times as many examples, randomised (a deeper
#: local hunt); the default is the small deterministic CI run.
FUZZ_SCALE = max(1, int(os.environ.get("CALMCALL_FUZZ_SCALE", "1") or 1))
FUZZ = settings(
    derandomize=FUZZ_SCALE == 1,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples * FUZZ_SCALE)


def run_contract(argv: list[str]) -> tuple[int, str, str]:
    """``calmcall ARGV`` in-process; asserts the contract, returns (rc, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
    elapsed = time.perf_counter() - t0
    check(argv, rc, err.getvalue(), elapsed)
    return rc, out.getvalue(), err.getvalue()


def check(argv: list[str], rc: int, err: str, elapsed: float) -> None:
    assert "Traceback" not in err, (argv, err)
    assert elapsed < TIME_BOUND_S, (argv, elapsed)
    assert rc in (0, 2), (argv, rc, err)
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("calmcall: error: "), (argv, err)


def tone(n: int = 4000, channels: int = 2, rate: int = 16000) -> np.ndarray:
    t = np.arange(n) / rate
    x = 0.2 * np.sin(2 * np.pi * 180 * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


_WAV_BYTES: bytes | None = None
_FLAC_BYTES: bytes | None = None


def wav_bytes() -> bytes:
    global _WAV_BYTES
    if _WAV_BYTES is None:
        buf = io.BytesIO()
        sf.write(buf, tone(), 16000, format="WAV", subtype="PCM_16")
        _WAV_BYTES = buf.getvalue()
    return _WAV_BYTES


def flac_bytes() -> bytes:
    global _FLAC_BYTES
    if _FLAC_BYTES is None:
        buf = io.BytesIO()
        sf.write(buf, tone(), 16000, format="FLAC")
        _FLAC_BYTES = buf.getvalue()
    return _FLAC_BYTES


# ---------------------------------------------------------------- audio headers

#: Header values that have broken things (and their neighbours), plus anything.
U32 = st.one_of(
    st.sampled_from([0, 1, 7999, 8000, 16000, 44100, 384000, 384001, 2**31 - 1, 2**32 - 1]), st.integers(0, 2**32 - 1)
)
U16 = st.one_of(st.sampled_from([0, 1, 2, 3, 64, 65, 255, 1024, 65535]), st.integers(0, 65535))

#: (offset, struct format) of the fields of the canonical 44-byte WAV header.
WAV_FIELDS = {
    "riff_size": (4, "<I"),
    "fmt_size": (16, "<I"),
    "format_tag": (20, "<H"),
    "channels": (22, "<H"),
    "rate": (24, "<I"),
    "byte_rate": (28, "<I"),
    "block_align": (32, "<H"),
    "bits": (34, "<H"),
    "data_size": (40, "<I"),
}


@st.composite
def broken_wav(draw: Any) -> bytes:
    b = bytearray(wav_bytes())
    for name in draw(st.lists(st.sampled_from(sorted(WAV_FIELDS)), min_size=1, max_size=3, unique=True)):
        off, fmt = WAV_FIELDS[name]
        value = draw(U32 if fmt == "<I" else U16)
        struct.pack_into(fmt, b, off, value)
    for _ in range(draw(st.integers(0, 3))):  # and a few stray bytes anywhere in the header
        b[draw(st.integers(0, 43))] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(b))))
    return bytes(b[:cut] if cut is not None else b)


@st.composite
def broken_flac(draw: Any) -> bytes:
    """STREAMINFO fields (rate 20 bits, channels-1 3 bits, bps-1 5 bits, total samples
    36 bits, block sizes) set to generated values, plus stray bytes and cuts."""
    b = bytearray(flac_bytes())
    si = 8
    packed = int.from_bytes(b[si + 10 : si + 18], "big")
    rate = packed >> 44
    ch = (packed >> 41) & 7
    bps = (packed >> 36) & 31
    total = packed & ((1 << 36) - 1)
    rate = draw(st.one_of(st.just(rate), st.sampled_from([0, 1, 8000, 655350, (1 << 20) - 1]), st.integers(0, (1 << 20) - 1)))
    ch = draw(st.one_of(st.just(ch), st.integers(0, 7)))
    bps = draw(st.one_of(st.just(bps), st.integers(0, 31)))
    total = draw(st.one_of(st.just(total), st.sampled_from([0, 1, (1 << 36) - 1]), st.integers(0, (1 << 36) - 1)))
    packed = (rate << 44) | (ch << 41) | (bps << 36) | total
    b[si + 10 : si + 18] = packed.to_bytes(8, "big")
    if draw(st.booleans()):
        struct.pack_into(">HH", b, si, draw(U16), draw(U16))  # min/max block size
    for _ in range(draw(st.integers(0, 2))):
        b[draw(st.integers(0, min(len(b) - 1, 200)))] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(4, len(b))))
    return bytes(b[:cut] if cut is not None else b)


@fuzz(40)
@given(data=broken_wav())
def test_fuzz_wav_headers(data: bytes) -> None:
    analyze_bytes(data, "call.wav")


@fuzz(30)
@given(data=broken_flac())
def test_fuzz_flac_headers(data: bytes) -> None:
    analyze_bytes(data, "call.flac")


def analyze_bytes(data: bytes, name: str) -> None:
    """``calmcall analyze`` on a file holding ``data``, under the contract."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        run_contract(["analyze", str(p), "--no-transcribe"])


@fuzz(4)
@given(data=broken_wav())
def test_fuzz_wav_headers_in_a_real_process(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "call.wav"
        p.write_bytes(data)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "calmcall.cli", "calibrate", str(p), "--out", str(Path(d) / "p.toml")],
            capture_output=True,
            text=True,
            timeout=TIME_BOUND_S * 3,
        )
        check(["calibrate", str(p)], proc.returncode, proc.stderr, (time.perf_counter() - t0) / 3)


# ---------------------------------------------------------------- TOML files


def toml_value(depth: int = 2) -> st.SearchStrategy[str]:
    """TOML value text: numbers of every kind (nan, inf, huge, negative), strings,
    booleans, arrays and inline tables (nested a little, or very deep)."""
    scalars = st.one_of(
        st.sampled_from(
            [
                "nan",
                "inf",
                "-inf",
                "+nan",
                "0",
                "-0.0",
                "1e308",
                "-1e308",
                "1e-320",
                "99999999999999999999999",
                "-5",
                "true",
                "false",
                '"abc"',
                "''",
                "1979-05-27",
            ]
        ),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.integers(-(2**63), 2**63 - 1).map(str),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8).map(json.dumps),
    )
    deep = st.integers(30, 3000).map(lambda n: "[" * n + "1" + "]" * n)
    if depth <= 0:
        return st.one_of(scalars, deep)
    inner = toml_value(depth - 1)
    return st.one_of(
        scalars,
        deep,
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.dictionaries(st.sampled_from(["a", "b", "x"]), inner, max_size=2).map(
            lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}"
        ),
    )


def toml_doc(sections: dict[str, list[str]]) -> st.SearchStrategy[str]:
    """A TOML document: known and unknown [sections] with known and unknown keys."""
    section = st.sampled_from([*sections, "nosuch"])

    @st.composite
    def doc(draw: Any) -> str:
        lines = []
        for name in draw(st.lists(section, max_size=3, unique=True)):
            keys = sections.get(name, []) + ["nosuch_key"]
            lines.append(f"[{name}]")
            for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
                lines.append(f"{key} = {draw(toml_value())}")
        if draw(st.integers(0, 9)) == 0:  # now and then, plain garbage
            lines.append(draw(st.text(max_size=30)))
        return "\n".join(lines) + "\n"

    return doc()


def _config_sections() -> dict[str, list[str]]:
    import dataclasses

    from calmcall.config import Config

    return {
        f.name: [g.name for g in dataclasses.fields(f.default_factory())]  # type: ignore[misc]
        for f in dataclasses.fields(Config)
    }


@fuzz(80)
@given(text=toml_doc(_config_sections()))
def test_fuzz_config_files(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.toml"
        p.write_text(text, encoding="utf-8", errors="surrogatepass")
        rc, _out, _err = run_contract(["config", "--check", str(p)])
        if rc == 0:  # an accepted config holds only finite numbers in range
            from calmcall.config import load_config

            cfg = load_config(p).to_dict()
            assert all(np.isfinite(v) for sec in cfg.values() for v in sec.values() if not isinstance(v, (bool, str)))


_CALL: Path | None = None


def short_call() -> Path:
    """One half-second stereo call shared by the profile and playbook fuzzers."""
    global _CALL
    if _CALL is None:
        _CALL = Path(tempfile.mkdtemp(prefix="calmcall-fuzz-")) / "call.wav"
        sf.write(_CALL, tone(8000), 16000)
    return _CALL


@fuzz(30)
@given(text=toml_doc({"baseline": ["f0_hz", "level_db", "rate_syl_s", "speech_s", "wpm"]}), complete=st.booleans())
def test_fuzz_profiles(text: str, complete: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "prof.toml"
        if complete:  # the required keys present, so the generated one is what is judged
            text = text.replace("[baseline]\n", "[baseline]\nf0_hz = 120.0\nlevel_db = -30.0\nrate_syl_s = 4.0\n", 1)
        p.write_text(text, encoding="utf-8", errors="surrogatepass")
        run_contract(["analyze", str(short_call()), "--no-transcribe", "--profile", str(p)])


# ---------------------------------------------------------------- playbooks

#: Pieces of the pattern language and of regexes, glued into generated patterns.
PATTERN_PIECES = [
    "calm",
    "down",
    "sorry",
    "(",
    ")",
    "[",
    "]",
    "|",
    "!",
    "^",
    "$",
    "?",
    "*",
    "...",
    "{num}",
    "{customer_name}",
    "{name}",
    "{bogus}",
    "/",
    "/(\\\\w+)+\\\\d/",
    "/(a|a)*b/",
    "/[/",
    "/(a)\\\\1/",
    "/a(?=b)/",
    "/.*.*.*x/",
    "/f+u+c+k\\\\w*/",
    "it's",
    "no,",
    " ",
]


@st.composite
def playbook_doc(draw: Any) -> str:
    n_rules = draw(st.integers(0, 3))
    out = []
    if draw(st.booleans()):
        out.append("[settings]")
        for key in draw(
            st.lists(st.sampled_from(["utterance_gap_s", "settle_s", "refire_s", "name_min_len", "x"]), max_size=2, unique=True)
        ):
            out.append(f"{key} = {draw(toml_value(0))}")
    for i in range(n_rules):
        pats = draw(
            st.lists(st.lists(st.sampled_from(PATTERN_PIECES), min_size=1, max_size=12).map(" ".join), min_size=0, max_size=3)
        )
        out.append("[[rule]]")
        out.append(f'id = "fuzz.{i}"')
        out.append(f'type = "{draw(st.sampled_from(["phrase", "absence", "exchange", "bogus"]))}"')
        out.append(f'speaker = "{draw(st.sampled_from(["agent", "customer", "both"]))}"')
        out.append("patterns = [" + ", ".join(json.dumps(p) for p in pats) + "]")
        out.append('headline = "Slow down"\ndetail = "One line."\nseverity = "low"')
        for key in draw(
            st.lists(st.sampled_from(["within_s", "refire_s", "window_s", "min_turns", "after_other_s"]), max_size=2, unique=True)
        ):
            out.append(f"{key} = {draw(toml_value(0))}")
    if draw(st.integers(0, 9)) == 0:
        out.append("x = " + "[" * draw(st.integers(30, 2000)))
    return "\n".join(out) + "\n"


@fuzz(50)
@given(text=playbook_doc())
def test_fuzz_playbooks(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "pb.toml"
        p.write_text(text, encoding="utf-8")
        rc, _, _ = run_contract(["analyze", str(short_call()), "--no-transcribe", "--playbook", str(p)])
        if rc == 0:  # what loads also matches quickly, without an exception
            from calmcall.events import Word
            from calmcall.text.playbook import PhraseCoach, load_playbook

            coach = PhraseCoach(load_playbook([p]))
            t0 = time.perf_counter()
            for i, text_ in enumerate(["a" * 30, "calm", "down.", "sorry", "1234", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"]):
                for spk in ("agent", "customer"):
                    coach.on_word(Word(t_s=i + 0.5, start_s=float(i), end_s=i + 0.4, text=text_, speaker=spk, confidence=1.0))
                coach.tick(i + 1.0, customer_escalated=bool(i % 2))
            coach.finish(10.0)
            assert time.perf_counter() - t0 < 2.0


# ---------------------------------------------------------------- damaged session logs


def base_log_lines() -> list[str]:
    recs: list[dict[str, Any]] = [
        {
            "type": "session_start",
            "schema": 1,
            "session_id": "fuzz",
            "started_at": "2026-01-01T10:00:00.000Z",
            "meta": {"source": "replay", "roles": ["agent", "customer"], "agent": "a"},
        }
    ]
    for i in range(8):
        recs.append(
            {
                "type": "measures",
                "t_s": 0.25 * (i + 1),
                "speaker": "agent" if i % 2 else "customer",
                "active": True,
                "f0_hz": 120.0,
                "pitch_st": 0.5,
                "level_db": -30.0,
                "level_rel_db": 1.0,
                "rate_syl_s": 4.0,
                "rate_rel": 1.1,
                "wpm": None,
                "in_band": bool(i % 3),
            }
        )
    recs.append(
        {"type": "word", "t_s": 1.2, "start_s": 0.9, "end_s": 1.1, "text": "hello", "speaker": "agent", "confidence": 0.9}
    )
    recs.append({"type": "customer_state", "t_s": 1.3, "state": "escalated", "evidence": {}})
    recs.append(
        {"type": "prompt", "t_s": 1.5, "kind": "pace", "headline": "Slow down", "detail": "x", "severity": "low", "evidence": {}}
    )
    recs.append(
        {"type": "baseline", "t_s": 1.6, "speaker": "agent", "baseline": {"f0_hz": 120.0, "level_db": -30.0, "rate_syl_s": 4.0}}
    )
    recs.append(
        {
            "type": "session_end",
            "t_s": 2.0,
            "ended_at": "2026-01-01T10:00:02.000Z",
            "summary": {"records": 12, "prompts": 1, "agent_in_band_share": 0.5},
        }
    )
    return [json.dumps(r) for r in recs]


JSON_VALUES = st.one_of(
    st.sampled_from(
        ["null", "NaN", "Infinity", "-Infinity", "1e308", "-1", '"abc"', "[]", "{}", "true", "0", "[" * 5000 + "]" * 5000]
    ),
    st.floats(allow_nan=False).map(json.dumps),
    st.integers().map(str),
    st.text(max_size=5).map(json.dumps),
)
KEYS = [
    "t_s",
    "type",
    "start_s",
    "end_s",
    "kind",
    "speaker",
    "text",
    "state",
    "f0_hz",
    "pitch_st",
    "level_db",
    "in_band",
    "baseline",
    "summary",
    "meta",
    "prompts",
    "agent_in_band_share",
    "session_id",
    "started_at",
]


@st.composite
def damaged_log(draw: Any) -> bytes:
    lines = base_log_lines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["set", "drop_key", "delete", "dup", "garbage", "swap"]))
        if how in ("set", "drop_key"):
            rec = json.loads(lines[i])
            target = rec
            if draw(st.booleans()) and isinstance(rec.get("summary"), dict):
                target = rec["summary"]
            key = draw(st.sampled_from(KEYS))
            if how == "drop_key":
                target.pop(key, None)
                lines[i] = json.dumps(rec)
            else:
                target[key] = "__V__"
                lines[i] = json.dumps(rec).replace('"__V__"', draw(JSON_VALUES))
        elif how == "delete":
            del lines[i]
            if not lines:
                lines = ["{}"]
        elif how == "dup":
            lines.insert(i, lines[i])
        elif how == "garbage":
            lines[i] = draw(st.text(max_size=20))
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    if cut is not None:
        data = data[:cut]
    if draw(st.integers(0, 5)) == 0:
        data += b"\x00" * draw(st.integers(1, 50))
    return data


@fuzz(30)
@given(data=damaged_log())
def test_fuzz_session_logs_report_and_sessions(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fuzz.jsonl"
        p.write_bytes(data)
        run_contract(["report", str(p), "-o", str(Path(d) / "r.html"), "--no-audio"])
        run_contract(["sessions", "--sessions-dir", d])
        run_contract(["sessions", "--sessions-dir", d, "--json"])


@fuzz(8)
@given(data=damaged_log())
def test_fuzz_session_logs_replay(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fuzz.jsonl"
        p.write_bytes(data)
        run_contract(["replay", str(p), "--port", "0", "--no-log", "--linger", "0", "--speed", "50"])


# ---------------------------------------------------------------- numbers on the command line

NUMBER_TEXT = st.one_of(
    st.sampled_from(
        [
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e308",
            "-1",
            "0",
            "-0",
            "1e3",
            "0x10",
            "70000",
            "65536",
            "99999999999999999999999",
            "",
            " ",
            "abc",
            "1,5",
            "½",
            "٣",
        ]
    ),
    st.floats().map(repr),
    st.integers(-(10**30), 10**30).map(str),
)
#: (command line before the flag, flag): each is safe to run with a valid value too
#: (a missing input then ends it with one line before anything starts).
FLAGS = [
    (["replay", "no-such-call.wav"], "--speed"),
    (["replay", "no-such-call.wav"], "--linger"),
    (["replay", "no-such-call.wav"], "--wait-client"),
    (["replay", "no-such-call.wav"], "--port"),
    (["replay", "no-such-call.wav"], "--agent-channel"),
    (["analyze", "no-such-call.wav"], "--agent-channel"),
    (["analyze", "no-such-call.wav"], "--customer-channel"),
    (["analyze", "no-such-*.wav", "--out", "o"], "--jobs"),
    (["report", "no-such-call.wav"], "--agent-channel"),
    (["calibrate", "no-such-call.wav", "--out", "p"], "--agent-channel"),
]


@fuzz(80)
@given(where=st.sampled_from(FLAGS), value=NUMBER_TEXT)
def test_fuzz_cli_numbers(where: tuple[list[str], str], value: str) -> None:
    before, flag = where
    rc, _out, _err = run_contract([*before, f"{flag}={value}"])
    assert rc == 2  # either the number is refused, or the missing call is


@fuzz(20)
@given(value=NUMBER_TEXT)
def test_fuzz_sessions_limit(value: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        run_contract(["sessions", "--sessions-dir", d, f"--limit={value}"])


@pytest.mark.parametrize("value", ["nan", "-5", "70000"])
def test_fuzz_numbers_in_a_real_process(value: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall.cli", "replay", "x.wav", "--port", value], capture_output=True, text=True, timeout=60
    )
    check(["replay", "--port", value], proc.returncode, proc.stderr, 0.0)
    assert proc.returncode == 2
