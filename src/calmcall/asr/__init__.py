"""Speech recognition: model resolver and streaming transcription (faster-whisper).

Light to import: the model and the VAD are only loaded when used.

- :func:`resolve_model`, :func:`load_model`, :class:`ModelError` (``calmcall.asr.model``)
- :class:`StreamingTranscriber`, :class:`DecodeWorker`, :func:`transcribe_whole_file`
  (``calmcall.asr.stream``)
- :func:`wpm` (``calmcall.asr.wpm``), :func:`to_vtt`, :func:`to_srt` (``calmcall.asr.export``)
"""

from __future__ import annotations

from typing import Any

from calmcall.asr.model import ModelError, load_model, resolve_model

__all__ = [
    "DecodeOptions",
    "DecodeWorker",
    "ModelError",
    "StreamingTranscriber",
    "load_model",
    "resolve_model",
    "to_srt",
    "to_vtt",
    "transcribe_whole_file",
    "wpm",
]

_LAZY = {
    "StreamingTranscriber": "calmcall.asr.stream",
    "DecodeWorker": "calmcall.asr.stream",
    "DecodeOptions": "calmcall.asr.stream",
    "transcribe_whole_file": "calmcall.asr.stream",
    "wpm": "calmcall.asr.wpm",
    "to_vtt": "calmcall.asr.export",
    "to_srt": "calmcall.asr.export",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'calmcall.asr' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
