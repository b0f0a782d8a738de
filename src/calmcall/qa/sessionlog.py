"""Crash-safe session logs: one append-only JSONL file per live or replay session.

Layout of a log (one JSON object per line, UTF-8)::

    {"type": "session_start", "schema": 1, "session_id": "...", "started_at": "...Z", "meta": {...}}
    {"type": "measures", "t_s": 0.25, "speaker": "agent", ...}      # events.to_dict() records
    {"type": "prompt", "t_s": 31.5, "kind": "pace", ...}
    ...
    {"type": "session_end", "t_s": 312.0, "ended_at": "...Z", "summary": {...}}

Durability (docs/background.md: Durability):

* every record is written with a single unbuffered ``os.write`` of the whole line
  (``O_APPEND``), so a killed process (``kill -9``) loses nothing that ``write()``
  returned for: the bytes are already in the kernel;
* the file is ``fsync``-ed at most ``fsync_interval_s`` (1 s) after any record, by a
  small background thread (writers never wait for it), and at once after every prompt
  (``write()`` of a prompt returns once it is on disk), so an OS crash or power cut
  loses at most about 1 s of events;
* the directory is ``fsync``-ed when the file is created, so the file itself survives;
* a failed ``fsync`` is never retried as if nothing happened: the writer turns failed,
  and every later ``write()``/``close()`` raises :class:`SessionLogError`;
* :func:`read_session` tolerates a torn last line (and skips, counting them, any
  unreadable lines in the middle), so a log cut short still reads back.

Only masked data may be written: the pipeline masks payment data in words before
they reach the writer. Files are created ``0600`` in a ``0700`` directory.

The audio of a session is recorded only on request (``--record-audio``); by convention
it lives next to the log as ``<session_id>.<role>.flac`` (see
:meth:`SessionWriter.audio_path`), which is where reports look for it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeGuard

from calmcall import events as _events
from calmcall.errors import RuntimeFault

SCHEMA_VERSION = 1
SESSION_SUFFIX = ".jsonl"
ENV_SESSIONS_DIR = "CALMCALL_SESSIONS_DIR"
AUDIO_ROLES = ("agent", "customer")

_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class SessionLogError(RuntimeFault):
    """The session log could not be written (disk full, fsync failed, ...)."""


# --------------------------------------------------------------------------- paths


def default_sessions_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the sessions folder: ``$CALMCALL_SESSIONS_DIR`` if set, else
    ``$XDG_DATA_HOME/calmcall/sessions``, else ``~/.local/share/calmcall/sessions``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_SESSIONS_DIR):
        return Path(env[ENV_SESSIONS_DIR]).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "calmcall" / "sessions"


def resolve_sessions_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--sessions-dir`` wins over the environment and the default."""
    return Path(cli_value).expanduser() if cli_value else default_sessions_dir()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- records


