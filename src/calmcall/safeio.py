"""Input edges in words: file-system errors as one clause with advice, and a TOML
reader that can neither recurse without bound nor read a runaway file.

Every input and output edge (audio, config, profile, playbook, session logs, reports)
turns an ``OSError`` into a one-line message with :func:`explain`, so the user never
sees a traceback for a missing folder, a permission problem, a symbolic-link loop,
a read-only or a full disk. Config, profile and playbook files are read with
:func:`read_toml`.

>>> explain(PermissionError(13, "Permission denied"))
'permission denied (check the permissions of the file and of the folders above it)'
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

#: Largest config/profile/playbook file read (bytes); these files are a few KiB.
MAX_TOML_BYTES = 1 << 20
#: Deepest nesting of arrays/tables accepted in those files (they need 3).
MAX_TOML_DEPTH = 32

_ADVICE: dict[int, str] = {
    errno.ENOENT: "no such file or folder (check the path)",
    errno.EACCES: "permission denied (check the permissions of the file and of the folders above it)",
    errno.EPERM: "operation not permitted (check the permissions of the file and of the folders above it)",
    errno.ELOOP: "a symbolic-link loop (fix or remove the link)",
    errno.ENOTDIR: "a part of the path is a file, not a folder (check the path)",
    errno.EISDIR: "is a folder, not a file (name a file)",
    errno.ENAMETOOLONG: "the path is too long (use a shorter one)",
    errno.ENOSPC: "the disk is full (free some space or choose another folder)",
    errno.EDQUOT: "the disk quota is exhausted (free some space or choose another folder)",
    errno.EROFS: "the file system is read-only (choose a writable folder)",
    errno.EEXIST: "already exists (choose another name)",
    errno.EIO: "an input/output error on the disk (check the disk; copy the file elsewhere)",
}


def explain(exc: BaseException) -> str:
    """``exc`` (usually an ``OSError``) as one lower-case clause with advice."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text (save it as UTF-8)"
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in _ADVICE:
        return _ADVICE[code]
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split()).rstrip(".").lower()


def toml_depth_error(text: str) -> str | None:
    """Why ``text`` nests too deeply for :data:`MAX_TOML_DEPTH` (None if it does not).

    A cheap bracket count outside strings and comments, done before ``tomllib``
    (which recurses once per level and would raise ``RecursionError``)."""
    depth = 0
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote is not None:
            if c == "\\" and quote in ('"', '"""'):
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            continue
        elif c in "[{":
            depth += 1
            if depth > MAX_TOML_DEPTH:
                return f"arrays or tables nested more than {MAX_TOML_DEPTH} deep"
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def read_toml(
    path: str | Path,
    error: type[Exception],
    *,
    what: str,
    missing_hint: str = "",
    syntax: str = "{source}: not valid TOML ({exc})",
) -> dict[str, Any]:
    """Read and parse the TOML file ``path``; every failure is ``error("PATH: ...")``,
    one line that says what to do. ``what`` names the file's role ("config file")."""
    p = Path(path)
    try:
        if p.is_dir():
            raise error(f"{p}: is a folder, not a {what}")
        with p.open("rb") as fh:  # bounded: /dev/zero or a runaway file cannot fill the memory
            data = fh.read(MAX_TOML_BYTES + 1)
        if len(data) > MAX_TOML_BYTES:
            raise error(f"{p}: {what} is over {MAX_TOML_BYTES} bytes, the most read (is it the right file?)")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise error(f"{p}: {what} not found{missing_hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{p}: cannot read {what}: {explain(exc)}") from None
    return parse_toml(text, error, source=str(p), syntax=syntax)


def parse_toml(
    text: str, error: type[Exception], *, source: str, syntax: str = "{source}: not valid TOML ({exc})"
) -> dict[str, Any]:
    """``tomllib.loads`` with the nesting bounded; errors are ``error("SOURCE: ...")``
    (a syntax error formatted by ``syntax``)."""
    deep = toml_depth_error(text)
    if deep:
        raise error(f"{source}: {deep} (a calmcall file needs at most 3 levels)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(syntax.format(source=source, exc=exc)) from None
    except (RecursionError, MemoryError):
        raise error(f"{source}: nested too deeply to read (a calmcall file needs at most 3 levels)") from None


def finite_in(value: Any, lo: float | None, hi: float | None) -> TypeGuard[int | float]:
    """True when ``value`` is a real number (not a bool), finite, and in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (a huge int or string stays one line)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit
        text = f"<a {type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _num_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def number_arg(lo: float, hi: float, *, integer: bool = False, above: bool = False) -> Callable[[str], Any]:
    """An argparse ``type=`` for a finite number in ``[lo, hi]`` (``(lo, hi]`` with
    ``above``); the error names the range, argparse names the flag."""
    rng = f"{'(' if above else '['}{_num_text(lo)}, {_num_text(hi)}]"
    kind = "a whole number" if integer else "a number"

    def parse(text: str) -> Any:
        try:
            value: Any = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{short_repr(text)} is not {kind}; give {kind} in {rng}") from None
        if not finite_in(value, lo, hi) or (above and value <= lo):
            raise argparse.ArgumentTypeError(f"{short_repr(text)} is out of range; give {kind} in {rng}")
        return value

    parse.__name__ = "whole number" if integer else "number"
    return parse


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, as :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder,
    fsynced, then renamed) and readable by the owner only (``0600``, as mkstemp makes
    it): outputs hold what was said on a call or measured of a voice."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
