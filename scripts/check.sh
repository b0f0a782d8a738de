#!/usr/bin/env bash
# The checks CI runs, in order: lint (ruff check), format (ruff format --check), types
# (mypy, configured in pyproject.toml), then the test suite with a coverage report whose
# floor is [tool.coverage.report] fail_under in pyproject.toml. Run after scripts/setup.sh.
# Extra arguments go to pytest (e.g. scripts/check.sh tests/test_pace.py -x).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
echo "check: ruff check" >&2
"$BIN/ruff" check --no-cache src tests benchmarks
echo "check: ruff format --check" >&2
"$BIN/ruff" format --check --no-cache src tests benchmarks
echo "check: mypy" >&2
"$BIN/mypy"
echo "check: pytest (coverage of src/calmcall)" >&2
exec "$BIN/python" -m pytest --cov=calmcall --cov-report=term:skip-covered "$@"
