"""Sessions on the real clock: replay through the live path, and a stuck browser.

Real components: the bundled sample call, the real pipeline, the real websocket
server with real sockets (a client that never reads and a healthy one).
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from websockets.sync.client import connect

from calmcall.audio_io import load_call
from calmcall.config import config_from_dict, load_config
from calmcall.live.server import OverlayServer, ServerThread
from calmcall.live.session import BLOCK_N, FIRST_BLOCK_N, FileSource, Session, aligned_first_block_n
from calmcall.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_call.wav"

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="samples/sample_call.wav missing")

#: Replay speed of these tests (x real time). The pipeline costs ~15 ms of CPU per audio
#: second and channel on one thread (Silero VAD + swift-f0 on both channels), so 20x
#: needs ~0.6 of a core; 8x (~0.25) keeps pace on a loaded 2-core machine. The
#: wall-clock bounds keep their absolute tolerances (tighter relative to a longer run).
SPEED = 8.0


def offline_prompts(call, cfg):
    """The prompts of the whole file fed at once on the live block grid."""
    pipe = Pipeline(cfg, has_customer=call.customer is not None)
    edges = [0, FIRST_BLOCK_N, *range(FIRST_BLOCK_N + BLOCK_N, len(call.agent), BLOCK_N), len(call.agent)]
    out = []
    for a, b in itertools.pairwise(edges):
        out += pipe.feed({"agent": call.agent[a:b], "customer": call.customer[a:b]})
    out += pipe.finish()
    return [(round(e.t_s, 2), e.kind) for e in out if e.type == "prompt"]


def test_replay_gives_the_offline_prompts_on_time():
    call = load_call(SAMPLE)
    # no transcript here: narrow the acoustic pace band (default 1.6x, 1.5 s hold) so the
    # sample call's fast turn gives its pace prompt on this path too
    cfg = config_from_dict({"targets": {"acoustic_pace_margin": 0.3, "acoustic_pace_hold_s": 0.75}})
    published = []
    src = FileSource(call, name="sample", speed=SPEED)
    sess = Session(
        src,
        Pipeline(cfg, has_customer=True),
        config=cfg,
        publish=lambda t, d: published.append((time.time(), t, d)),
        mode="replay",
    )
    t0 = time.monotonic()
    stats = sess.run()
    wall = time.monotonic() - t0
    assert call.duration_s / SPEED - 0.2 < wall < call.duration_s / SPEED + 1.5  # the real clock
    live = [(round(p["t_s"], 2), p["kind"]) for p in stats.prompts]
    assert live == offline_prompts(call, cfg)  # same prompts, same audio times
    assert {k for _, k in live} >= {"pace", "pitch", "volume", "customer_escalation"}
    for p in stats.prompts:  # prompts go out with the block that completed them: never early, never held
        # back to a later block (audio consumed, not the wall clock: that would time the machine's load;
        # wall-clock latency is measured by benchmarks/bench_live.py)
        assert p["published_wall"] >= p["audio_wall"]
        assert 0.0 <= p["published_audio_s"] - p["t_s"] < 0.1 + 1e-9
    types = {t for _, t, _ in published}
    assert {"status", "measures", "prompt", "customer_state", "baseline", "band"} <= types
    # measures are throttled to about 4-5 per second and speaker on the wall clock
    n_meas = sum(1 for _, t, d in published if t == "measures" and d["speaker"] == "agent")
    assert n_meas <= wall * 5.5 + 2


def test_aligned_block_grid_sends_prompts_when_their_last_sample_arrives():
    call = load_call(SAMPLE)
    cfg = config_from_dict({"targets": {"acoustic_pace_margin": 0.3, "acoustic_pace_hold_s": 0.75}})  # pace without words too
    first = aligned_first_block_n()
    assert first == 480  # frames of 40 ms every 10 ms, evaluated every 10th frame
    src = FileSource(call, speed=SPEED, first_block_n=first)
    sess = Session(src, Pipeline(cfg, has_customer=True), config=cfg, publish=lambda t, d: None)
    stats = sess.run()
    prosody = [p for p in stats.prompts if p["kind"] in ("pace", "pitch", "volume")]
    assert len(prosody) == 3
    for p in prosody:  # t_s is the end of the block that completed it
        assert round(p["t_s"] * 16000) % 1600 == first
        assert p["published_wall"] >= p["audio_wall"]  # not before its last sample arrived
        assert p["published_audio_s"] == pytest.approx(p["t_s"], abs=1e-9)  # ...and with that very block


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def test_a_client_that_never_reads_does_not_hold_up_a_long_call():
    call0 = load_call(SAMPLE)
    reps = 2
    call = SimpleNamespace(agent=np.tile(call0.agent, reps), customer=np.tile(call0.customer, reps))
    duration_s = len(call.agent) / 16000
    speed = SPEED
    cfg = load_config(None)
    srv = OverlayServer(port=0)
    th = ServerThread(srv)
    th.start()
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", srv.port))
    hdrs = [
        f"GET /ws?token={srv.token} HTTP/1.1",
        f"Host: 127.0.0.1:{srv.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        f"Origin: {srv.origin}",
        "",
        "",
    ]
    stuck.sendall("\r\n".join(hdrs).encode())
    assert stuck.recv(12).split()[1] == b"101"
    received: list[dict] = []
    done = threading.Event()

    def healthy():
        with connect(srv.ws_url, origin=srv.origin) as ws:
            while not done.is_set():
                try:
                    received.append(json.loads(ws.recv(timeout=0.5)))
                except TimeoutError:
                    continue

    reader = threading.Thread(target=healthy, daemon=True)
    reader.start()
    try:
        assert _wait(lambda: srv.client_count == 2)
        rss0 = rss_mb()
        src = FileSource(call, name="long", speed=speed)
        # no throttling: every measures event goes out, ~2x8 messages per audio second
        sess = Session(
            src, Pipeline(cfg, has_customer=True), config=cfg, publish=srv.publish, mode="replay", measures_min_interval_s=0.0
        )
        t0 = time.monotonic()
        stats = sess.run()
        wall = time.monotonic() - t0
        end_lag = time.time() - sess.audio_wall(sess.pipe.t_s)
        time.sleep(0.5)
        rss1 = rss_mb()
        queued = [len(c.queue) for c in list(srv._clients)]
    finally:
        done.set()
        reader.join(3)
        stuck.close()
        th.stop()
    assert wall < duration_s / speed + 1.5, wall  # processing kept pace with the clock
    assert end_lag < 0.5
    # the stuck client's queue is bounded (it drops its oldest; the kernel's socket
    # buffers hold the rest), so memory stays bounded
    assert max(queued) <= srv._queue_len
    assert rss1 - rss0 < 60
    # ...while the healthy client got everything, prompts included
    got_prompts = [m["data"]["t_s"] for m in received if m["type"] == "prompt"]
    assert got_prompts == [p["t_s"] for p in stats.prompts]
    assert sum(1 for m in received if m["type"] == "measures") == stats.events["measures"]


def _wait(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


# ---------------------------------------------------------------- auto language in the log


def test_an_auto_call_logs_its_language_and_its_replay_routes_cues_by_it(tmp_path: Path) -> None:
    """A live ``--language auto`` session logs a ``language`` record at the audio time it
    first sees the decision; the replay of its logged words is English (cues, playbook)
    until that time and French after it, as the live call was."""
    import dataclasses

    from calmcall.asr.language import LanguageLock
    from calmcall.cli import build_parser
    from calmcall.config import Config, with_language
    from calmcall.events import Word
    from calmcall.live.commands import _build_logged
    from calmcall.live.logged_words import LoggedWords
    from calmcall.qa import sessionlog as sl

    call = load_call(SAMPLE)
    n = 12 * 16000
    call = dataclasses.replace(call, agent=call.agent[:n], customer=call.customer[:n])
    lock = LanguageLock(None)  # auto: undecided

    class Deciding:
        """Stands in for the transcribers: one word; the lock decides at 4 s of audio
        (what LanguageLock.resolve does once an utterance is long enough)."""

        language_lock = lock

        def __init__(self) -> None:
            self.words = LoggedWords([Word(8.0, 7.0, 7.5, "bonjour", "agent", 0.9)])

        def feed(self, blocks):  # type: ignore[no-untyped-def]
            out = self.words.feed(blocks)
            if self.words.t_s >= 4.0 and lock.language is None:
                lock._lock("fr", 0.91, 2.5)
            return out

        def finish(self):  # type: ignore[no-untyped-def]
            return self.words.finish()

        def close(self) -> None:
            pass

    words = Deciding()
    cfg = with_language(Config(), "auto")
    writer = sl.SessionWriter(tmp_path, {"source": "live", "config": cfg.to_dict(), "model": "base"})
    sess = Session(
        FileSource(call, name="auto", speed=40.0),
        Pipeline(cfg, has_customer=True),
        config=cfg,
        publish=lambda t, d: None,
        transcriber=words,
        on_event=writer.write,
    )
    sess.run()
    writer.close(extra={"language": sess.language})
    log = sl.read_session(writer.path)
    recs = log.of_type("language")
    assert len(recs) == 1 and recs[0]["language"] == "fr" and recs[0]["detected_at_s"] == 2.5
    assert 4.0 <= recs[0]["t_s"] <= 4.3  # the block after the lock decided
    assert log.language is not None and log.language["language"] == "fr"
    assert log.end is not None and log.end["summary"]["language"]["language"] == "fr"

    # the replay of its logged words: the language is the logged one, from the logged time on
    args = build_parser().parse_args(["replay", str(writer.path)])
    rcfg, pipe, transcriber, _model = _build_logged(args, log, has_customer=True)
    assert rcfg.language.call == "auto"  # same norms and masking words as the live call
    rlock = transcriber.language_lock
    assert rlock is not None and rlock.language is None
    silence = {"agent": np.zeros(1600, np.float32), "customer": np.zeros(1600, np.float32)}
    while transcriber.t_s < 4.0:
        transcriber.feed(silence)
        assert rlock.language is None or transcriber.t_s >= recs[0]["t_s"] - 0.01
    while transcriber.t_s < recs[0]["t_s"] + 0.2:
        transcriber.feed(silence)
    assert rlock.language == "fr" and rcfg.language.cue_language(rlock.language) == "fr"
    assert pipe.phrase_coach.lock is rlock  # the French playbook routes from here on

    # an older log without the record (or an undecided call): English, as before
    log.events = [e for e in log.events if e.get("type") != "language"]
    log.end = None
    _c, pipe2, tr2, _m = _build_logged(args, log, has_customer=True)
    assert tr2.language_lock is None and not hasattr(pipe2.phrase_coach, "lock")  # the English playbook alone
