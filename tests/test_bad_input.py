"""The named bad inputs of issue 14, one test each: every one ends in exit 0, or exit 2
with exactly one line on stderr naming the file, key or flag, no traceback, nothing
written (the fuzzing suite, tests/test_fuzz_inputs.py, generates the rest)."""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from calmcall import cli

# ------------------------------------------------------------------ helpers


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``calmcall ARGV`` in-process: (exit status, stdout, stderr)."""
    try:
        rc = cli.main(list(argv))
    except SystemExit as exc:  # argparse
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc: int, err: str, *needles: str) -> str:
    """Exit 2, exactly one stderr line, no traceback, containing every needle."""
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def tone(n: int = 32000, rate: int = 16000) -> np.ndarray:
    return (0.1 * np.sin(2 * np.pi * 220 * np.arange(n) / rate)).astype(np.float32)


def streamed_flac(path: Path, x: np.ndarray, rate: int = 16000) -> Path:
    """A FLAC whose STREAMINFO says 0 total samples (length unknown: a streamed FLAC)."""
    sf.write(path, x, rate, format="FLAC")
    b = bytearray(path.read_bytes())
    si = 8  # "fLaC" + metadata block header; bytes 10..17 of STREAMINFO end in the 36-bit total
    v = int.from_bytes(b[si + 10 : si + 18], "big") & ~((1 << 36) - 1)
    b[si + 10 : si + 18] = v.to_bytes(8, "big")
    path.write_bytes(bytes(b))
    return path


def fail_os(monkeypatch: pytest.MonkeyPatch, target: Path, code: int, method: str = "stat") -> None:
    """Make ``Path.<method>`` raise ``OSError(code)`` for ``target`` only (the tests
    may run as root, where chmod does not take read access away)."""
    real = getattr(Path, method)

    def fake(self: Path, *a: Any, **k: Any) -> Any:
        if Path(self) == target:
            raise OSError(code, os.strerror(code), str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, method, fake)


# ------------------------------------------------------------------ audio


def test_wav_claiming_2147483647_hz_is_refused_before_allocating(tmp_path: Path, capsys: Any) -> None:
    p = tmp_path / "hugerate.wav"
    sf.write(p, tone(), 16000, subtype="PCM_16")
    b = bytearray(p.read_bytes())
    b[24:28] = struct.pack("<I", 2_147_483_647)
    p.write_bytes(bytes(b))
    for cmd in (
        ["analyze", str(p), "--no-transcribe"],
        ["calibrate", str(p), "--out", str(tmp_path / "prof.toml")],
        ["report", str(p), "--no-transcribe", "-o", str(tmp_path / "r.html")],
    ):
        rc, _out, err = run_cli(capsys, *cmd)
        assert_one_line_error(rc, err, "hugerate.wav", "2147483647 Hz", "384000 Hz maximum")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["hugerate.wav"]  # nothing written


def test_wav_claiming_too_many_channels_is_refused(tmp_path: Path, capsys: Any) -> None:
    p = tmp_path / "wide.wav"
    sf.write(p, np.zeros((1000, 65), dtype=np.float32), 16000, subtype="PCM_16")
    rc, _, err = run_cli(capsys, "analyze", str(p), "--no-transcribe")
    assert_one_line_error(rc, err, "wide.wav", "65 channels", "1 to 64")


def test_streamed_flac_with_zero_total_samples_is_decoded(tmp_path: Path, capsys: Any) -> None:
    from calmcall.audio_io import load_call

    x = tone(48000)
    p = streamed_flac(tmp_path / "stream.flac", x)
    assert sf.info(p).frames > 1 << 60  # libsndfile: length unknown
    call = load_call(p)
    ref = load_call(_plain_copy(tmp_path, x))
    assert np.array_equal(call.agent, ref.agent)
    rc, _out, err = run_cli(capsys, "analyze", str(p), "--no-transcribe")
    assert rc == 0, err
    assert "Traceback" not in err


def _plain_copy(tmp: Path, x: np.ndarray) -> Path:
    q = tmp / "plain.flac"
    sf.write(q, x, 16000, format="FLAC")
    return q


def test_call_longer_than_the_limit_is_refused_by_its_header(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    from calmcall import audio_io

    monkeypatch.setattr(audio_io, "MAX_CALL_S", 1.0)
    p = tmp_path / "long.wav"
    sf.write(p, tone(48000), 16000)
    rc, _, err = run_cli(capsys, "analyze", str(p), "--no-transcribe")
    assert_one_line_error(rc, err, "long.wav", "calmcall reads calls up to")


def test_streamed_call_longer_than_the_limit_is_cut_off_while_decoding(tmp_path: Path, monkeypatch: Any) -> None:
    from calmcall import audio_io

    p = streamed_flac(tmp_path / "stream.flac", tone(16000 * 10))
    monkeypatch.setattr(audio_io, "MAX_CALL_S", 2.0)
    with pytest.raises(audio_io.CallFileError, match="longer than"):
        audio_io.load_call(p)


@pytest.mark.parametrize("code,words", [(errno.EACCES, "permission denied"), (errno.ELOOP, "symbolic-link loop")])
def test_unreadable_audio_file_is_one_line(tmp_path: Path, monkeypatch: Any, capsys: Any, code: int, words: str) -> None:
    p = tmp_path / "locked" / "x.wav"
    p.parent.mkdir()
    sf.write(p, tone(), 16000)
    fail_os(monkeypatch, p, code)
    rc, _, err = run_cli(capsys, "analyze", str(p), "--no-transcribe")
    assert_one_line_error(rc, err, "x.wav", words)


def test_unreadable_batch_folder_is_one_line(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    d = tmp_path / "calls"
    (d / "sub").mkdir(parents=True)
    sf.write(d / "a.wav", tone(), 16000)
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == d / "sub":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    rc, _, err = run_cli(capsys, "analyze", str(d), "--out", str(tmp_path / "out"), "--no-transcribe")
    assert_one_line_error(rc, err, "sub", "cannot list this folder", "permission denied")


def test_symlink_loop_config_is_one_line(tmp_path: Path, capsys: Any) -> None:
    loop = tmp_path / "loop.toml"
    os.symlink(loop, loop)
    rc, _, err = run_cli(capsys, "config", "--check", str(loop))
    assert_one_line_error(rc, err, "loop.toml", "symbolic-link loop")


def test_subprocess_contract_for_the_320_gib_header(tmp_path: Path) -> None:
    """The real process: no traceback, one line, exit 2, quickly."""
    p = tmp_path / "hugerate.wav"
    sf.write(p, tone(), 16000, subtype="PCM_16")
    b = bytearray(p.read_bytes())
    b[24:28] = struct.pack("<I", 2_147_483_647)
    p.write_bytes(bytes(b))
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall.cli", "analyze", str(p), "--no-transcribe"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# ------------------------------------------------------------------ config and profile


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "99999999999999999999999"])
def test_config_non_finite_threshold_names_key_and_range(tmp_path: Path, capsys: Any, value: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(f"[targets]\npace_margin = {value}\n")
    rc, out, err = run_cli(capsys, "config", "--check", str(p))
    assert_one_line_error(rc, err, "c.toml", "targets.pace_margin", "[0.02, 3]")
    assert out == ""


def test_config_deep_nesting_is_refused_without_recursion_error(tmp_path: Path, capsys: Any) -> None:
    p = tmp_path / "deep.toml"
    p.write_text("a = " + "[" * 5000 + "1" + "]" * 5000 + "\n")
    rc, _, err = run_cli(capsys, "config", "--check", str(p))
    assert_one_line_error(rc, err, "deep.toml", "nested more than 32 deep")


def test_config_huge_file_is_refused(tmp_path: Path, capsys: Any) -> None:
    p = tmp_path / "big.toml"
    p.write_text("# x\n" * 300_000)
    rc, _, err = run_cli(capsys, "config", "--check", str(p))
    assert_one_line_error(rc, err, "big.toml", "over 1048576 bytes")


@pytest.mark.parametrize("value", ['"abc"', "[1, 2]", "-5", "nan", "inf", "1e308"])
def test_profile_speech_s_must_be_a_finite_number_in_range(tmp_path: Path, capsys: Any, value: str) -> None:
    prof = tmp_path / "prof.toml"
    prof.write_text(f"[baseline]\nf0_hz = 120.0\nlevel_db = -30.0\nrate_syl_s = 4.0\nspeech_s = {value}\n")
    call = tmp_path / "c.wav"
    sf.write(call, tone(), 16000)
    rc, out, err = run_cli(capsys, "analyze", str(call), "--no-transcribe", "--profile", str(prof))
    assert_one_line_error(rc, err, "prof.toml", "baseline.speech_s", "[0.0, 86400.0]")
    assert out == ""


def test_profile_deep_nesting_is_one_line(tmp_path: Path) -> None:
    from calmcall.baseline import ProfileError, read_profile

    prof = tmp_path / "prof.toml"
    prof.write_text("[baseline]\nx = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ProfileError, match="nested more than"):
        read_profile(prof)


# ------------------------------------------------------------------ numbers on the command line


@pytest.mark.parametrize(
    "argv,flag,rng",
    [
        (["replay", "x.wav", "--speed", "nan"], "--speed", "(0, 50]"),
        (["replay", "x.wav", "--speed", "0"], "--speed", "(0, 50]"),
        (["replay", "x.wav", "--linger", "nan"], "--linger", "[0, 86400]"),
        (["replay", "x.wav", "--linger", "-5"], "--linger", "[0, 86400]"),
        (["replay", "x.wav", "--wait-client", "inf"], "--wait-client", "[0, 3600]"),
        (["replay", "x.wav", "--port", "70000"], "--port", "[0, 65535]"),
        (["replay", "x.wav", "--port", "-1"], "--port", "[0, 65535]"),
        (["live", "--port", "1e3"], "--port", "[0, 65535]"),
        (["live", "--duration", "-1"], "--duration", "(0, 86400]"),
        (["analyze", "x.wav", "--agent-channel", "-1"], "--agent-channel", "[0, 63]"),
        (["analyze", "x", "--out", "o", "--jobs", "0"], "--jobs", "[1, 256]"),
        (["sessions", "-n", "abc"], "--limit", "[0, 1000000]"),
    ],
)
def test_out_of_range_cli_number_names_flag_and_range(capsys: Any, argv: list[str], flag: str, rng: str) -> None:
    rc, out, err = run_cli(capsys, *argv)
    assert_one_line_error(rc, err, flag, rng)
    assert out == ""


# ------------------------------------------------------------------ playbooks

PB_RULE = 'id = "my.rule"\nspeaker = "agent"\nheadline = "Slow down"\ndetail = "One line."\nseverity = "low"\n'


def test_catastrophic_regex_costs_microseconds(tmp_path: Path) -> None:
    """``/(\\w+)+\\d/`` took 5.2 s on a 26-letter word with Python's re (x4 per two
    letters); with the linear-time engine a 200-letter word is instant."""
    import time

    from calmcall.events import Word
    from calmcall.text.playbook import PhraseCoach, load_playbook

    p = tmp_path / "pb.toml"
    p.write_text("[[rule]]\n" + PB_RULE + 'patterns = ["/(\\\\w+)+\\\\d/"]\n')
    pb = load_playbook([p], replace=True)
    coach = PhraseCoach(pb)
    t0 = time.perf_counter()
    for i, n in enumerate((26, 40, 200)):
        coach.on_word(Word(t_s=i + 0.5, start_s=float(i), end_s=i + 0.4, text="a" * n, speaker="agent", confidence=1.0))
    coach.finish(10.0)
    assert time.perf_counter() - t0 < 0.5
    fired = coach.on_word(Word(t_s=20.5, start_s=20.0, end_s=20.4, text="abc1", speaker="agent", confidence=1.0))
    fired += coach.finish(30.0)
    assert [f.evidence["rule"] for f in fired] == ["my.rule"]  # the rule still matches what it should


@pytest.mark.parametrize(
    "pattern,words",
    [
        ("/(a)\\\\1/", "backreferences and lookarounds are not supported"),
        ("/a(?=b)/", "backreferences and lookarounds are not supported"),
        ("(" * 12 + "calm" + ")" * 12, "nested more than 8 deep"),
        ("[" * 100 + "x" + "]" * 100, "more than 64 elements"),
        ("calm " * 120, "longer than 500 characters"),
    ],
)
def test_playbook_pattern_refused_with_reason(tmp_path: Path, capsys: Any, pattern: str, words: str) -> None:
    p = tmp_path / "pb.toml"
    p.write_text("[[rule]]\n" + PB_RULE + f'patterns = ["{pattern}"]\n')
    call = tmp_path / "c.wav"
    sf.write(call, tone(), 16000)
    rc, _out, err = run_cli(capsys, "analyze", str(call), "--no-transcribe", "--playbook", str(p))
    assert_one_line_error(rc, err, "pb.toml", "my.rule", words)


@pytest.mark.parametrize("key,value", [("refire_s", "nan"), ("within_s", "-1"), ("min_turns", "0"), ("window_s", "inf")])
def test_playbook_numbers_finite_and_in_range(tmp_path: Path, key: str, value: str) -> None:
    from calmcall.text.playbook import PlaybookError, load_playbook

    p = tmp_path / "pb.toml"
    p.write_text("[[rule]]\n" + PB_RULE + f'patterns = ["calm"]\n{key} = {value}\n')
    with pytest.raises(PlaybookError, match=f"key '{key}' must be a number in \\["):
        load_playbook([p])


def test_playbook_settings_nan_is_refused(tmp_path: Path) -> None:
    from calmcall.text.playbook import PlaybookError, load_playbook

    p = tmp_path / "pb.toml"
    p.write_text("[settings]\nsettle_s = nan\n")
    with pytest.raises(PlaybookError, match="settings.settle_s"):
        load_playbook([p])


def test_malformed_playbook_is_an_error_under_no_transcribe(tmp_path: Path, capsys: Any) -> None:
    p = tmp_path / "pb.toml"
    p.write_text('[[rule]]\nid = "x"\nseverity = high\n')
    call = tmp_path / "c.wav"
    sf.write(call, tone(), 16000)
    rc, out, err = run_cli(capsys, "analyze", str(call), "--no-transcribe", "--playbook", str(p))
    assert_one_line_error(rc, err, "pb.toml", "TOML syntax error")
    assert out == ""
    rc, out, err = run_cli(
        capsys, "analyze", str(tmp_path), "--out", str(tmp_path / "out"), "--no-transcribe", "--playbook", str(p)
    )
    assert_one_line_error(rc, err, "pb.toml")
    assert not (tmp_path / "out").exists()


def test_playbook_deep_toml_is_one_line(tmp_path: Path) -> None:
    from calmcall.text.playbook import PlaybookError, load_playbook

    p = tmp_path / "pb.toml"
    p.write_text("x = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n")
    with pytest.raises(PlaybookError, match="nested more than"):
        load_playbook([p])


# ------------------------------------------------------------------ damaged session logs


def write_session(d: Path, sid: str, t_prompt: str | None, *, end_t: str = "2.0") -> Path:
    """A small session log whose prompt record has ``"t_s": t_prompt`` written as raw
    JSON text (``None``: the key is missing), as a damaged disk or editor leaves it."""
    import json

    d.mkdir(parents=True, exist_ok=True)
    head = {
        "type": "session_start",
        "schema": 1,
        "session_id": sid,
        "started_at": "2026-01-01T10:00:00.000Z",
        "meta": {"source": "replay", "roles": ["agent"]},
    }
    meas = {
        "type": "measures",
        "t_s": 0.25,
        "speaker": "agent",
        "active": True,
        "f0_hz": 120.0,
        "pitch_st": 0.0,
        "level_db": -30.0,
        "level_rel_db": 0.0,
        "rate_syl_s": 4.0,
        "rate_rel": 1.0,
        "wpm": None,
        "in_band": True,
    }
    prompt = (
        '{"type":"prompt",'
        + ("" if t_prompt is None else f'"t_s":{t_prompt},')
        + '"kind":"pace","headline":"Slow down","detail":"x","severity":"low","evidence":{}}'
    )
    end = f'{{"type":"session_end","t_s":{end_t},"ended_at":"2026-01-01T10:00:02.000Z","summary":{{"records":2,"prompts":1}}}}'
    p = d / f"{sid}.jsonl"
    p.write_text("\n".join([json.dumps(head), json.dumps(meas), prompt, end]) + "\n")
    return p


@pytest.mark.parametrize("t", [None, '"abc"', "null", "1e308", "NaN", "-1", "[1]"])
def test_damaged_prompt_time_is_skipped_and_counted_by_report(tmp_path: Path, capsys: Any, t: str | None) -> None:
    log = write_session(tmp_path / "s", "damaged", t)
    out_html = tmp_path / "r.html"
    rc, out, err = run_cli(capsys, "report", str(log), "-o", str(out_html), "--no-audio")
    assert rc == 0, err
    assert err == ""
    assert "1 damaged record(s) skipped" in out
    assert "log damaged: 1 damaged record(s) skipped" in out_html.read_text()


def test_replay_of_a_1e308_record_does_not_wait(tmp_path: Path) -> None:
    """It hung forever; now the record is damage and the replay ends at once."""
    log = write_session(tmp_path / "s", "huge", "1e308")
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall.cli", "replay", str(log), "--port", "0", "--no-log", "--linger", "0", "--speed", "50"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 damaged record(s) skipped" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_replay_of_a_1e308_end_record_does_not_wait(tmp_path: Path) -> None:
    from calmcall.qa.sessionlog import read_session

    log = write_session(tmp_path / "s", "huge_end", "1.0", end_t="1e308")
    s = read_session(log)
    assert s.duration_s == 1.0 and s.bad_records == 1


def test_sessions_lists_damage(tmp_path: Path, capsys: Any) -> None:
    write_session(tmp_path / "s", "endbad", "1.0", end_t='"x"')
    write_session(tmp_path / "s", "ok", "1.0")
    rc, out, err = run_cli(capsys, "sessions", "--sessions-dir", str(tmp_path / "s"))
    assert rc == 0, err
    line = next(x for x in out.splitlines() if x.startswith("endbad"))
    assert "1 damaged record(s) skipped" in line
    assert "damaged" not in next(x for x in out.splitlines() if x.startswith("ok "))
    rc, out, err = run_cli(capsys, "sessions", "--sessions-dir", str(tmp_path / "s"), "--json")
    assert '"damage": "1 damaged record(s) skipped"' in out


def test_event_after_the_end_of_the_session_is_damage(tmp_path: Path) -> None:
    from calmcall.qa.sessionlog import read_session

    s = read_session(write_session(tmp_path / "s", "late", "500000.0"))
    assert s.bad_records == 1 and s.prompts == []


# ------------------------------------------------------------------ full or failing disk


def _event_log(d: Path, n: int = 40) -> Path:
    """A session log (no audio) with ``n`` measures records over 2 s, for an events replay."""
    import json

    d.mkdir(parents=True, exist_ok=True)
    recs = [
        {
            "type": "session_start",
            "schema": 1,
            "session_id": "src",
            "started_at": "2026-01-01T10:00:00.000Z",
            "meta": {"source": "replay", "roles": ["agent"]},
        }
    ]
    for i in range(n):
        recs.append(
            {
                "type": "measures",
                "t_s": round(0.05 * (i + 1), 3),
                "speaker": "agent",
                "active": True,
                "f0_hz": 120.0,
                "pitch_st": 0.0,
                "level_db": -30.0,
                "level_rel_db": 0.0,
                "rate_syl_s": 4.0,
                "rate_rel": 1.0,
                "wpm": None,
                "in_band": True,
            }
        )
    recs.append(
        {
            "type": "session_end",
            "t_s": round(0.05 * n, 3),
            "ended_at": "2026-01-01T10:00:02.000Z",
            "summary": {"records": n, "prompts": 0},
        }
    )
    p = d / "src.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return p


class _DiskFull:
    """Fault injection (a fake disk): ``SessionWriter._write_bytes`` writes half of the
    ``fail_at``-th record and then fails with ENOSPC, as a filling disk does."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.calls = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from calmcall.qa import sessionlog

        real = sessionlog.SessionWriter._write_bytes
        guard = self

        def write_bytes(writer: Any, data: bytes) -> None:
            guard.calls += 1
            if guard.calls >= guard.fail_at:
                if guard.calls == guard.fail_at:
                    os.write(writer._fd, data[: len(data) // 2])  # a short write, then the error
                raise OSError(errno.ENOSPC, "No space left on device")
            real(writer, data)

        monkeypatch.setattr(sessionlog.SessionWriter, "_write_bytes", write_bytes)


def test_disk_full_mid_call_coaching_goes_on_and_the_loss_is_said(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    from calmcall.live import server
    from calmcall.qa.sessionlog import read_session

    src = _event_log(tmp_path / "in")
    out_dir = tmp_path / "sessions"
    disk = _DiskFull(fail_at=6)  # header + 4 records land, the 6th write fails half-way
    disk.install(monkeypatch)
    published: list[tuple[str, dict]] = []
    real_publish = server.OverlayServer.publish
    monkeypatch.setattr(
        server.OverlayServer, "publish", lambda self, t, d: (published.append((t, d)), real_publish(self, t, d))[1]
    )
    rc, out, err = run_cli(
        capsys, "replay", str(src), "--port", "0", "--speed", "20", "--linger", "0", "--sessions-dir", str(out_dir)
    )
    assert rc == 1, (out, err)
    assert "Traceback" not in err
    # coaching went on: every measures record was still published to the overlay
    assert sum(1 for t, _ in published if t == "measures") == 40
    # the overlay was told
    logs = [d["info"]["log"] for t, d in published if t == "status" and "log" in d.get("info", {})]
    assert logs[0]["state"] == "ok" and logs[-1]["state"] == "stopped"
    assert "disk is full" in logs[-1]["error"]
    # the end line says what was lost
    line = next(x for x in out.splitlines() if "session log stopped" in x)
    assert "disk is full" in line and "record(s) after that were not logged" in line
    # what was written before is intact: header + 4 records, the torn half line dropped
    logs_on_disk = [p for p in out_dir.glob("*.jsonl")]
    assert len(logs_on_disk) == 1
    s = read_session(logs_on_disk[0])
    assert s.header["type"] == "session_start" and len(s.events) == 4 and s.torn_tail and not s.complete


@pytest.mark.parametrize("how", ["full", "readonly", "notafolder"])
def test_unusable_sessions_folder_at_start_is_one_line(tmp_path: Path, monkeypatch: Any, capsys: Any, how: str) -> None:
    src = _event_log(tmp_path / "in")
    out_dir = tmp_path / "sessions"
    if how == "full":
        _DiskFull(fail_at=1).install(monkeypatch)
    elif how == "readonly":
        fail_os(monkeypatch, out_dir, errno.EROFS, method="mkdir")
    else:
        out_dir.write_text("a file, not a folder")
    rc, out, err = run_cli(
        capsys, "replay", str(src), "--port", "0", "--speed", "20", "--linger", "0", "--sessions-dir", str(out_dir)
    )
    line = assert_one_line_error(rc, err, "cannot start the session log", str(out_dir), "--no-log")
    words = {"full": "disk is full", "readonly": "read-only", "notafolder": "a file, not a folder"}[how]
    assert words in line
    assert "overlay at" not in out
    if how != "notafolder":
        assert not out_dir.exists() or list(out_dir.iterdir()) == []  # no stub log left behind


# ------------------------------------------------------------------ the overlay's HTTP side


@pytest.fixture()
def overlay() -> Any:
    from calmcall.live.server import OverlayServer, ServerThread

    srv = OverlayServer(port=0)
    th = ServerThread(srv)
    th.start()
    yield srv
    th.stop()


def http_raw(port: int, raw: str) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` (one request) and read the answer to the end (the server closes)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), hdrs, body


@pytest.mark.parametrize("method", ["DELETE", "TRACE", "PROPFIND", "OPTIONS", "PUT", "PATCH", "BREW"])
def test_other_methods_get_405_without_the_page(overlay: Any, method: str) -> None:
    status, hdrs, body = http_raw(overlay.port, f"{method} / HTTP/1.1\r\nHost: 127.0.0.1:{overlay.port}\r\n\r\n")
    assert status == 405 and hdrs.get("Allow") == "GET, HEAD"
    assert b"overlay" not in body


def test_head_has_the_headers_and_no_body(overlay: Any) -> None:
    status, hdrs, body = http_raw(overlay.port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{overlay.port}\r\n\r\n")
    assert status == 200 and b"overlay.js" in body
    status, hhdrs, hbody = http_raw(overlay.port, f"HEAD / HTTP/1.1\r\nHost: 127.0.0.1:{overlay.port}\r\n\r\n")
    assert status == 200 and hbody == b"" and hhdrs["Content-Length"] == str(len(body))
    assert hhdrs["Content-Security-Policy"] == hdrs["Content-Security-Policy"]


@pytest.mark.parametrize(
    "hosts",
    [
        ["127.0.0.1:{port}", "127.0.0.1:{port}"],
        ["127.0.0.1:{port}", "evil.example"],
        ["127.0.0.1:{port} x"],
        ["127.0.0.1:{port}/"],
        ["@evil"],
    ],
)
def test_duplicated_or_malformed_host_is_400_not_500(overlay: Any, hosts: list[str], caplog: Any) -> None:
    lines = "".join(f"Host: {h.format(port=overlay.port)}\r\n" for h in hosts)
    status, _, body = http_raw(overlay.port, f"GET / HTTP/1.1\r\n{lines}\r\n")
    assert status == 400 and b"overlay" not in body
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no "process_request failed" traceback


# ------------------------------------------------------------------ analyze outputs


def test_analyze_outputs_are_written_0600(tmp_path: Path, capsys: Any) -> None:
    call = tmp_path / "c.wav"
    sf.write(call, tone(), 16000)
    outs = {flag: tmp_path / f"out{flag.replace('-', '.')}" for flag in ("--json", "--vtt", "--srt")}
    outs["--vtt"].write_text("old\n")
    os.chmod(outs["--vtt"], 0o644)  # an existing file is replaced by a private one
    argv = ["analyze", str(call), "--no-transcribe"] + [a for f, p in outs.items() for a in (f, str(p))]
    rc, _out, err = run_cli(capsys, *argv)
    assert rc == 0, err
    for p in outs.values():
        assert p.stat().st_mode & 0o777 == 0o600, p


def test_analyze_output_into_a_missing_folder_fails_before_analysing(tmp_path: Path, capsys: Any) -> None:
    call = tmp_path / "c.wav"
    sf.write(call, tone(), 16000)
    rc, out, err = run_cli(capsys, "analyze", str(call), "--no-transcribe", "--json", str(tmp_path / "no" / "x.json"))
    assert_one_line_error(rc, err, "x.json", "does not exist")
    assert out == ""


def test_logged_config_of_another_version_is_not_damage_but_a_nan_target_is(tmp_path: Path, capsys: Any) -> None:
    import json

    from calmcall.qa.sessionlog import read_session

    log = write_session(tmp_path / "s", "cfg", "1.0")
    lines = log.read_text().splitlines()
    head = json.loads(lines[0])
    head["meta"]["config"] = {"measure": {"yin_threshold": 0.2}, "future": {"x": 1}, "targets": {"pace_margin": 0.3}}
    log.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    assert read_session(log).bad_records == 0
    head["meta"]["config"]["targets"]["pace_margin"] = 1e308
    log.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    s = read_session(log)
    assert s.bad_records == 1 and "config" not in s.meta
    rc, out, err = run_cli(capsys, "report", str(log), "-o", str(tmp_path / "r.html"), "--no-audio")
    assert rc == 0 and "1 damaged record(s) skipped" in out, err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_files_are_bounded_not_read_forever(tmp_path: Path, capsys: Any) -> None:
    rc, _, err = run_cli(capsys, "config", "--check", "/dev/zero")
    assert_one_line_error(rc, err, "/dev/zero", "over 1048576 bytes")
    rc, _, err = run_cli(capsys, "analyze", "/dev/zero", "--no-transcribe")
    assert_one_line_error(rc, err, "/dev/zero", "not a regular file")
