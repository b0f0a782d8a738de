"""The call list with what a QA lead groups by: agent, team, call time.

A manifest is a UTF-8 CSV file with a header row:

``path`` (required)
    the call's audio file, absolute or relative to the manifest's folder;
``agent_id``, ``team`` (optional)
    strings; the dashboard's per-agent and per-team views appear only when they are given;
``call_time`` (optional)
    ISO 8601 (``2026-12-01T09:30:00Z``; a time without an offset is taken as UTC);
any other column
    kept as a string column of ``calls.parquet`` (a name that is already a summary
    column, e.g. ``status``, is refused: rename it).

Without a manifest, a call's ``group`` is its folder (relative to the input root, ``.``
at the top) and its ``call_time`` the file's modification time (UTC); ``agent_id`` and
``team`` stay empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from calmcall.errors import ManifestError
from calmcall.fleet.uri import URIError, local_path

#: columns with a meaning; every other manifest column is carried as a string
KNOWN_COLUMNS: tuple[str, ...] = ("path", "agent_id", "call_time", "team")
#: metadata keys every call has (manifest or not)
META_KEYS: tuple[str, ...] = ("agent_id", "team", "group", "call_time")
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


def is_manifest(target: str) -> bool:
    """True when ``target`` is an existing ``.csv`` file (a manifest, not audio)."""
    p = Path(target).expanduser()
    try:
        return p.suffix.lower() == ".csv" and p.is_file()
    except OSError:
        return False


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time as an aware UTC datetime (naive = UTC). ``ValueError`` if malformed."""
    t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def read_manifest(
    path: str | os.PathLike[str], *, reserved: set[str] | frozenset[str] = frozenset()
) -> tuple[list[Path], dict[str, dict[str, str]]]:
    """The calls a manifest lists (resolved, in file order, repeated paths dropped) and,
    per call (key: the resolved path as ``str``), its metadata: ``agent_id``, ``team``,
    ``call_time`` (ISO 8601 UTC or ``""``), ``group`` (the team, else the folder name)
    and the extra columns. ``reserved``: column names that would collide with output
    columns. Raises :class:`ManifestError` naming the file, the row and the fix."""
    p = Path(path).expanduser()
    try:
        if p.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{p}: the manifest is over {MAX_MANIFEST_BYTES >> 20} MiB; split it into several runs")
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise ManifestError(
                    f"{p}: the manifest is empty; give a header row (path,agent_id,call_time,team) and one row per call"
                )
            cols = [c.strip() for c in header]
            if "path" not in cols:
                raise ManifestError(
                    f"{p}: a manifest needs a 'path' column (header: {', '.join(map(repr, cols)) or 'none'}); "
                    "add one naming each call's audio file"
                )
            bad = [c for c in cols if not c]
            dup = sorted({c for c in cols if cols.count(c) > 1})
            clash = sorted(set(cols) & set(reserved) - set(KNOWN_COLUMNS))
            if bad or dup or clash:
                what = (
                    "an empty column name"
                    if bad
                    else f"the column {dup[0]!r} twice"
                    if dup
                    else f"the column {clash[0]!r}, which is an output column of its own"
                )
                raise ManifestError(
                    f"{p}: the header has {what}; give every column a distinct name "
                    "(rename extra columns that clash, e.g. to manifest_" + (clash or dup or ["x"])[0] + ")"
                )
            rows = list(reader)
    except OSError as exc:
        raise ManifestError(f"{p}: cannot read the manifest ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{p}: not a UTF-8 CSV manifest ({str(exc).splitlines()[0]}); save it as CSV UTF-8") from None
    files: list[Path] = []
    meta: dict[str, dict[str, str]] = {}
    for n, raw in enumerate(rows, start=2):
        if not any(v.strip() for v in raw):
            continue  # a blank line
        if len(raw) != len(cols):
            raise ManifestError(f"{p}: row {n} has {len(raw)} fields, the header {len(cols)}; quote fields that contain commas")
        r = {c: v.strip() for c, v in zip(cols, raw)}
        if not r["path"]:
            raise ManifestError(f"{p}: row {n} has an empty path; give every row the call's audio file")
        try:
            given = Path(local_path(r["path"], f"row {n}'s path")).expanduser()
        except URIError as exc:
            raise ManifestError(f"{p}: {exc}") from None
        call_path = (given if given.is_absolute() else p.parent / given).resolve()
        if str(call_path) in meta:
            continue
        t = r.get("call_time", "")
        if t:
            try:
                t = parse_time(t).isoformat(timespec="seconds")
            except ValueError:
                raise ManifestError(
                    f"{p}: row {n}: call_time {t[:40]!r} is not an ISO 8601 time (e.g. 2026-12-01T09:30:00Z)"
                ) from None
        m = {k: v for k, v in r.items() if k != "path"}
        m.setdefault("agent_id", "")
        m.setdefault("team", "")
        m["call_time"] = t
        m["group"] = m["team"] or call_path.parent.name
        files.append(call_path)
        meta[str(call_path)] = m
    if not files:
        raise ManifestError(f"{p}: the manifest lists no calls; add one row per call under the header")
    return files, meta


def folder_meta(files: list[Path], root: Path) -> dict[str, dict[str, str]]:
    """Metadata without a manifest: ``group`` = the folder under ``root`` (``.`` at the
    top), ``call_time`` = the file's modification time (UTC, ISO 8601), no agent, no team."""
    out: dict[str, dict[str, str]] = {}
    for f in files:
        try:
            rel = str(f.parent.relative_to(root)) or "."
        except ValueError:
            rel = f.parent.name
        try:
            t = dt.datetime.fromtimestamp(f.stat().st_mtime, tz=dt.UTC).isoformat(timespec="seconds")
        except OSError:
            t = ""
        out[str(f)] = {"agent_id": "", "team": "", "call_time": t, "group": rel}
    return out
