"""The overlay in real headless Chromium (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from calmcall.live.server import OverlayServer, ServerThread

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    # bypass_csp: Playwright evaluates its waits with eval(), which our CSP forbids
    ctx = browser.new_context(viewport={"width": 420, "height": 520}, bypass_csp=True)
    pg = ctx.new_page()
    yield pg
    ctx.close()


def start(port: int = 0, token: str | None = None) -> ServerThread:
    srv = OverlayServer(
        port=port,
        token=token,
        hello=lambda: {
            "mode": "live",
            "band": {"pace": {"lo": 0.85, "hi": 1.15}, "pitch": {"hi": 3.0}, "volume": {"hi": 6.0}},
        },
    )
    th = ServerThread(srv)
    th.start()
    return th


def measures(rate_rel: float, pitch_st: float, level_rel_db: float) -> dict:
    return {
        "t_s": 1.0,
        "speaker": "agent",
        "active": True,
        "f0_hz": 120.0,
        "pitch_st": pitch_st,
        "level_db": -20.0,
        "level_rel_db": level_rel_db,
        "rate_syl_s": 4.0,
        "rate_rel": rate_rel,
        "wpm": None,
        "in_band": True,
    }


def test_overlay_moves_gauges_shows_prompt_and_reconnects(page):
    th = start()
    srv = th.server
    try:
        page.goto(srv.url)
        page.wait_for_function("window.calmcall && window.calmcall.conn === 'open'", timeout=10000)
        assert "token" not in page.url  # stripped from the address bar

        mark = page.locator("#g-pitch .g-mark")
        srv.publish("measures", measures(1.0, 0.0, 0.0))
        page.wait_for_function("window.calmcall.measures >= 1")
        left_calm = mark.evaluate("e => parseFloat(e.style.left)")
        srv.publish("measures", measures(1.3, 8.0, 9.0))
        page.wait_for_function("window.calmcall.measures >= 2")
        left_high = mark.evaluate("e => parseFloat(e.style.left)")
        assert left_high > left_calm + 20
        assert "out" in page.locator("#g-pitch").get_attribute("class")
        assert page.locator("#v-pitch").inner_text() == "+8.0 st"

        srv.publish("customer_state", {"t_s": 2.0, "state": "escalated", "evidence": {}})
        srv.publish(
            "prompt",
            {
                "t_s": 2.0,
                "kind": "pitch",
                "headline": "Lower voice",
                "detail": "Pitch +8 st above your calm voice",
                "severity": "medium",
                "evidence": {},
            },
        )
        headline = page.locator("#headline")
        playwright_api.expect(headline).to_have_text("Lower voice", timeout=5000)
        assert headline.is_visible()
        playwright_api.expect(page.locator("#customer")).to_have_text("Escalated")
        srv.publish("word", {"t_s": 3.0, "start_s": 2.5, "end_s": 2.8, "text": "hello", "speaker": "agent", "confidence": 0.9})
        page.keyboard.press("t")  # keyboard toggles the transcript
        playwright_api.expect(page.locator("#transcript")).to_contain_text("hello")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overlay.png"))

        # restart the server (same port, same token): the page reconnects by itself
        port, token = srv.port, srv.token
        th.stop()
        page.wait_for_function("window.calmcall.conn !== 'open'", timeout=10000)
        th = start(port, token)
        srv = th.server
        page.wait_for_function("window.calmcall.conn === 'open'", timeout=15000)
        srv.publish(
            "prompt",
            {
                "t_s": 9.0,
                "kind": "pace",
                "headline": "Slow down",
                "detail": "190 wpm, your calm pace is 140",
                "severity": "high",
                "evidence": {},
            },
        )
        playwright_api.expect(page.locator("#headline")).to_have_text("Slow down", timeout=5000)
        page.screenshot(path=str(ARTIFACTS / "overlay-reconnected.png"))
    finally:
        th.stop()


def test_overlay_with_a_stale_token_says_so_and_stops_retrying(page):
    th = start()
    try:
        page.goto(th.server.origin + "/#token=from-an-earlier-run")
        page.wait_for_function("window.calmcall.conn === 'refused'", timeout=10000)
        assert page.evaluate("window.calmcall.closeCode") == 1008
        playwright_api.expect(page.locator("#conn-text")).to_contain_text("new URL")
        assert th.server.client_count == 0
    finally:
        th.stop()


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_a_page_on_another_origin_cannot_connect_even_with_the_token(page):
    th = start()
    srv = th.server
    _AttackerPage.body = f"""<!doctype html><script>
      window.result = "pending";
      const ws = new WebSocket("{srv.ws_url}");
      ws.onmessage = (e) => {{ window.result = "got data: " + e.data; }};
      ws.onclose = (e) => {{ if (window.result === "pending") window.result = "closed " + e.code; }};
    </script>""".encode()
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    t = threading.Thread(target=evil.serve_forever, daemon=True)
    t.start()
    try:
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        page.wait_for_function("window.result !== 'pending'", timeout=10000)
        assert page.evaluate("window.result") == "closed 1006"  # handshake refused (403)
        assert srv.stats["connections"] == 0 and srv.stats["refused"] >= 1
        # the attacker's page cannot read the overlay through fetch either
        res = page.evaluate(f"fetch('{srv.origin}/').then(r => 'read').catch(e => 'blocked')")
        assert res == "blocked"
    finally:
        evil.shutdown()
        th.stop()


def test_overlay_says_when_the_session_log_stopped(page):
    """A full disk mid-call: the status carries log.state = stopped and the overlay shows it."""
    th = start()
    srv = th.server
    try:
        page.goto(srv.url)
        page.wait_for_function("window.calmcall && window.calmcall.conn === 'open'", timeout=10000)
        ok = {"mode": "live", "devices": [], "model": "tiny.en", "log": {"state": "ok", "path": "/x.jsonl"}}
        srv.publish("status", {"t_s": 1.0, "info": ok})
        playwright_api.expect(page.locator("#stats")).to_contain_text("model tiny.en")
        assert "stopped" not in page.locator("#stats").inner_text()
        stopped = {
            **ok,
            "log": {"state": "stopped", "path": "/x.jsonl", "error": "the disk is full", "stopped_at_s": 12.5, "lost_records": 3},
        }
        srv.publish("status", {"t_s": 2.0, "info": stopped})
        playwright_api.expect(page.locator("#stats")).to_contain_text("session log stopped at 12.5 s: the disk is full")
        assert "conn-refused" in page.locator("#stats").get_attribute("class")
    finally:
        th.stop()
