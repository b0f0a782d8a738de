"""Security and delivery tests for the overlay's websocket server (real sockets)."""

from __future__ import annotations

import contextlib
import json
import socket
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from calmcall.live.server import MAX_CLIENT_MESSAGE_BYTES, OverlayServer, ServerThread


@pytest.fixture()
def server():
    srv = OverlayServer(port=0, hello=lambda: {"mode": "test"})
    thread = ServerThread(srv)
    thread.start()
    yield srv
    thread.stop()


def raw_request(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 GET with exactly these headers; return status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                hdrs = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:])
                if len(body) >= int(hdrs.get("Content-Length", "0")) and "Upgrade" not in hdrs:
                    break
                if "Upgrade" in hdrs:
                    break
    status = int(head.split()[1])
    return status, hdrs, body


def ws_headers(srv: OverlayServer, **override: str) -> dict[str, str]:
    h = {
        "Host": f"127.0.0.1:{srv.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Origin": srv.origin,
    }
    h.update(override)
    return {k: v for k, v in h.items() if v != ""}


def test_overlay_page_is_served_with_strict_headers(server):
    status, hdrs, body = raw_request(server.port, "/", {"Host": f"127.0.0.1:{server.port}"})
    assert status == 200
    assert b"overlay.js" in body
    assert "frame-ancestors 'none'" in hdrs["Content-Security-Policy"]
    assert f"connect-src ws://127.0.0.1:{server.port}" in hdrs["Content-Security-Policy"]
    assert hdrs["X-Frame-Options"] == "DENY"
    assert server.token not in body.decode()
    for name in ("/overlay.js", "/overlay.css"):
        assert raw_request(server.port, name, {"Host": f"127.0.0.1:{server.port}"})[0] == 200
    assert raw_request(server.port, "/../pyproject.toml", {"Host": f"127.0.0.1:{server.port}"})[0] == 404


@pytest.mark.parametrize("host", ["evil.example:{port}", "localhost:{port}", "127.0.0.1", "127.0.0.1:1", ""])
def test_bad_host_is_refused_for_page_and_socket(server, host):
    host = host.format(port=server.port)
    assert raw_request(server.port, "/", {"Host": host} if host else {})[0] == 403
    status, _, _ = raw_request(server.port, f"/ws?token={server.token}", ws_headers(server, Host=host))
    assert status == 403


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "",
        "http://127.0.0.1:1",
        "http://localhost:{port}",
        "https://127.0.0.1:{port}",
        "http://127.0.0.1:{port}.evil.example",
    ],
)
def test_foreign_origin_is_refused_even_with_the_token(server, origin):
    origin = origin.format(port=server.port)
    status, _, body = raw_request(server.port, f"/ws?token={server.token}", ws_headers(server, Origin=origin))
    assert status == 403, body
    # and with the right origin the very same request is accepted
    assert raw_request(server.port, f"/ws?token={server.token}", ws_headers(server))[0] == 101


def test_page_request_from_foreign_origin_is_refused(server):
    h = {"Host": f"127.0.0.1:{server.port}", "Origin": "http://evil.example"}
    assert raw_request(server.port, "/overlay.js", h)[0] == 403


def test_two_origin_headers_are_refused(server):
    # a duplicated header is sent as two lines; build it by hand
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        req = "\r\n".join(
            [f"GET /ws?token={server.token} HTTP/1.1"]
            + [f"{k}: {v}" for k, v in ws_headers(server).items()]
            + ["Origin: http://evil.example", "", ""]
        )
        sock.sendall(req.encode())
        assert sock.recv(100).split()[1] == b"403"


@pytest.mark.parametrize(
    "path", ["/ws", "/ws?token=", "/ws?token=wrong", "/ws?token={token}x", "/ws?token={token}&token={token}"]
)
def test_missing_or_wrong_token_closes_with_1008(server, path):
    uri = f"ws://127.0.0.1:{server.port}" + path.format(token=server.token)
    with connect(uri, origin=server.origin, compression=None) as ws:
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd.code == 1008
    assert server.client_count == 0


