"""``OUT/calls.parquet``: one row per call, the summary columns plus grouping.

Columns, in order:

* every :data:`calmcall.qa.scorecard.CSV_FIELDS` column: ``file``, ``status``
  (``ok``/``error``), ``error``, ``json``, ``report`` as strings; counts
  (``prompts_*``, ``overtalk_count``, ``agent_interruptions``, ``silences_over_10s``,
  ``escalation_episodes``, ``escalations_not_back_in_band``, ``words``) as int64; the
  other numbers (seconds ``*_s``, shares ``*_share`` in [0, 1], ``agent_median_wpm``,
  ``talk_ratio_agent``) as float64; empty (not measured, or an error row) as null;
* ``agent_talk_s``, ``overtalk_s`` (float64, seconds): the denominators of the
  dashboard's rates;
* ``agent_id``, ``team``, ``group`` (strings; ``group`` = the team, else the folder)
  and ``call_time`` (timestamp[ms, UTC], null when unknown);
* the manifest's extra columns (strings).

Query it with DuckDB (``SELECT team, avg(in_band_share) FROM 'OUT/calls.parquet'
WHERE status = 'ok' GROUP BY team``), pandas (``pd.read_parquet``) or Spark
(``spark.read.parquet``); docs/fleet.md has more.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from calmcall.fleet.manifest import META_KEYS, parse_time
from calmcall.qa import scorecard as sc
from calmcall.safeio import atomic_write_bytes

CALLS_PARQUET = "calls.parquet"
STRING_COLUMNS: frozenset[str] = frozenset({"file", "status", "error", "json", "report"})
INT_COLUMNS: frozenset[str] = frozenset(
    {c for c in sc.CSV_FIELDS if c.startswith("prompts_")}
    | {
        "overtalk_count",
        "agent_interruptions",
        "silences_over_10s",
        "escalation_episodes",
        "escalations_not_back_in_band",
        "words",
    }
)
#: columns calls.parquet adds to the summary row (the batch puts them in each row)
EXTRA_NUMBER_COLUMNS: tuple[str, ...] = ("agent_talk_s", "overtalk_s")
#: every column name the table defines itself (a manifest's extra column must not reuse one)
RESERVED_COLUMNS: frozenset[str] = frozenset(sc.CSV_FIELDS) | frozenset(EXTRA_NUMBER_COLUMNS) | frozenset(META_KEYS)


def _num(v: Any) -> float | None:
    if v is None or v == "" or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def _int(v: Any) -> int | None:
    x = _num(v)
    return None if x is None else int(round(x))


def _time(v: Any) -> dt.datetime | None:
    if not v:
        return None
    try:
        return parse_time(str(v))
    except ValueError:
        return None


def calls_table(rows: Sequence[dict[str, Any]], meta: dict[str, dict[str, str]] | None = None) -> Any:
    """A ``pyarrow.Table`` of ``rows`` (summary rows, keyed by ``file`` = the source
    path) joined with ``meta`` (per source path: agent_id, team, group, call_time and
    extra manifest columns). Column types as in the module doc."""
    import pyarrow as pa

    meta = meta or {}
    extra = sorted({k for m in meta.values() for k in m} - RESERVED_COLUMNS)
    cols: dict[str, Any] = {}
    for c in (*sc.CSV_FIELDS, *EXTRA_NUMBER_COLUMNS):
        vals = [r.get(c) for r in rows]
        if c in STRING_COLUMNS:
            cols[c] = pa.array([str(v if v is not None else "") for v in vals], pa.string())
        elif c in INT_COLUMNS:
            cols[c] = pa.array([_int(v) for v in vals], pa.int64())
        else:
            cols[c] = pa.array([_num(v) for v in vals], pa.float64())
    ms = [meta.get(str(r.get("file", "")), {}) for r in rows]
    for c in ("agent_id", "team", "group"):
        cols[c] = pa.array([str(m.get(c, "") or "") for m in ms], pa.string())
    cols["call_time"] = pa.array([_time(m.get("call_time")) for m in ms], pa.timestamp("ms", tz="UTC"))
    for c in extra:
        cols[c] = pa.array([str(m.get(c, "") or "") for m in ms], pa.string())
    return pa.table(cols)


def have_pyarrow() -> bool:
    """True when pyarrow is importable (``pip install 'calmcall[fleet]'``)."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def write_calls_parquet(path: Path, rows: Sequence[dict[str, Any]], meta: dict[str, dict[str, str]] | None = None) -> Path | None:
    """Write ``calls.parquet`` atomically (``0600``); ``None`` (nothing written) when
    pyarrow is not installed."""
    if not have_pyarrow():
        return None
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(calls_table(rows, meta), buf, compression="zstd")
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_calls(out_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of ``out_dir/calls.parquet`` as dicts (``call_time`` an aware datetime or None)."""
    import pyarrow.parquet as pq

    return pq.read_table(Path(out_dir) / CALLS_PARQUET).to_pylist()
