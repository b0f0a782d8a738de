"""Where session logs live, their names and constants, and the log's error type."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calmcall.errors import RuntimeFault

SCHEMA_VERSION = 1
SESSION_SUFFIX = ".jsonl"
ENV_SESSIONS_DIR = "CALMCALL_SESSIONS_DIR"
AUDIO_ROLES = ("agent", "customer")

_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class SessionLogError(RuntimeFault):
    """The session log could not be written (disk full, fsync failed, ...)."""


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
    return datetime.now(UTC)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