def test_valid_client_gets_hello_then_events(server):
    with connect(server.ws_url, origin=server.origin, compression=None) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["v"] == 1 and hello["type"] == "hello" and hello["data"]["mode"] == "test"
        # compression is off
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        server.publish("prompt", {"kind": "pace", "headline": "Slow down"})
        msg = json.loads(ws.recv(timeout=5))
        assert msg["type"] == "prompt" and msg["data"]["headline"] == "Slow down"
        assert msg["seq"] > hello["seq"]


def test_reconnecting_client_gets_latest_state(server):
    with connect(server.ws_url, origin=server.origin) as ws:
        ws.recv(timeout=5)
        server.publish("customer_state", {"state": "escalated"})
        server.publish("measures", {"speaker": "agent", "pitch_st": 1.0})
        ws.recv(timeout=5), ws.recv(timeout=5)
    with connect(server.ws_url, origin=server.origin) as ws:
        types = [json.loads(ws.recv(timeout=5))["type"] for _ in range(3)]
    assert types[0] == "hello" and set(types[1:]) == {"customer_state", "measures"}


def test_oversized_client_message_closes_the_connection(server):
    with connect(server.ws_url, origin=server.origin, max_size=None) as ws:
        ws.recv(timeout=5)
        ws.send("x" * (MAX_CLIENT_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as info:
            while True:
                ws.recv(timeout=5)
    assert info.value.rcvd.code == 1009


def test_client_messages_are_ignored(server):
    before = dict(server.stats)
    with connect(server.ws_url, origin=server.origin) as ws:
        ws.recv(timeout=5)
        for cmd in ('{"type":"stop"}', '{"type":"config","port":1}', "shutdown"):
            ws.send(cmd)
        server.publish("status", {"info": {}})
        assert json.loads(ws.recv(timeout=5))["type"] == "status"
    assert server.stats["published"] == before["published"] + 1
    assert server.port and server.client_count in (0, 1)


def test_a_client_that_never_reads_never_blocks_publishing(server):
    # Client A: completes the handshake, then never reads a byte.
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hdr = ws_headers(server)
    req = "\r\n".join([f"GET /ws?token={server.token} HTTP/1.1"] + [f"{k}: {v}" for k, v in hdr.items()] + ["", ""])
    stuck.sendall(req.encode())
    assert stuck.recv(12).split()[1] == b"101"
    with connect(server.ws_url, origin=server.origin) as healthy:
        healthy.recv(timeout=5)
        deadline = time.time() + 5
        while server.client_count < 2 and time.time() < deadline:
            time.sleep(0.01)
        payload = {"speaker": "agent", "pad": "x" * 400}
        t0 = time.perf_counter()
        for i in range(20000):  # ~9 MB, far beyond socket buffers
            server.publish("measures", dict(payload, i=i))
        publish_s = time.perf_counter() - t0
        server.publish("prompt", {"headline": "Last one"})
        got_last = False
        deadline = time.time() + 20
        while time.time() < deadline:
            msg = json.loads(healthy.recv(timeout=10))
            if msg["type"] == "prompt":
                got_last = True
                break
    # never waits on a browser: 20000 publishes take ~1 s of JSON encoding here (2.09 s once on the loaded
    # 2-core machine); a publish that waited on the stuck client would not finish them in 20 s. The speed
    # itself is a benchmark (benchmarks/bench_live.py), not this test's business.
    assert publish_s < 20.0, publish_s
    assert got_last
    assert server.stats["dropped"] > 0  # the stuck client lost its oldest messages
    stuck.close()


def test_several_clients_all_receive(server):
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(connect(server.ws_url, origin=server.origin)) for _ in range(3)]
        for ws in conns:
            ws.recv(timeout=5)
        server.publish("prompt", {"headline": "Lower voice"})
        for ws in conns:
            assert json.loads(ws.recv(timeout=5))["data"]["headline"] == "Lower voice"


def test_url_carries_the_token_in_the_fragment(server):
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/#token=")
    assert len(server.token) >= 32
    other = OverlayServer(port=0)
    assert other.token != server.token
