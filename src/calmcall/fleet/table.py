"""``OUT/calls.parquet``: one row per call, the summary columns plus grouping.

Columns: every :data:`calmcall.qa.scorecard.CSV_FIELDS` column (numbers as float64,
empty as null; ``file``, ``status``, ``error``, ``json``, ``report`` as strings), plus
``agent_talk_s`` and ``overtalk_s`` (seconds), ``agent_id``, ``team``, ``group``,
``call_time`` (timestamp, UTC; null when unknown) and any extra manifest columns
(strings). Query it with DuckDB (``SELECT team, avg(in_band_share) FROM
'OUT/calls.parquet' GROUP BY team``), pandas or Spark.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, Sequence

from calmcall.qa import scorecard as sc
from calmcall.safeio import atomic_write_bytes

CALLS_PARQUET = "calls.parquet"
STRING_COLUMNS = {"file", "status", "error", "json", "report", "agent_id", "team", "group"}
NUMBER_COLUMNS: tuple[str, ...] = tuple(c for c in sc.CSV_FIELDS if c not in STRING_COLUMNS) + ("agent_talk_s", "overtalk_s")


def _num(v: Any) -> float | None:
    if v is None or v == "" or isinstance(v, bool) and False:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _time(v: Any) -> dt.datetime | None:
    if not v:
        return None
    try:
        t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def calls_table(rows: Sequence[dict[str, Any]], meta: dict[str, dict[str, Any]] | None = None) -> Any:
    """A ``pyarrow.Table`` of ``rows`` (summary rows keyed by ``file``) joined with
    ``meta`` (per file: agent_id, team, group, call_time, extra columns)."""
    import pyarrow as pa

    meta = meta or {}
    extra = sorted({k for m in meta.values() for k in m} - {"agent_id", "team", "group", "call_time"} - set(sc.CSV_FIELDS))
    cols: dict[str, Any] = {}
    for c in sc.CSV_FIELDS:
        if c in STRING_COLUMNS:
            cols[c] = pa.array([str(r.get(c, "") or "") for r in rows], pa.string())
        else:
            cols[c] = pa.array([_num(r.get(c)) for r in rows], pa.float64())
    for c in ("agent_talk_s", "overtalk_s"):
        cols[c] = pa.array([_num(r.get(c)) for r in rows], pa.float64())
    ms = [meta.get(str(r.get("file", "")), {}) for r in rows]
    for c in ("agent_id", "team", "group"):
        cols[c] = pa.array([str(m.get(c, "") or "") for m in ms], pa.string())
    cols["call_time"] = pa.array([_time(m.get("call_time")) for m in ms], pa.timestamp("s", tz="UTC"))
    for c in extra:
        cols[c] = pa.array([str(m.get(c, "") or "") for m in ms], pa.string())
    return pa.table(cols)


def write_calls_parquet(path: Path, rows: Sequence[dict[str, Any]], meta: dict[str, dict[str, Any]] | None = None) -> Path | None:
    """Write ``calls.parquet`` atomically; ``None`` (nothing written) when pyarrow is
    not installed (``pip install 'calmcall[fleet]'``)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    buf = io.BytesIO()
    pq.write_table(calls_table(rows, meta), buf)
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_calls(out_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of ``out_dir/calls.parquet`` as dicts (``call_time`` a datetime or None)."""
    import pyarrow.parquet as pq

    return pq.read_table(Path(out_dir) / CALLS_PARQUET).to_pylist()
