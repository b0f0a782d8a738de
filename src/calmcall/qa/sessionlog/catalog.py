"""Listing the sessions of a folder and resolving a reference (path, id, unique prefix)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .paths import AUDIO_ROLES, SESSION_SUFFIX, _iso, _parse_iso, default_sessions_dir
from .reader import read_session
from .records import _is_time, _reject_constant


@dataclass
class SessionInfo:
    session_id: str
    path: Path
    started_at: datetime | None
    duration_s: float
    agent: str | None
    source: str | None
    prompts: int
    in_band_share: float | None
    complete: bool
    has_audio: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    damage: str | None = None  # e.g. "2 damaged record(s) skipped" (logs read in full only)

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "path": str(self.path),
            "started_at": _iso(self.started_at) if self.started_at else None,
            "duration_s": round(self.duration_s, 3),
            "agent": self.agent,
            "source": self.source,
            "prompts": self.prompts,
            "in_band_share": self.in_band_share,
            "complete": self.complete,
            "has_audio": self.has_audio,
            "error": self.error,
            "damage": self.damage,
        }


def _tail_record(path: Path, size: int) -> dict[str, Any] | None:
    """The last complete record of the file, read from its end only."""
    with path.open("rb") as f:
        f.seek(max(0, size - 65536))
        chunk = f.read()
    lines = [ln for ln in chunk.split(b"\n") if ln.strip(b"\x00 \r\t")]
    if not lines:
        return None
    try:
        rec = json.loads(lines[-1], parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return rec if isinstance(rec, dict) else None


def agent_in_band_share(measures: list[dict[str, Any]]) -> float | None:
    """Share of the agent's active, measurable 0.25 s snapshots that were in band."""
    n = k = 0
    for m in measures:
        if m.get("speaker") == "agent" and m.get("active") and m.get("in_band") is not None:
            n += 1
            k += bool(m["in_band"])
    return round(k / n, 4) if n else None


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _summary_ok(tail: dict[str, Any]) -> bool:
    """The ``session_end`` trailer can be listed without reading the log: a valid
    time, a whole prompt count, an in-band share in [0, 1] or null."""
    s = tail.get("summary")
    if not isinstance(s, dict) or not _is_time(tail.get("t_s")):
        return False
    n = s.get("prompts")
    share = s.get("agent_in_band_share")
    return (n is None or (isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 10**9)) and (
        share is None or (isinstance(share, (int, float)) and not isinstance(share, bool) and 0 <= share <= 1)
    )


def session_info(path: str | os.PathLike[str]) -> SessionInfo:
    """Summarise one log; uses the ``session_end`` summary when the log is complete,
    otherwise reads the whole (possibly torn) file."""
    p = Path(path)
    sid = p.name.removesuffix(SESSION_SUFFIX)
    has_audio = any(p.with_name(f"{sid}.{r}.flac").is_file() for r in AUDIO_ROLES)
    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            first = f.readline(1 << 20)
        try:
            header = json.loads(first, parse_constant=_reject_constant) if first.endswith(b"\n") else {}
        except (ValueError, RecursionError):  # a damaged header: read the whole log below
            header = {}
        if not isinstance(header, dict) or header.get("type") != "session_start":
            header = {}
        tail = _tail_record(p, size)
        meta = header.get("meta")
        if not isinstance(meta, dict):
            meta = {}
        if header and tail and tail.get("type") == "session_end" and _summary_ok(tail):
            s = tail["summary"]
            return SessionInfo(
                session_id=str(header.get("session_id") or sid),
                path=p,
                started_at=_parse_iso(header.get("started_at")),
                duration_s=float(tail["t_s"]),
                agent=_str_or_none(meta.get("agent")),
                source=_str_or_none(meta.get("source")),
                prompts=int(s.get("prompts") or 0),
                in_band_share=s.get("agent_in_band_share"),
                complete=True,
                has_audio=has_audio,
            )
        session = read_session(p)
        return SessionInfo(
            session_id=session.session_id,
            path=p,
            started_at=session.started_at,
            duration_s=session.duration_s,
            agent=_str_or_none(session.meta.get("agent")),
            source=_str_or_none(session.meta.get("source")),
            prompts=len(session.prompts),
            in_band_share=agent_in_band_share(session.of_type("measures")),
            complete=session.complete,
            has_audio=has_audio,
            damage=session.damage_note,
        )
    except (OSError, ValueError, RecursionError) as exc:
        return SessionInfo(
            session_id=sid,
            path=p,
            started_at=None,
            duration_s=0.0,
            agent=None,
            source=None,
            prompts=0,
            in_band_share=None,
            complete=False,
            has_audio=has_audio,
            error=str(exc),
        )


def list_sessions(directory: str | os.PathLike[str] | None = None) -> list[SessionInfo]:
    """All session logs in ``directory`` (default: :func:`default_sessions_dir`),
    newest first. A missing folder lists as empty."""
    d = Path(directory).expanduser() if directory is not None else default_sessions_dir()
    if not d.is_dir():
        return []
    infos = [session_info(p) for p in d.glob(f"*{SESSION_SUFFIX}") if p.is_file()]
    epoch = datetime.min.replace(tzinfo=UTC)
    infos.sort(key=lambda s: (s.started_at or epoch, s.session_id), reverse=True)
    return infos


def resolve_session(ref: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None) -> Path | None:
    """Find a session log by path, by id, or by a unique id prefix; None if none."""
    matches = find_sessions(ref, directory)
    return matches[0] if len(matches) == 1 else None


def find_sessions(ref: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Session logs ``ref`` may name: ``[path]`` for an existing ``.jsonl`` file or an
    exact id in ``directory`` (default :func:`default_sessions_dir`), else every log
    whose id starts with ``ref`` (sorted; empty if none, more than one if ambiguous)."""
    p = Path(ref).expanduser()
    if p.is_file() and p.name.endswith(SESSION_SUFFIX):
        return [p]
    d = Path(directory).expanduser() if directory is not None else default_sessions_dir()
    name = str(ref)
    if not name or not d.is_dir() or "/" in name or os.sep in name:
        return []
    exact = d / f"{name.removesuffix(SESSION_SUFFIX)}{SESSION_SUFFIX}"
    if exact.is_file():
        return [exact]
    return sorted(q for q in d.glob(f"{glob_escape(name)}*{SESSION_SUFFIX}") if q.is_file())


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
