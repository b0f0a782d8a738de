"""Paths given as URIs (``calmcall analyze CALLS --out OUT``, a manifest's ``path``).

The batch engines open calls with soundfile and write their outputs with local atomic
renames, so every path must be a local (or mounted) filesystem path. A ``file://``
URI is such a path: it is turned into one by pyarrow's filesystem layer
(``pyarrow.fs.FileSystem.from_uri`` gives its ``LocalFileSystem`` and the path; by
``urllib`` when pyarrow is not installed). Any other scheme (``s3://``, ``gs://``,
``hdfs://``, ``abfs://``, ...) is refused with one line: object stores are not read
or written directly (not implemented, and not tested here: no network); mount the
bucket on every node (e.g. Mountpoint for S3, gcsfuse) and give its path. Before this
check ``--out s3://bucket/out`` silently wrote into a local folder ``./s3:/bucket/out``.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

from calmcall.errors import InputError

__all__ = ["URIError", "local_path"]

#: ``scheme://`` at the start (a Windows drive ``C:\\`` or a plain ``name:`` is no URI).
_URI_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]+)://")


class URIError(InputError):
    """A path given as a URI that calmcall cannot read or write directly."""


def local_path(target: str, what: str = "path") -> str:
    """``target`` as a local path: unchanged when it is no URI, the local path of a
    ``file://`` URI (``file:///data/calls`` -> ``/data/calls``; percent-escapes
    decoded); raises :class:`URIError` for any other scheme. ``what`` names the
    argument in the message (``"--out"``, ``"the calls"``, ``"a manifest path"``)."""
    m = _URI_RE.match(target)
    if m is None:
        return target
    scheme = m.group("scheme").lower()
    if scheme != "file":
        raise URIError(
            f"{target}: {what} is a {scheme}:// URI; calmcall analyze reads and writes local or mounted "
            "filesystem paths only (object stores are not supported directly); mount the bucket on "
            "every node (e.g. Mountpoint for S3, gcsfuse) and give its path"
        )
    try:
        from pyarrow import fs
    except ImportError:
        parsed = urllib.parse.urlparse(target)
        if parsed.netloc not in ("", "localhost"):
            raise URIError(f"{target}: {what}: a file:// URI must name this machine (file:///path)") from None
        return urllib.request.url2pathname(parsed.path)
    try:
        filesystem, path = fs.FileSystem.from_uri(target)
    except (ValueError, TypeError) as exc:  # pyarrow.lib.ArrowInvalid is a ValueError
        raise URIError(f"{target}: {what}: not a usable file:// URI ({exc})") from None
    if not isinstance(filesystem, fs.LocalFileSystem):  # pragma: no cover - file:// is always local
        raise URIError(f"{target}: {what}: not a local filesystem")
    return str(path)
