"""benchmarks/tables.py: the one result-table printer of the benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from tables import format_rows

ROWS = [("pace wpm error", "4.1 wpm", "< 10"), ("cardaudio heldout: other speech silenced", "23.9 %", "report")]


def test_columns_are_padded_to_the_widest_cell_two_spaces_apart() -> None:
    assert format_rows(ROWS) == [
        "pace wpm error                            4.1 wpm  < 10",
        "cardaudio heldout: other speech silenced  23.9 %   report",
    ]


def test_header_and_rule() -> None:
    lines = format_rows(ROWS, header=True, rule=True)
    assert lines[0] == "metric                                    value    goal"
    assert lines[1] == "-" * (40 + 7 + 12)
    assert lines[2:] == format_rows(ROWS)
    assert format_rows(ROWS, header=True)[1:] == format_rows(ROWS)


def test_no_rows_no_lines() -> None:
    assert format_rows([], header=True) == []
