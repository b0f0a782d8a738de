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

Modules, in the order of a log's life: :mod:`.paths` (folders, names, constants),
:mod:`.records` (one record encoded / checked), :mod:`.writer`, :mod:`.reader`,
:mod:`.catalog` (listing and resolving sessions), :mod:`.analysis` (a session as the
analyze document).
"""

from __future__ import annotations

from .analysis import session_to_analysis
from .catalog import SessionInfo, agent_in_band_share, find_sessions, glob_escape, list_sessions, resolve_session, session_info
from .paths import (
    AUDIO_ROLES,
    ENV_SESSIONS_DIR,
    SCHEMA_VERSION,
    SESSION_SUFFIX,
    SessionLogError,
    default_sessions_dir,
    resolve_sessions_dir,
)
from .reader import SessionLog, iter_replay, read_session
from .records import MAX_T_S, damage_note, record_problem
from .writer import LogGuard, SessionWriter

__all__ = [
    "AUDIO_ROLES",
    "ENV_SESSIONS_DIR",
    "MAX_T_S",
    "SCHEMA_VERSION",
    "SESSION_SUFFIX",
    "LogGuard",
    "SessionInfo",
    "SessionLog",
    "SessionLogError",
    "SessionWriter",
    "agent_in_band_share",
    "damage_note",
    "default_sessions_dir",
    "find_sessions",
    "glob_escape",
    "iter_replay",
    "list_sessions",
    "read_session",
    "record_problem",
    "resolve_session",
    "resolve_sessions_dir",
    "session_info",
    "session_to_analysis",
]
