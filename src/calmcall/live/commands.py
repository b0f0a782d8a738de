"""The ``devices``, ``live`` and ``replay`` subcommands (wired into cli.py by
:func:`add_live_parsers`)."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import signal
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

from .server import DEFAULT_PORT

log = logging.getLogger(__name__)


def add_live_parsers(sub: Any) -> None:
    """Register ``devices``, ``live`` and ``replay`` on an argparse subparsers object."""
    d = sub.add_parser("devices", help="list audio input devices (for live --device)")
    d.add_argument("--json", action="store_true", help="print JSON instead of a table")
    d.set_defaults(func=cmd_devices)

    lv = sub.add_parser(
        "live",
        help="coach a live call: microphone -> calmcall -> overlay in the browser",
        description="Capture the agent's headset microphone (and optionally the customer's side "
        "from a second input such as a loopback/monitor source) and show cues in a local overlay. "
        "Prints the overlay URL (with its per-launch token). Ctrl-C stops.",
    )
    lv.add_argument("--device", default=None, metavar="NAME",
                    help="agent microphone, by (part of) its name; default: the system default input")
    lv.add_argument("--customer-device", default=None, metavar="NAME",
                    help="second input carrying the customer's side of the call (loopback/monitor)")
    lv.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    _common(lv)
    lv.set_defaults(func=cmd_live)

    rp = sub.add_parser(
        "replay",
        help="play a recorded call through the live path into the overlay (real clock)",
        description="Play CALL on the real clock through the same pipeline and overlay as a "
        "live call: for demos, QA and training.",
    )
    rp.add_argument("call", type=Path, metavar="CALL")
    rp.add_argument("--speed", type=float, default=1.0, metavar="X", help="playback speed (default 1.0)")
    rp.add_argument("--agent-channel", type=int, default=None, metavar="N")
    rp.add_argument("--customer-channel", type=int, default=None, metavar="N")
    rp.add_argument("--wait-client", type=float, default=None, metavar="S",
                    help="wait up to S seconds for an overlay to connect before playing "
                    "(default 15 with --open, else 0)")
    rp.add_argument("--linger", type=float, default=None, metavar="S",
                    help="keep serving the overlay S seconds after the call ends "
                    "(default: until Ctrl-C with --open, else 1)")
    _common(rp)
    rp.set_defaults(func=cmd_replay)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"overlay port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--open", action="store_true", help="open the overlay in the web browser")
    p.add_argument("--no-transcribe", action="store_true",
                   help="prosody cues only: no speech recognition (no transcript, no phrase cues)")
    p.add_argument("--model", default=None, metavar="DIR", help="speech model directory (default: bundled tiny.en)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE")
    p.add_argument("--profile", type=Path, default=None, metavar="PROFILE.toml",
                   help="the agent's calm baseline from 'calmcall calibrate' (else learned from the call)")
    p.add_argument("--customer-name", default=None, metavar="NAME", help="for the 'use their name' phrase cue")
    p.add_argument("--playbook", type=Path, action="append", default=None, metavar="FILE",
                   help="extra phrase playbook TOML (repeatable)")
    p.add_argument("--sessions-dir", type=Path, default=None, metavar="DIR",
                   help="where the session log (JSONL, masked, local only) goes; default as 'calmcall sessions'")
    p.add_argument("--no-log", action="store_true", help="do not write a session log")


# ---------------------------------------------------------------------- devices
def cmd_devices(args: argparse.Namespace) -> int:
    from .devices import SoundDeviceBackend, format_devices

    try:
        devices = SoundDeviceBackend().input_devices()
    except OSError as exc:  # PortAudio missing
        print(f"calmcall: error: cannot use PortAudio: {exc} (install libportaudio2)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([d.to_dict() for d in devices], indent=2))
    else:
        print("input devices (* = default):")
        print(format_devices(devices))
    return 0


# ---------------------------------------------------------------------- shared
def _build(args: argparse.Namespace, *, has_customer: bool, roles: tuple[str, ...]) -> tuple[Any, Any, Any, str | None]:
    """Config, pipeline, transcriber (or None), model name."""
    from ..config import load_config
    from ..pipeline import Pipeline

    cfg = load_config(args.config)
    profile = None
    if args.profile is not None:
        from ..baseline import read_profile

        profile = read_profile(args.profile)
    phrase_coach = None
    transcriber = None
    model_name = None
    if not args.no_transcribe:
        from ..asr.model import load_model
        from ..text.playbook import PhraseCoach, load_playbook
        from .session import Transcribers

        phrase_coach = PhraseCoach(load_playbook(extra=list(args.playbook or [])), customer_name=args.customer_name)
        model = load_model(args.model)
        transcriber = Transcribers(model, roles)
        model_name = Path(str(getattr(model, "model_path", "") or args.model or "tiny.en")).name or "tiny.en"
        if args.model is None:
            model_name = "tiny.en"
    pipe = Pipeline(cfg, has_customer=has_customer, agent_baseline=profile, phrase_coach=phrase_coach)
    return cfg, pipe, transcriber, model_name


def _start_server(args: argparse.Namespace, hello: Any) -> Any:
    from .server import OverlayServer, ServerThread

    srv = OverlayServer(port=args.port, hello=hello)
    th = ServerThread(srv)
    try:
        th.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _Fail(f"port {args.port} on 127.0.0.1 is in use; pass --port 0 for a free one, or another number")
        raise
    return th


class _Fail(Exception):
    pass


def _announce(srv: Any, args: argparse.Namespace, what: str) -> None:
    print(f"calmcall {what}: overlay at {srv.url}", flush=True)
    print("  (the link carries this run's access token: keep it to yourself; Ctrl-C stops)", flush=True)
    if args.open:
        threading.Thread(target=webbrowser.open, args=(srv.url,), daemon=True).start()


def _install_stop(session: Any) -> None:
    def handler(signum: int, frame: Any) -> None:
        session.stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def _summary(stats: Any, session: Any) -> None:
    kinds: dict[str, int] = {}
    for p in stats.prompts:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    audio_s = float(getattr(session.pipe, "t_s", 0.0))
    rt = stats.total_process_s / max(audio_s, 1e-9)
    print(
        f"calmcall: session ended: {audio_s:.1f} s of audio, {len(stats.prompts)} prompt(s)"
        + (f" ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else "")
        + f", {stats.words} word(s); processing {rt * 100:.1f} % of real time, slowest block {stats.max_block_ms:.1f} ms",
        flush=True,
    )
    for ev in session.device_log:
        if ev["kind"] in ("fault", "recovered"):
            print(f"  {ev['role']} device: {ev['text']}", flush=True)


# ---------------------------------------------------------------------- live
def cmd_live(args: argparse.Namespace) -> int:
    from .capture import DeviceCapture
    from .devices import DeviceError, SoundDeviceBackend
    from .session import CaptureSource, Session

    try:
        backend = SoundDeviceBackend()
    except OSError as exc:
        print(f"calmcall: error: cannot use PortAudio: {exc} (install libportaudio2)", file=sys.stderr)
        return 2
    agent = DeviceCapture("agent", args.device, backend=backend)
    customer = DeviceCapture("customer", args.customer_device, backend=backend) if args.customer_device else None
    source = CaptureSource(agent, customer)
    cfg, pipe, transcriber, model_name = _build(args, has_customer=customer is not None, roles=source.roles)
    return _run(args, source, cfg, pipe, transcriber, model_name, mode="live", errors=(DeviceError,))


# ---------------------------------------------------------------------- replay
def cmd_replay(args: argparse.Namespace) -> int:
    from ..audio_io import load_call
    from .session import FileSource

    if args.speed <= 0 or args.speed > 50:
        print("calmcall: error: --speed must be > 0 and <= 50", file=sys.stderr)
        return 2
    call = load_call(args.call, agent_channel=args.agent_channel, customer_channel=args.customer_channel)
    source = FileSource(call, name=args.call.name, speed=args.speed)
    cfg, pipe, transcriber, model_name = _build(args, has_customer=call.customer is not None, roles=source.roles)
    return _run(args, source, cfg, pipe, transcriber, model_name, mode="replay", errors=())


def _run(args: argparse.Namespace, source: Any, cfg: Any, pipe: Any, transcriber: Any,
         model_name: str | None, *, mode: str, errors: tuple[type[BaseException], ...]) -> int:
    from .session import Session

    session: Session | None = None

    def hello() -> dict[str, Any]:
        return session.hello() if session is not None else {"mode": mode}

    try:
        th = _start_server(args, hello)
    except _Fail as exc:
        print(f"calmcall: error: {exc}", file=sys.stderr)
        if transcriber is not None:
            transcriber.close()
        return 2
    srv = th.server
    writer = None
    if not args.no_log:
        from ..qa.sessionlog import SessionWriter, resolve_sessions_dir

        meta: dict[str, Any] = {"source": mode, "model": model_name, "config": cfg.to_dict(),
                                "roles": list(source.roles)}
        if mode == "replay":
            meta["file"] = str(args.call)
            meta["speed"] = args.speed
        else:
            meta["devices"] = {"agent": args.device or "default", "customer": args.customer_device}
        writer = SessionWriter(resolve_sessions_dir(args.sessions_dir), meta)
    session = Session(
        source, pipe, publish=srv.publish, config=cfg, transcriber=transcriber,
        model_name=model_name, mode=mode, on_event=writer.write if writer else None,
        status_extra=lambda: {"clients": srv.client_count},
    )
    _install_stop(session)
    _announce(srv, args, mode)
    try:
        if mode == "replay":
            wait = args.wait_client if args.wait_client is not None else (15.0 if args.open else 0.0)
            deadline = time.monotonic() + wait
            while srv.client_count == 0 and time.monotonic() < deadline and not session._stop.is_set():
                time.sleep(0.05)
        if getattr(args, "duration", None):
            threading.Timer(args.duration, session.stop).start()
        try:
            stats = session.run()
        except errors as exc:
            print(f"calmcall: error: {exc}", file=sys.stderr)
            return 2
        _summary(stats, session)
        if writer is not None:
            writer.close()
            print(f"calmcall: session log {writer.path}", flush=True)
        if mode == "replay" and source.finished:
            linger = args.linger if args.linger is not None else (None if args.open else 1.0)
            if linger is None:
                print("calmcall: replay finished; the overlay stays up until Ctrl-C", flush=True)
                stop = threading.Event()
                signal.signal(signal.SIGINT, lambda *a: stop.set())
                signal.signal(signal.SIGTERM, lambda *a: stop.set())
                while not stop.wait(0.5):
                    pass
            else:
                time.sleep(linger)
        return 0
    finally:
        if writer is not None:
            try:
                writer.close()
            except Exception as exc:
                print(f"calmcall: warning: session log: {exc}", file=sys.stderr)
        if transcriber is not None:
            transcriber.close()
        th.stop()
