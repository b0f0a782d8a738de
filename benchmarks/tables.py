"""The benchmarks' result table: ``(metric, value, goal)`` rows printed in aligned columns."""

from __future__ import annotations

from collections.abc import Sequence


def format_rows(rows: Sequence[Sequence[str]], *, header: bool = False, rule: bool = False) -> list[str]:
    """The table's lines: columns ``metric`` and ``value`` padded to their widest cell,
    two spaces apart, then ``goal``; ``header`` adds a ``metric  value  goal`` line,
    ``rule`` a line of dashes under it (``rule`` only with ``header``)."""
    if not rows:
        return []
    w = max(len(r[0]) for r in rows)
    v = max(len(r[1]) for r in rows)
    out = []
    if header:
        out.append(f"{'metric':<{w}}  {'value':<{v}}  goal")
        if rule:
            out.append("-" * (w + v + 12))
    out += [f"{metric:<{w}}  {value:<{v}}  {goal}" for metric, value, goal in rows]
    return out


def print_rows(rows: Sequence[Sequence[str]], *, header: bool = False, rule: bool = False) -> None:
    """Print :func:`format_rows`."""
    for line in format_rows(rows, header=header, rule=rule):
        print(line)
