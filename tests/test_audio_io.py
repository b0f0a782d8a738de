"""Reading calls: formats, telephone codecs, channel roles, and the bad-input table."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import shared_audio

from calmcall.audio_io import CallFileError, iter_blocks, load_call


def _stereo() -> Path:
    """The two-talker stereo fixture in ../shared/audio (skips when absent)."""
    return shared_audio("stereo-two-speaker/stereo_diarization.wav")


def _jfk() -> np.ndarray:
    x, sr = sf.read(shared_audio("jfk/jfk.wav"), dtype="float32")
    assert sr == 16000
    return x


@pytest.mark.parametrize(
    "fmt,subtype,ext,rate",
    [
        ("WAV", "PCM_16", "wav", 16000),
        ("WAV", "PCM_24", "wav", 44100),
        ("WAV", "FLOAT", "wav", 48000),
        ("WAV", "ULAW", "wav", 8000),
        ("WAV", "ALAW", "wav", 8000),
        ("FLAC", "PCM_16", "flac", 22050),
        ("OGG", "VORBIS", "ogg", 16000),
        ("MP3", "MPEG_LAYER_III", "mp3", 16000),
    ],
)
def test_formats_are_read_and_resampled(tmp_path: Path, fmt: str, subtype: str, ext: str, rate: int) -> None:
    from scipy.signal import resample_poly

    x = _jfk()[: 3 * 16000]
    y = resample_poly(x, rate, 16000) if rate != 16000 else x
    path = tmp_path / f"call.{ext}"
    sf.write(path, y, rate, format=fmt, subtype=subtype)
    call = load_call(path)
    assert call.customer is None and call.channels == {"agent": 0, "customer": None}
    assert abs(call.duration_s - 3.0) < 0.1  # MP3 adds encoder padding
    # same signal: correlation with the original (telephone codecs and MP3 are lossy)
    n = min(len(x), len(call.agent)) - 2000
    lag = int(np.argmax(np.correlate(call.agent[:4000], x[:4000], "full"))) - 3999
    a = call.agent[max(0, lag) : max(0, lag) + n]
    b = x[max(0, -lag) : max(0, -lag) + n]
    assert np.corrcoef(a, b)[0, 1] > 0.9


def test_telephone_wav_made_by_sox(tmp_path: Path) -> None:
    if shutil.which("sox") is None:
        pytest.skip("sox not installed (the README test command installs it)")
    out = tmp_path / "tel.wav"
    subprocess.run(["sox", str(_stereo()), "-r", "8000", "-e", "mu-law", "-b", "8", str(out)], check=True)
    call = load_call(out)
    assert call.source_rate_hz == 8000 and call.customer is not None
    assert abs(call.duration_s - 5.0) < 0.05


def test_stereo_roles_and_override() -> None:
    call = load_call(_stereo())
    assert call.channels == {"agent": 0, "customer": 1}
    swapped = load_call(_stereo(), agent_channel=1, customer_channel=0)
    np.testing.assert_array_equal(swapped.agent, call.customer)
    only_agent_1 = load_call(_stereo(), agent_channel=1)
    assert only_agent_1.channels == {"agent": 1, "customer": 0}


def test_iter_blocks_covers_the_call_in_order() -> None:
    call = load_call(_stereo())
    starts, total = [], 0
    for t_s, blocks in iter_blocks(call, block_s=0.1):
        starts.append(t_s)
        assert len(blocks["agent"]) == len(blocks["customer"])
        total += len(blocks["agent"])
    assert total == len(call.agent)
    assert starts == sorted(starts) and starts[1] == pytest.approx(0.1)


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    good = tmp / "good.wav"
    sf.write(good, _jfk()[:16000], 16000)
    stereo = tmp / "stereo.wav"
    shutil.copy(_stereo(), stereo)
    (tmp / "empty.wav").write_bytes(b"")
    (tmp / "text.wav").write_text("this is not audio\n" * 50)
    blob = good.read_bytes()
    (tmp / "truncated.wav").write_bytes(blob[: len(blob) // 3])
    (tmp / "corrupt.wav").write_bytes(b"RIFF\xff\xff\xff\xffWAVEfmt " + b"\x00" * 60)
    sf.write(tmp / "lowrate.wav", np.zeros(6000, dtype=np.float32), 6000)
    (tmp / "adir").mkdir()
    return [
        ([str(tmp / "missing.wav")], "no such file"),
        ([str(tmp / "adir")], "needs --out DIR"),  # a folder is a batch; one call must be a file
        ([str(tmp / "empty.wav")], "empty"),
        ([str(tmp / "text.wav")], "not a readable audio file"),
        ([str(tmp / "truncated.wav")], "truncated"),
        ([str(tmp / "corrupt.wav")], "not a readable audio file"),
        ([str(tmp / "lowrate.wav")], "below the 8000 Hz minimum"),
        ([str(good), "--customer-channel", "1"], "no customer channel 1"),
        ([str(stereo), "--agent-channel", "3"], "no agent channel 3"),
    ]


def test_bad_input_table_via_cli(tmp_path: Path) -> None:
    """Every bad input: exit status 2, one line on stderr naming the file, no traceback."""
    for argv, expected in _bad_inputs(tmp_path):
        proc = subprocess.run(
            [sys.executable, "-m", "calmcall.cli", "analyze", *argv, "--no-transcribe"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, (argv, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (argv, proc.stderr)
        assert expected in lines[0] and Path(argv[0]).name in lines[0], (argv, lines[0])
        assert "Traceback" not in proc.stderr
        assert proc.stdout == ""


def test_load_call_raises_call_file_error(tmp_path: Path) -> None:
    with pytest.raises(CallFileError, match="no such file"):
        load_call(tmp_path / "nope.wav")
    with pytest.raises(ValueError, match="block_s"):
        next(iter_blocks(load_call(_stereo()), block_s=0))
