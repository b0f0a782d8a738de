"""The call list with what a QA lead groups by: agent, team, call time.

A manifest is a CSV file with a header. ``path`` is required (absolute, or relative
to the manifest's folder); ``agent_id``, ``call_time`` (ISO 8601) and ``team`` are
optional; every other column is kept as a string column of ``calls.parquet``.
Without a manifest, each call's ``group`` is its folder (relative to the input root)
and ``call_time`` the file's modification time (UTC); ``agent_id`` and ``team`` stay
empty, so the dashboard shows no per-agent or per-team views.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path
from typing import Any

from calmcall.fleet import ManifestError

KNOWN_COLUMNS: tuple[str, ...] = ("path", "agent_id", "call_time", "team")


def is_manifest(target: str) -> bool:
    """True when ``target`` is an existing ``.csv`` file (a manifest, not audio)."""
    p = Path(target).expanduser()
    return p.suffix.lower() == ".csv" and p.is_file()


def read_manifest(path: str | os.PathLike[str]) -> tuple[list[Path], dict[str, dict[str, Any]]]:
    """The calls a manifest lists (resolved, in file order, duplicates dropped) and
    per call (key: resolved path as str) its metadata: ``agent_id``, ``team``,
    ``call_time``, ``group`` (the team, else the folder) and any extra columns.
    Raises :class:`ManifestError` naming the row that is wrong."""
    p = Path(path).expanduser()
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = [c.strip() for c in (reader.fieldnames or [])]
            if "path" not in fields:
                raise ManifestError(f"{p}: a manifest needs a 'path' column (header: {', '.join(fields) or 'none'}); "
                                    "add one naming each call's audio file")
            rows = list(reader)
    except OSError as exc:
        raise ManifestError(f"{p}: cannot read the manifest ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{p}: not a UTF-8 CSV manifest ({exc}); save it as CSV UTF-8") from None
    files: list[Path] = []
    meta: dict[str, dict[str, Any]] = {}
    for n, raw in enumerate(rows, start=2):
        r = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not r.get("path"):
            raise ManifestError(f"{p}: row {n} has an empty path; give every row the call's audio file")
        f = Path(r["path"]).expanduser()
        f = (f if f.is_absolute() else p.parent / f).resolve()
        if str(f) in meta:
            continue
        t = r.get("call_time", "")
        if t:
            try:
                dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
            except ValueError:
                raise ManifestError(f"{p}: row {n}: call_time {t!r} is not ISO 8601 (e.g. 2026-12-01T09:30:00Z)") from None
        m = {k: v for k, v in r.items() if k != "path" and k}
        m.setdefault("agent_id", "")
        m.setdefault("team", "")
        m["call_time"] = t
        m["group"] = m["team"] or f.parent.name
        files.append(f)
        meta[str(f)] = m
    if not files:
        raise ManifestError(f"{p}: the manifest lists no calls; add one row per call under the header")
    return files, meta


def folder_meta(files: list[Path], root: Path) -> dict[str, dict[str, Any]]:
    """Metadata without a manifest: ``group`` = folder under ``root`` ('.' at the
    top), ``call_time`` = file mtime (UTC, ISO 8601), no agent or team."""
    out: dict[str, dict[str, Any]] = {}
    for f in files:
        try:
            rel = str(f.parent.relative_to(root)) or "."
        except ValueError:
            rel = f.parent.name
        try:
            t = dt.datetime.fromtimestamp(f.stat().st_mtime, tz=dt.timezone.utc).isoformat(timespec="seconds")
        except OSError:
            t = ""
        out[str(f)] = {"agent_id": "", "team": "", "call_time": t, "group": rel}
    return out
