"""Reading a session log back: damaged lines skipped and counted, a torn last line dropped."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .paths import AUDIO_ROLES, SESSION_SUFFIX, _parse_iso
from .records import MAX_T_S, _is_time, _reject_constant, damage_note, record_problem


@dataclass
class SessionLog:
    """A session log read back. ``events`` holds every record except the
    ``session_start`` header and ``session_end`` trailer, in file order."""

    path: Path
    header: dict[str, Any]
    events: list[dict[str, Any]]
    end: dict[str, Any] | None = None
    torn_tail: bool = False
    skipped_lines: int = 0
    bad_records: int = 0

    @property
    def damage_note(self) -> str | None:
        """One clause on what was skipped while reading (None for an intact log)."""
        return damage_note(self.skipped_lines + self.bad_records, self.torn_tail)

    @property
    def session_id(self) -> str:
        sid = self.header.get("session_id")
        return sid if isinstance(sid, str) else self.path.name.removesuffix(SESSION_SUFFIX)

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.header.get("meta")
        return meta if isinstance(meta, dict) else {}

    @property
    def language(self) -> dict[str, Any] | None:
        """The language an ``--language auto`` call settled on, as logged: the first
        ``language`` record (written by the live session the moment it saw the
        decision: ``t_s`` = the audio time it saw it, ``language`` = ``en``/``fr``,
        ``probability``, ``detected_at_s``, ``evidence_s``), else the ``language`` of the
        ``session_end`` summary (``t_s`` unknown: 0). None when the call's language was
        fixed (see the logged config), undecided, or the log is older than this record."""
        for e in self.events:
            if e.get("type") == "language" and e.get("language") in ("en", "fr"):
                return dict(e)
        summary = (self.end or {}).get("summary")
        lang = summary.get("language") if isinstance(summary, dict) else None
        if isinstance(lang, dict) and lang.get("language") in ("en", "fr"):
            return {"type": "language", "t_s": 0.0, **lang}
        return None

    @property
    def started_at(self) -> datetime | None:
        return _parse_iso(self.header.get("started_at"))

    @property
    def complete(self) -> bool:
        """True when the writer closed the log cleanly."""
        return self.end is not None

    @property
    def duration_s(self) -> float:
        if self.end is not None and _is_time(self.end.get("t_s")):
            return float(self.end["t_s"])
        return max((float(e["t_s"]) for e in self.events if _is_time(e.get("t_s"))), default=0.0)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    @property
    def prompts(self) -> list[dict[str, Any]]:
        return self.of_type("prompt")

    @property
    def words(self) -> list[dict[str, Any]]:
        return self.of_type("word")

    def audio_paths(self) -> dict[str, Path]:
        """Recorded audio next to the log (``<session_id>.<role>.flac``), if any."""
        out = {}
        for role in AUDIO_ROLES:
            p = self.path.with_name(f"{self.session_id}.{role}.flac")
            if p.is_file():
                out[role] = p
        return out


#: Latest audio time a record may carry (s): a week. Later (1e308, say) is damage,
#: never waited for by a replay.
def _parse_lines(data: bytes) -> tuple[list[dict[str, Any]], bool, int]:
    """Return (records, torn_tail, skipped_lines)."""
    records: list[dict[str, Any]] = []
    skipped = 0
    torn = False
    lines = data.split(b"\n")
    last = len(lines) - 1  # after the final "\n" this is b"" (a complete file)
    for i, raw in enumerate(lines):
        raw = raw.strip(b"\x00 \r\t")  # NUL runs appear after some crashes
        if not raw:
            continue
        try:
            rec = json.loads(raw, parse_constant=_reject_constant)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError, RecursionError):
            if i == last:
                torn = True
            else:
                skipped += 1
            continue
        records.append(rec)
    return records, torn, skipped


def read_session(path: str | os.PathLike[str]) -> SessionLog:
    """Read a session log back. A torn last line (the writer was killed mid-write,
    or the machine lost power) is dropped and reported as ``torn_tail``; unreadable
    lines elsewhere are skipped and counted in ``skipped_lines``.

    Raises ``FileNotFoundError`` / ``IsADirectoryError`` like ``open()`` and
    ``ValueError`` when the file holds no session records at all.
    """
    p = Path(path)
    data = p.read_bytes()
    records, torn, skipped = _parse_lines(data)
    header: dict[str, Any] = {}
    end: dict[str, Any] | None = None
    if records and records[0].get("type") == "session_start":
        header = records.pop(0)
    if records and records[-1].get("type") == "session_end":
        end = records.pop()
    if not header and not records and end is None:
        raise ValueError(f"{p}: not a calmcall session log (no readable records)")
    bad = 0
    if end is not None and not _is_time(end.get("t_s")):
        end = {**end, "t_s": None}  # the end record's time is damaged: the events' times stand
        bad += 1
    # an event later than the end of the session (with a minute's slack) is damage too
    last_t_s = float(end["t_s"]) + 60.0 if end is not None and end.get("t_s") is not None else MAX_T_S
    events = []
    for rec in records:
        if record_problem(rec) is None and float(rec["t_s"]) <= last_t_s:
            events.append(rec)
        else:
            bad += 1
    if header and not _header_config_ok(header):
        header = {**header, "meta": {k: v for k, v in header["meta"].items() if k != "config"}}
        bad += 1
    return SessionLog(path=p, header=header, events=events, end=end, torn_tail=torn, skipped_lines=skipped, bad_records=bad)


def _header_config_ok(header: dict[str, Any]) -> bool:
    """False when the logged config is there but unusable (reports plot its targets);
    keys of another calmcall version are fine."""
    meta = header.get("meta")
    if not isinstance(meta, dict) or "config" not in meta:
        return True
    from calmcall.config import logged_config_problem

    return logged_config_problem(meta["config"]) is None


def iter_replay(session: SessionLog) -> Iterator[dict[str, Any]]:
    """The session's events in audio-time order (stable for equal ``t_s``), for a
    replay that re-emits what the live session showed."""
    keyed = [(float(e["t_s"]) if _is_time(e.get("t_s")) else 0.0, i, e) for i, e in enumerate(session.events)]
    for _, _, e in sorted(keyed, key=lambda k: (k[0], k[1])):
        yield e
