"""The report's audio: which files a call's audio is in, and the ``<audio>`` source —
a relative link, or the call embedded as Ogg/Opus in base64 on request."""

from __future__ import annotations

import base64
import io
import mimetypes
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDIO_EXTS = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aiff", ".aif", ".au", ".webm"}
_MIME = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
}


@dataclass(frozen=True)
class AudioSource:
    """Audio the report can play. ``label``: "call", "agent" or "customer"."""

    path: Path
    label: str = "call"


# --------------------------------------------------------------------------- formatting


def audio_sources_for(doc: Mapping[str, Any]) -> list[AudioSource]:
    """The audio a report can play: a session's recorded FLACs, or the analysed file."""
    session = doc.get("session") if isinstance(doc.get("session"), Mapping) else None
    if session and isinstance(session.get("audio"), Mapping):
        return [AudioSource(Path(p), role) for role, p in session["audio"].items() if Path(p).is_file()]
    f = doc.get("file")
    if isinstance(f, str) and Path(f).suffix.lower() in AUDIO_EXTS and Path(f).is_file():
        return [AudioSource(Path(f), "call")]
    return []


def _audio_src(src: AudioSource, out_path: Path | None, embed: bool) -> str:
    p = src.path.resolve()
    if embed:
        try:
            import soundfile as sf

            data, rate = sf.read(str(p), always_2d=True)
            if rate not in (8000, 12000, 16000, 24000, 48000):
                raise ValueError("rate not supported by Opus")
            buf = io.BytesIO()
            sf.write(buf, data, rate, format="OGG", subtype="OPUS")
            return "data:audio/ogg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        except Exception:  # fall back to the original bytes
            mime = _MIME.get(p.suffix.lower()) or mimetypes.guess_type(p.name)[0] or "audio/wav"
            return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")
    if out_path is not None:
        try:
            rel = os.path.relpath(p, out_path.resolve().parent)
            return urllib.parse.quote(Path(rel).as_posix())
        except ValueError:  # other drive (Windows)
            pass
    return p.as_uri()


# --------------------------------------------------------------------------- html
