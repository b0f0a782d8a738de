"""Writing a session log crash-safely (:class:`SessionWriter`), and :class:`LogGuard` for a
live call, where coaching goes on when the disk fails. Durability rules: the package docstring."""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .paths import _SESSION_ID_RE, AUDIO_ROLES, SCHEMA_VERSION, SESSION_SUFFIX, SessionLogError, _fsync_dir, _iso, _utc_now
from .records import _as_record, _encode, _is_time


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
            self._thread = threading.Thread(target=self._fsync_loop, name=f"calmcall-session-fsync-{sid}", daemon=True)
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
            sync_now = record["type"] == "prompt" or (self._thread is None and now - self._dirty_since >= self._interval)
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
            "agent_in_band_share": (round(self._agent_in_band_n / self._agent_band_n, 4) if self._agent_band_n else None),
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

    def __enter__(self) -> SessionWriter:
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
            info.update({"error": self.reason(), "stopped_at_s": round(self.stopped_at_s or 0.0, 2), "lost_records": self.lost})
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
        return (
            f"calmcall: session log stopped at {self.stopped_at_s or 0.0:.1f} s of audio: {self.reason()}; "
            f"{self.lost} record(s) after that were not logged (coaching went on); what was logged before "
            f"is in {self.writer.path}"
        )
