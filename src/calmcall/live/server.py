"""The overlay's local websocket server: serves calmcall/web/ and streams events to browsers.

Security model (docs/live.md, docs/background.md: Local server security). Every web page the agent opens can
reach ``127.0.0.1``, so binding the loopback address is not enough:

* bound to ``127.0.0.1`` only;
* the ``Host`` header must be exactly ``127.0.0.1:PORT`` (defeats DNS rebinding),
  checked in :meth:`OverlayServer._process_request` for the page *and* the socket,
  because ``process_request`` runs before websockets' own ``origins=`` check;
* the websocket ``Origin`` must be exactly ``http://127.0.0.1:PORT`` (never ``null``,
  never absent), and a page request carrying a foreign ``Origin`` is refused;
* a random per-launch token (``secrets.token_urlsafe``) travels in the overlay URL's
  fragment (never sent in page requests, so never in any log) and must be presented
  in the websocket URL (``/ws?token=...``); a missing or wrong token gets close code
  1008 before anything is sent;
* ``compression=None``, ``max_size`` of 1 KiB; client messages are read and
  discarded: nothing a client sends is acted on beyond the handshake;
* every client has its own bounded queue; a slow client loses its oldest messages
  and a client that stops reading is dropped by the keepalive ping; publishing never
  waits on a browser (it only schedules work on the server's event loop).
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import hmac
import http
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

log = logging.getLogger(__name__)

#: Version of the JSON message protocol (docs/live.md). Bumped on incompatible change.
PROTOCOL_VERSION = 1
DEFAULT_PORT = 47615
HOST = "127.0.0.1"
WS_PATH = "/ws"
#: Largest message a client may send (the overlay sends none).
MAX_CLIENT_MESSAGE_BYTES = 1024
#: Messages waiting per client before the oldest are dropped.
CLIENT_QUEUE_LEN = 256
#: Close code for a missing or wrong token (RFC 6455 policy violation).
CLOSE_POLICY = 1008

#: A syntactically valid Host header value: a name or an IPv4/IPv6 address, and a port.
_HOST_SYNTAX = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}


def find_web_dir() -> Path:
    """Return the overlay directory: the package's ``calmcall/web/`` folder.

    It is package data (pyproject.toml), a plain directory in editable and wheel
    installs alike."""
    web_dir = Path(__file__).resolve().parents[1] / "web"
    if not (web_dir / "index.html").is_file():
        raise FileNotFoundError(f"overlay files not found in {web_dir}")
    return web_dir


def load_web_files(web_dir: Path) -> dict[str, tuple[str, bytes]]:
    """Read the overlay's files into memory once: ``{"/name": (content_type, bytes)}``.

    Only plain files directly in ``web_dir`` with a known extension are served, so
    no request path can reach anything else on disk."""
    files: dict[str, tuple[str, bytes]] = {}
    for path in sorted(web_dir.iterdir()):
        ctype = _CONTENT_TYPES.get(path.suffix.lower())
        if ctype and path.is_file() and not path.name.startswith("."):
            files["/" + path.name] = (ctype, path.read_bytes())
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    return files


@dataclass(eq=False)
class _Client:
    queue: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=CLIENT_QUEUE_LEN))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0
    ignored: int = 0


class OverlayServer:
    """Websocket + static server for the overlay, running on an asyncio loop.

    Use :class:`ServerThread` to run it beside a blocking audio loop. ``publish`` is
    thread-safe and never blocks.
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        web_dir: Path | None = None,
        hello: Callable[[], dict[str, Any]] | None = None,
        queue_len: int = CLIENT_QUEUE_LEN,
        ping_interval_s: float = 5.0,
    ) -> None:
        self.requested_port = port
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self._web_files = load_web_files(web_dir or find_web_dir())
        self._hello = hello
        self._queue_len = queue_len
        self._ping_interval_s = ping_interval_s
        self._clients: set[_Client] = set()
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seq = 0
        self._seq_lock = threading.Lock()
        # Latest state, replayed to a client when it connects (loop thread only).
        self._snapshot: dict[str, str] = {}
        self._transcript: collections.deque[str] = collections.deque(maxlen=60)
        self.stats = {"connections": 0, "refused": 0, "dropped": 0, "published": 0}

    # ------------------------------------------------------------------ addresses
    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The overlay URL, token included (in the fragment)."""
        return f"{self.origin}/#token={self.token}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}{WS_PATH}?token={self.token}"

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await serve(
            self._handler,
            HOST,
            self.requested_port,
            process_request=self._process_request,
            compression=None,
            max_size=MAX_CLIENT_MESSAGE_BYTES,
            max_queue=4,
            write_limit=64 * 1024,
            ping_interval=self._ping_interval_s,
            ping_timeout=self._ping_interval_s * 2,
            close_timeout=1.0,
            server_header=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # ------------------------------------------------------------------ publishing
    def publish(self, type_: str, data: dict[str, Any]) -> None:
        """Queue a message for every connected client. Thread-safe, never blocks.

        The message is ``{"v": 1, "seq": n, "type": type_, "sent_ms": unix ms,
        "data": data}``."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        text = json.dumps(
            {
                "v": PROTOCOL_VERSION,
                "seq": seq,
                "type": type_,
                "sent_ms": round(time.time() * 1000.0, 1),
                "data": data,
            },
            separators=(",", ":"),
            allow_nan=False,
            default=str,
        )
        try:
            loop.call_soon_threadsafe(self._fanout, type_, data, text)
        except RuntimeError:  # loop closed while shutting down
            pass

    def _fanout(self, type_: str, data: dict[str, Any], text: str) -> None:
        self.stats["published"] += 1
        if type_ == "measures":
            self._snapshot["measures:" + str(data.get("speaker"))] = text
        elif type_ == "word":
            self._transcript.append(text)
        elif type_ in ("status", "customer_state", "prompt", "baseline", "band"):
            key = type_ + (":" + str(data.get("speaker")) if type_ == "baseline" else "")
            self._snapshot[key] = text
        for client in self._clients:
            if len(client.queue) == client.queue.maxlen:
                client.dropped += 1
                self.stats["dropped"] += 1
            client.queue.append(text)
            client.wake.set()

    # ------------------------------------------------------------------ HTTP side
    def _response(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8", *, head: bool = False) -> Response:
        """A response with the security headers; ``head``: the headers of ``body``
        (its Content-Length) without the body itself."""
        st = http.HTTPStatus(status)
        headers = Headers(
            [
                ("Date", email.utils.formatdate(usegmt=True)),
                ("Connection", "close"),
                ("Content-Length", str(len(body))),
                ("Content-Type", ctype),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "no-referrer"),
                ("Cross-Origin-Resource-Policy", "same-origin"),
                (
                    "Content-Security-Policy",
                    "default-src 'none'; script-src 'self'; style-src 'self'; "
                    "img-src 'self' data:; "
                    f"connect-src ws://{HOST}:{self.port}; "
                    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                ),
            ]
        )
        return Response(st.value, st.phrase, headers, b"" if head else body)

    def _refuse(self, status: int, why: str) -> Response:
        self.stats["refused"] += 1
        log.info("refused a request: %s", why)
        return self._response(status, (why + "\n").encode())

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer only what is served: ``GET`` (and ``HEAD``, without the body) of the
        overlay's files and the websocket upgrade; any other method is 405 without the
        page; a missing, foreign, malformed or repeated ``Host`` is refused (400/403)."""
        hosts = request.headers.get_all("Host")
        if len(hosts) > 1:
            return self._refuse(400, "more than one Host header")
        if hosts and not _HOST_SYNTAX.fullmatch(hosts[0]):
            return self._refuse(400, "malformed Host header")
        if hosts != [f"{HOST}:{self.port}"]:  # absent or foreign (DNS rebinding)
            return self._refuse(403, "bad Host header")
        method = request.method
        if method not in ("GET", "HEAD"):
            resp = self._refuse(405, "method not allowed")
            resp.headers["Allow"] = "GET, HEAD"
            return resp
        origin_values = request.headers.get_all("Origin")
        try:
            path = urlsplit(request.path).path
        except ValueError:
            return self._refuse(400, "malformed request path")
        if path == WS_PATH:
            if method != "GET":
                return self._refuse(405, "the websocket needs GET")
            if origin_values != [self.origin]:
                return self._refuse(403, "bad Origin")
            return None  # the token is checked in _handler (close code 1008)
        if origin_values and origin_values != [self.origin]:
            return self._refuse(403, "bad Origin")
        found = self._web_files.get(path)
        if found is None:
            return self._response(404, b"not found\n", head=method == "HEAD")
        ctype, body = found
        return self._response(200, body, ctype, head=method == "HEAD")

    # ------------------------------------------------------------------ websocket
    def _token_ok(self, request: Request | None) -> bool:
        if request is None:
            return False
        values = parse_qs(urlsplit(request.path).query).get("token", [])
        if len(values) != 1:
            return False
        return hmac.compare_digest(values[0].encode(), self.token.encode())

    async def _handler(self, ws: ServerConnection) -> None:
        if not self._token_ok(ws.request):
            self.stats["refused"] += 1
            await ws.close(CLOSE_POLICY, "missing or wrong token")
            return
        self.stats["connections"] += 1
        client = _Client(queue=collections.deque(maxlen=self._queue_len))
        for text in self._hello_messages():
            client.queue.append(text)
        client.wake.set()
        self._clients.add(client)
        pump = asyncio.create_task(self._pump(ws, client))
        try:
            async for _message in ws:  # read and discard: clients are never obeyed
                client.ignored += 1
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            pump.cancel()
            try:
                await pump
            except (asyncio.CancelledError, ConnectionClosed):
                pass

    async def _pump(self, ws: ServerConnection, client: _Client) -> None:
        while True:
            await client.wake.wait()
            client.wake.clear()
            while client.queue:
                await ws.send(client.queue.popleft())

    def _hello_messages(self) -> list[str]:
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        info = self._hello() if self._hello else {}
        hello = json.dumps(
            {
                "v": PROTOCOL_VERSION,
                "seq": seq,
                "type": "hello",
                "sent_ms": round(time.time() * 1000.0, 1),
                "data": {"protocol": PROTOCOL_VERSION, **info},
            },
            separators=(",", ":"),
            default=str,
        )
        return [hello, *self._snapshot.values(), *self._transcript]


class ServerThread:
    """Runs an :class:`OverlayServer` on its own event loop in a daemon thread."""

    def __init__(self, server: OverlayServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="calmcall-overlay", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # reported to start()'s caller
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.stop())
        self._loop.close()

    def start(self) -> OverlayServer:
        self._thread.start()
        self._started.wait(10.0)
        if self._error is not None:
            raise self._error
        return self.server

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