def _finite(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _as_record(event: Any) -> dict[str, Any]:
    if isinstance(event, Mapping):
        record = dict(event)
    elif dataclasses.is_dataclass(event) and not isinstance(event, type):
        record = _events.to_dict(event)  # type: ignore[arg-type]
    else:
        raise TypeError(f"SessionWriter.write() takes an event or a dict, not {type(event).__name__}")
    if not isinstance(record.get("type"), str):
        raise ValueError("a session log record needs a string 'type' key")
    return record


def _encode(record: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN/inf somewhere: store null rather than invalid JSON
        text = json.dumps(_finite(record), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n").encode("utf-8")


# --------------------------------------------------------------------------- writer


class SessionWriter:
    """Append events of one session to ``<directory>/<session_id>.jsonl``.

    Parameters
    ----------
    directory:
        The sessions folder (created, mode 0700, if missing).
    meta:
        JSON-serialisable facts about the session, stored in the first record:
        e.g. ``{"source": "live"|"replay", "file": ..., "agent": "name or id",
        "channels": {"agent": 0, "customer": 1}, "config": {...targets...},
        "devices": {...}, "model": ...}``. Never put unmasked call content here.
    fsync_interval_s:
        Longest time a written record may stay un-fsynced (default 1 s). Prompts
        are fsynced at once.
    session_id:
        Defaults to ``YYYYmmddTHHMMSSZ-xxxxxx`` (UTC start time + random suffix).

    ``write()`` of a prompt returns after its ``fsync`` (typically milliseconds, more
    on a busy disk); other records return at once and a background thread fsyncs
    them within ``fsync_interval_s``. Call it from the session's thread, never from
    an audio callback. The writer is thread-safe.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        meta: Mapping[str, Any] | None = None,
        *,
        fsync_interval_s: float = 1.0,
        session_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        background_fsync: bool = True,
    ) -> None:
        if fsync_interval_s <= 0:
            raise ValueError(f"fsync_interval_s must be > 0 seconds, got {fsync_interval_s!r}")
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.started_at = _utc_now()
        sid = session_id or f"{self.started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        if not _SESSION_ID_RE.match(sid):
            raise ValueError(f"session_id {sid!r}: use letters, digits, '.', '_' or '-' only")
        self.session_id = sid
        self.path = self.directory / f"{sid}{SESSION_SUFFIX}"
        self.meta = dict(meta or {})
        self._interval = float(fsync_interval_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._error: BaseException | None = None
        self._dirty = False
        self._dirty_since = 0.0
        self._sync_lock = threading.Lock()  # one fsync at a time; never held by write()
        # running summary, stored in the session_end record so `sessions` lists fast
        self.records = 0
        self.prompts = 0
        self.words = 0
        self.last_t_s = 0.0
        self._agent_band_n = 0
        self._agent_in_band_n = 0

        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, 0o600)
        try:
            header = {
                "type": "session_start",
                "schema": SCHEMA_VERSION,
                "session_id": sid,
                "started_at": _iso(self.started_at),
                "meta": self.meta,
            }
            self._write_bytes(_encode(header))
            os.fsync(self._fd)
            _fsync_dir(self.directory)
        except BaseException:
            os.close(self._fd)
            try:  # a header that did not reach the disk (e.g. it is full): leave no stub log
                self.path.unlink()
            except OSError:
                pass
            raise
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        if background_fsync:
            self._thread = threading.Thread(
                target=self._fsync_loop, name=f"calmcall-session-fsync-{sid}", daemon=True
            )
            self._thread.start()

    # -- public API ---------------------------------------------------------------

    def audio_path(self, role: str) -> Path:
        """Where ``--record-audio`` should store the FLAC of ``role`` for this session."""
        if role not in AUDIO_ROLES:
            raise ValueError(f"role must be one of {AUDIO_ROLES}, got {role!r}")
        return self.directory / f"{self.session_id}.{role}.flac"

    @property
    def failed(self) -> bool:
        return self._error is not None

    def write(self, event: Any) -> None:
        """Append one event (an ``events`` dataclass or a dict with a ``"type"``).

        Raises :class:`SessionLogError` if the log cannot be written or an earlier
        fsync failed; ``ValueError`` after :meth:`close`.
        """
        record = _as_record(event)
        data = _encode(record)
        with self._lock:
            if self._closed:
                raise ValueError(f"session log {self.path} is closed")
            self._raise_if_failed()
            try:
                self._write_bytes(data)
            except OSError as exc:
                self._error = exc
                raise SessionLogError(f"cannot write session log {self.path}: {exc}") from exc
            self._account(record)
            now = self._clock()
            if not self._dirty:
                self._dirty, self._dirty_since = True, now
            sync_now = record["type"] == "prompt" or (
                self._thread is None and now - self._dirty_since >= self._interval
            )
        if sync_now:
            self._sync()
        elif self._thread is not None:
            self._wake.set()

    def flush(self) -> None:
        """fsync now (e.g. before a risky operation)."""
        with self._lock:
            self._raise_if_failed()
            if self._closed:
                return
        self._sync()

    def summary(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "prompts": self.prompts,
            "words": self.words,
            "duration_s": round(self.last_t_s, 3),
            "agent_in_band_share": (
                round(self._agent_in_band_n / self._agent_band_n, 4) if self._agent_band_n else None
            ),
        }

    def close(self, extra: Mapping[str, Any] | None = None) -> None:
        """Write the ``session_end`` record, fsync and close. Idempotent. ``extra``
        (JSON-serialisable, e.g. ``{"audio": recorder summary}``) is added to the
        record's ``summary``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        with self._lock:
            try:
                if self._error is None:
                    end = {
                        "type": "session_end",
                        "t_s": round(self.last_t_s, 3),
                        "ended_at": _iso(_utc_now()),
                        "summary": {**self.summary(), **dict(extra or {})},
                    }
                    try:
                        self._write_bytes(_encode(end))
                        os.fsync(self._fd)
                    except OSError as exc:
                        self._error = exc
                        raise SessionLogError(f"cannot finish session log {self.path}: {exc}") from exc
                else:
                    self._raise_if_failed()
            finally:
                os.close(self._fd)

    def __enter__(self) -> "SessionWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------

    def _write_bytes(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # one os.write in practice; loop only on a short write
            n = os.write(self._fd, view)
            view = view[n:]

    def _account(self, record: dict[str, Any]) -> None:
        self.records += 1
        t = record.get("t_s")
        if isinstance(t, (int, float)) and math.isfinite(t) and t > self.last_t_s:
            self.last_t_s = float(t)
        kind = record["type"]
        if kind == "prompt":
            self.prompts += 1
        elif kind == "word":
            self.words += 1
        elif kind == "measures" and record.get("speaker") == "agent":
            if record.get("active") and record.get("in_band") is not None:
                self._agent_band_n += 1
                self._agent_in_band_n += bool(record["in_band"])

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise SessionLogError(
                f"session log {self.path} failed earlier ({self._error}); records after the "
                "last successful fsync may be lost, start a new session log"
            ) from self._error

    def _sync(self) -> None:
        """fsync outside the record lock, so other threads keep writing meanwhile;
        records written during the fsync stay dirty for the next one."""
        with self._sync_lock:
            with self._lock:
                self._raise_if_failed()
                if not self._dirty:
                    return
                self._dirty = False
            try:
                os.fsync(self._fd)
            except OSError as exc:  # never retried: the kernel may have dropped the pages
                with self._lock:
                    self._error = exc
                raise SessionLogError(f"fsync of session log {self.path} failed: {exc}") from exc

    def _fsync_loop(self) -> None:
        """fsync at most ``fsync_interval_s`` after the first unsynced record."""
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                if not self._dirty or self._error is not None:
                    continue
                delay = self._dirty_since + self._interval - self._clock()
            if delay > 0 and self._stop.wait(delay):
                return
            try:
                self._sync()
            except SessionLogError:
                return  # stored in self._error; the next write() raises it


class LogGuard:
    """A :class:`SessionWriter` for a live call, where coaching must go on when the
    disk fails: the first failed ``write`` (disk full, fsync error, ...) stops logging,
    is remembered, and every later event is counted as lost instead of raised.
    :meth:`status` is what the overlay's status message carries under ``"log"``.
    What was written before the failure stays as it is on disk (a torn last line at
    most, which :func:`read_session` drops)."""

    def __init__(self, writer: SessionWriter) -> None:
        self.writer = writer
        self.error: BaseException | None = None
        self.stopped_at_s: float | None = None
        self.lost = 0

    def write(self, event: Any) -> None:
        if self.error is not None:
            self.lost += 1
            return
        try:
            self.writer.write(event)
        except (SessionLogError, OSError) as exc:
            self.error = exc.__cause__ if isinstance(exc, SessionLogError) and exc.__cause__ else exc
            t = getattr(event, "t_s", None) if not isinstance(event, Mapping) else event.get("t_s")
            self.stopped_at_s = float(t) if _is_time(t) else self.writer.last_t_s
            self.lost += 1

    @property
    def failed(self) -> bool:
        return self.error is not None

    def reason(self) -> str:
        from calmcall.safeio import explain

        return explain(self.error) if self.error is not None else ""

    def status(self) -> dict[str, Any]:
        """``{"log": {"state": "ok"|"stopped", "path", "error", "stopped_at_s", "lost_records"}}``."""
        info: dict[str, Any] = {"state": "stopped" if self.failed else "ok", "path": str(self.writer.path)}
        if self.failed:
            info.update({"error": self.reason(), "stopped_at_s": round(self.stopped_at_s or 0.0, 2),
                         "lost_records": self.lost})
        return {"log": info}

    def close(self, extra: Mapping[str, Any] | None = None) -> None:
        """Finish the log; a failure here (the end record did not fit) is remembered too."""
        try:
            self.writer.close(extra=extra)
        except (SessionLogError, OSError) as exc:
            if self.error is None:
                self.error = exc.__cause__ if isinstance(exc, SessionLogError) and exc.__cause__ else exc
                self.stopped_at_s = self.writer.last_t_s
                self.lost += 1  # the session_end record

    def summary_line(self) -> str:
        """The end-of-session line about the log."""
        if not self.failed:
            return f"calmcall: session log {self.writer.path}"
        return (f"calmcall: session log stopped at {self.stopped_at_s or 0.0:.1f} s of audio: {self.reason()}; "
                f"{self.lost} record(s) after that were not logged (coaching went on); what was logged before "
                f"is in {self.writer.path}")


# --------------------------------------------------------------------------- reader


@dataclass
class Session:
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
MAX_T_S = 7 * 86400.0
#: Keys whose values must be a finite number (or null) wherever they appear at the
#: top of a record: times, and the measures the reports plot.
_NUMERIC_KEYS = ("t_s", "start_s", "end_s", "duration_s", "f0_hz", "pitch_st", "level_db", "level_rel_db",
                 "rate_syl_s", "rate_rel", "wpm", "confidence")
_TIME_KEYS = ("t_s", "start_s", "end_s")
#: What each record type must carry besides a valid ``t_s`` (string keys).
_REQUIRED_STR = {"prompt": ("kind",), "word": ("text", "speaker"), "measures": ("speaker",),
                 "customer_state": ("state",), "baseline": ("speaker",), "partial": ("speaker",)}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # the writer never writes NaN/Infinity


def _is_time(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= MAX_T_S


def record_problem(rec: dict[str, Any]) -> str | None:
    """Why an event record cannot be used (None when it can): no string ``type``, a
    ``t_s`` that is missing or not a time in [0, MAX_T_S], a number field that is not
    a finite number, or a missing field its type needs."""
    kind = rec.get("type")
    if not isinstance(kind, str):
        return "no type"
    if not _is_time(rec.get("t_s")):
        return "bad t_s"
    for key in _NUMERIC_KEYS:
        v = rec.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return f"bad {key}"
        if key in _TIME_KEYS and not _is_time(v):
            return f"bad {key}"
    for key in _REQUIRED_STR.get(kind, ()):
        if not isinstance(rec.get(key), str):
            return f"no {key}"
    if kind == "word" and not (_is_time(rec.get("start_s")) and _is_time(rec.get("end_s"))):
        return "bad word times"
    if kind == "baseline" and not isinstance(rec.get("baseline"), dict):
        return "no baseline"
    return None


def damage_note(skipped: int, torn: bool) -> str | None:
    """``"3 damaged record(s) skipped, torn last line"`` style note, or None."""
    bits = []
    if skipped:
        bits.append(f"{skipped} damaged record(s) skipped")
    if torn:
        bits.append("torn last line dropped")
    return ", ".join(bits) or None


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


def read_session(path: str | os.PathLike[str]) -> Session:
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
    return Session(path=p, header=header, events=events, end=end, torn_tail=torn, skipped_lines=skipped,
                   bad_records=bad)


def _header_config_ok(header: dict[str, Any]) -> bool:
    """False when the logged config is there but unusable (reports plot its targets);
    keys of another calmcall version are fine."""
    meta = header.get("meta")
    if not isinstance(meta, dict) or "config" not in meta:
        return True
    from calmcall.config import logged_config_problem

    return logged_config_problem(meta["config"]) is None


def iter_replay(session: Session) -> Iterator[dict[str, Any]]:
    """The session's events in audio-time order (stable for equal ``t_s``), for a
    replay that re-emits what the live session showed."""
    keyed = [(float(e["t_s"]) if _is_time(e.get("t_s")) else 0.0, i, e) for i, e in enumerate(session.events)]
    for _, _, e in sorted(keyed, key=lambda k: (k[0], k[1])):
        yield e


# --------------------------------------------------------------------------- listing


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
    return (
        (n is None or (isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 10**9))
        and (share is None or (isinstance(share, (int, float)) and not isinstance(share, bool) and 0 <= share <= 1))
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
            session_id=sid, path=p, started_at=None, duration_s=0.0, agent=None, source=None,
            prompts=0, in_band_share=None, complete=False, has_audio=has_audio, error=str(exc),
        )


def list_sessions(directory: str | os.PathLike[str] | None = None) -> list[SessionInfo]:
    """All session logs in ``directory`` (default: :func:`default_sessions_dir`),
    newest first. A missing folder lists as empty."""
    d = Path(directory).expanduser() if directory is not None else default_sessions_dir()
    if not d.is_dir():
        return []
    infos = [session_info(p) for p in d.glob(f"*{SESSION_SUFFIX}") if p.is_file()]
    epoch = datetime.min.replace(tzinfo=timezone.utc)
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


# --------------------------------------------------------------------------- analyze shape


def session_to_analysis(session: Session) -> dict[str, Any]:
    """Turn a session into the ``analyze --json`` document (:mod:`calmcall.document`),
    so scorecards and reports work the same for sessions and for analysed files. The
    per-speaker ``measures`` summary and ``suppressed_prompts`` are not logged: None."""
    from calmcall.document import analysis_document, strip_type

    meta = session.meta
    timeline = strip_type(session.of_type("measures"))
    has_customer = any(m.get("speaker") == "customer" for m in timeline)
    channels = meta.get("channels") if isinstance(meta.get("channels"), dict) else None
    if channels is None:
        channels = {"agent": 0, "customer": 1 if has_customer else None}
    baselines: dict[str, Any] = {"agent": None, "customer": None}
    for b in session.of_type("baseline"):
        if b.get("speaker") in baselines and isinstance(b.get("baseline"), dict):
            baselines[b["speaker"]] = b["baseline"]
    audio = {role: str(p) for role, p in session.audio_paths().items()}
    return analysis_document(
        file=str(meta.get("file") or session.path), duration_s=session.duration_s, channels=channels,
        prompts=strip_type(session.prompts), words=strip_type(session.words), timeline=timeline,
        customer_states=strip_type(session.of_type("customer_state")), baselines=baselines,
        config=config if isinstance(config := meta.get("config"), dict) else {},
        session={
            "session_id": session.session_id,
            "path": str(session.path),
            "started_at": session.header.get("started_at"),
            "agent": meta.get("agent"),
            "source": meta.get("source"),
            "complete": session.complete,
            "torn_tail": session.torn_tail,
            "skipped_lines": session.skipped_lines,
            "bad_records": session.bad_records,
            "damage": session.damage_note,
            "audio": audio,
        },
    )
