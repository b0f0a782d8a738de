"""The overlay in French: the hello message carries the catalogue's French strings,
the page applies them (static text, live labels), and French prompts show as sent.
Real server, real browser (headless Chromium), as tests/test_live_overlay.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from calmcall.live.server import OverlayServer, ServerThread
from calmcall.messages import localize_dict, overlay_strings

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


def test_overlay_speaks_french() -> None:
    fr = overlay_strings("fr")
    srv = OverlayServer(port=0, hello=lambda: {"mode": "live", "roles": ["agent", "customer"], "lang": "fr", "strings": fr})
    th = ServerThread(srv)
    th.start()
    try:
        with playwright_api.sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = b.new_context(bypass_csp=True).new_page()
            page.goto(srv.url)
            page.wait_for_function("window.calmcall && window.calmcall.conn === 'open'", timeout=10000)
            expect = playwright_api.expect
            expect(page.locator("#headline")).to_have_text(fr["listening"])
            expect(page.locator("#conn-text")).to_have_text(fr["live"])
            assert page.evaluate("document.documentElement.lang") == "fr"
            assert page.locator("#g-pace .g-name").inner_text() == fr["pace"]
            srv.publish("customer_state", {"t_s": 2.0, "state": "escalated", "evidence": {}})
            expect(page.locator("#customer")).to_have_text(fr["escalated"])
            prompt = localize_dict(
                {
                    "t_s": 2.0,
                    "kind": "volume",
                    "headline": "Lower voice",
                    "severity": "high",
                    "detail": "You are 9 dB louder than your calm level",
                    "evidence": {"level_rel_db": 9.0},
                },
                "fr",
            )
            srv.publish("prompt", prompt)
            expect(page.locator("#headline")).to_have_text("Parlez moins fort", timeout=5000)
            expect(page.locator("#detail")).to_have_text("Vous parlez 9 dB plus fort que votre niveau calme")
            srv.publish(
                "word", {"t_s": 3.0, "start_s": 2.5, "end_s": 2.8, "text": "bonjour", "speaker": "agent", "confidence": 0.9}
            )
            page.keyboard.press("t")
            expect(page.locator("#transcript .who").first).to_have_text(fr["you"])
            b.close()
    finally:
        th.stop()
