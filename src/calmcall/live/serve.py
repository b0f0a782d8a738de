"""Serving one coached session: the overlay server on 127.0.0.1, the session log, the
optional audio recorder, the stop signals, the replay's wait for a client and linger,
and the end-of-session summary. :func:`serve` takes :class:`ServeOptions`, not parsed
flags, so it can be called (and tested) without argparse."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
import time
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How a session is served. ``port``: overlay port on 127.0.0.1 (0: a free one);
    ``open_browser``: open the overlay; ``log`` / ``sessions_dir``: write the session log
    (there; None: the default folder); ``record_audio``: also the masked FLAC per
    channel; ``speed`` (x real time), ``wait_client_s`` (None: 15 with ``open_browser``,
    else 0) and ``linger_s`` (None: until Ctrl-C with ``open_browser``, else 1) for a
    replay; ``duration_s``: stop after this long (None: no limit); the device names are
    logged for a live session."""

    port: int
    open_browser: bool = False
    log: bool = True
    sessions_dir: Path | None = None
    record_audio: bool = False
    speed: float | None = None
    wait_client_s: float | None = None
    linger_s: float | None = None
    duration_s: float | None = None
    agent_device: str | None = None
    customer_device: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServeOptions:
        """The options of ``calmcall live`` / ``calmcall replay``'s parsed flags."""
        return cls(
            port=int(args.port),
            open_browser=bool(args.open),
            log=not args.no_log,
            sessions_dir=args.sessions_dir,
            record_audio=bool(getattr(args, "record_audio", False)),
            speed=getattr(args, "speed", None),
            wait_client_s=getattr(args, "wait_client", None),
            linger_s=getattr(args, "linger", None),
            duration_s=getattr(args, "duration", None),
            agent_device=getattr(args, "device", None),
            customer_device=getattr(args, "customer_device", None),
        )


def _start_server(opts: ServeOptions, hello: Any) -> Any:
    from .server import OverlayServer, ServerThread

    srv = OverlayServer(port=opts.port, hello=hello)
    th = ServerThread(srv)
    try:
        th.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _Fail(f"port {opts.port} on 127.0.0.1 is in use; pass --port 0 for a free one, or another number") from None
        raise
    return th


class _Fail(Exception):
    pass


def _announce(srv: Any, opts: ServeOptions, what: str) -> None:
    print(f"calmcall {what}: overlay at {srv.url}", flush=True)
    print("  (the link carries this run's access token: keep it to yourself; Ctrl-C stops)", flush=True)
    if opts.open_browser:
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
    audio_s = float(session.t_s)
    rt = stats.total_process_s / max(audio_s, 1e-9)
    print(
        f"calmcall: session ended: {audio_s:.1f} s of audio, {len(stats.prompts)} prompt(s)"
        + (f" ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else "")
        + f", {stats.words} word(s)"
        + (
            f"; processing {rt * 100:.1f} % of real time, slowest block {stats.max_block_ms:.1f} ms"
            if stats.blocks
            else " (re-sent from the session log)"
        ),
        flush=True,
    )
    for ev in session.device_log:
        if ev["kind"] in ("fault", "recovered"):
            print(f"  {ev['role']} device: {ev['text']}", flush=True)
    rec = getattr(session, "recording", None)
    if rec is not None:
        print(
            f"calmcall: audio recorded: {rec['written_s']:.1f} s per channel in {len(rec['files'])} FLAC file(s), "
            f"{rec['masked_spans']} masked word(s) silenced ({rec['masked_s']:.1f} s"
            + (f", plus {rec['cvv_window_s_silenced']:.1f} s of security-code window" if rec.get("cvv_window_s_silenced") else "")
            + "), "
            f"{rec['dropped_blocks']} stretch(es) dropped on a slow disk ({rec['dropped_s']:.1f} s)"
            + (f", {rec['unchecked_s']:.1f} s written as silence (transcript too far behind)" if rec["unchecked_s"] else "")
            + (f"; stopped early: {rec['error']}" if rec["error"] else ""),
            flush=True,
        )


def _warn(text: str) -> None:
    print(f"calmcall: warning: {text}", file=sys.stderr, flush=True)


def serve(
    opts: ServeOptions,
    build: Any,
    *,
    cfg: Any,
    transcriber: Any,
    model_name: str | None,
    roles: tuple[str, ...],
    mode: str,
    errors: tuple[type[BaseException], ...],
    meta_extra: dict[str, Any] | None = None,
    language_lock: Any | None = None,
) -> int:
    """Overlay server + session log (+ audio recorder) around the session ``build`` makes;
    returns the exit status (0 ok, 1 coached but the log is incomplete, 2 could not start).

    ``build(publish, on_event, status_extra, recorder)`` returns a
    :class:`~calmcall.live.session.Session` or :class:`~calmcall.live.event_replay.EventReplay`;
    ``transcriber`` (closed at the end) and ``model_name`` are logged; ``errors`` are the
    exceptions of ``session.run()`` that end it with one line (a device that fails to open).
    The cue language of an ``auto`` call follows ``transcriber.language_lock``, or
    ``language_lock`` (a replay of logged events: the language the session logged)."""
    session: Any = None
    lock = getattr(transcriber, "language_lock", None) or language_lock

    def cue_language() -> str:
        return cfg.language.cue_language(lock.language if lock is not None else None)

    def hello() -> dict[str, Any]:
        h = session.hello() if session is not None else {"mode": mode}
        lang = cue_language()
        if lang != "en":  # the overlay's fixed strings from the catalogue (English ones are built in)
            from ..messages import overlay_strings

            h = {**h, "lang": lang, "strings": overlay_strings(lang)}
        return h

    try:
        th = _start_server(opts, hello)
    except _Fail as exc:
        print(f"calmcall: error: {exc}", file=sys.stderr)
        if transcriber is not None:
            transcriber.close()
        return 2
    srv = th.server
    writer = None
    guard = None
    recorder = None
    try:
        if not (not opts.log):
            from ..qa.sessionlog import LogGuard, SessionLogError, SessionWriter, resolve_sessions_dir

            meta: dict[str, Any] = {"source": mode, "model": model_name, "config": cfg.to_dict(), "roles": list(roles)}
            if mode == "replay":
                meta["speed"] = opts.speed
            else:
                meta["devices"] = {"agent": opts.agent_device or "default", "customer": opts.customer_device}
            meta.update(meta_extra or {})
            meta["record_audio"] = bool(opts.record_audio)
            sessions_dir = resolve_sessions_dir(opts.sessions_dir)
            try:
                writer = SessionWriter(sessions_dir, meta)
            except (OSError, SessionLogError) as exc:  # read-only, not creatable, already full
                from ..safeio import explain

                cause = exc.__cause__ if isinstance(exc, SessionLogError) and exc.__cause__ else exc
                why = "it is a file, not a folder" if sessions_dir.is_file() else explain(cause)
                print(
                    f"calmcall: error: cannot start the session log in {sessions_dir}: {why}; "
                    "free some space, pass --sessions-dir DIR, or --no-log to coach without a log",
                    file=sys.stderr,
                )
                return 2
            guard = LogGuard(writer)
        if opts.record_audio and writer is not None:
            from ..qa.recorder import AudioRecorder, RecordingError

            recorder = AudioRecorder({r: writer.audio_path(r) for r in roles}, on_warning=_warn, language=cfg.language.call)
            try:
                recorder.start()
            except RecordingError as exc:
                recorder = None
                if writer is not None:  # the session never ran: leave no empty log behind
                    writer.close()
                    writer.path.unlink(missing_ok=True)
                    writer = guard = None
                print(f"calmcall: error: {exc}", file=sys.stderr)
                return 2
        log_guard = guard

        def status_extra() -> dict[str, Any]:  # the overlay learns when logging stopped
            return {"clients": srv.client_count, **(log_guard.status() if log_guard is not None else {})}

        publish = srv.publish
        if cfg.language.call != "en" or cfg.language.cues != "same":
            from ..messages import localize_dict

            def publish(type_: str, data: dict[str, Any]) -> None:  # prompts leave in the cue language
                srv.publish(type_, localize_dict(data, cue_language()) if type_ == "prompt" else data)

        session = build(publish, guard.write if guard else None, status_extra, recorder)
        _install_stop(session)
        _announce(srv, opts, mode)
        if recorder is not None:
            print(
                f"calmcall: recording audio (card numbers silenced) to {', '.join(str(p) for p in recorder.paths.values())}",
                flush=True,
            )
        if mode == "replay":
            wait = opts.wait_client_s if opts.wait_client_s is not None else (15.0 if opts.open_browser else 0.0)
            deadline = time.monotonic() + wait
            while srv.client_count == 0 and time.monotonic() < deadline and not session.stopped:
                time.sleep(0.05)
        if opts.duration_s:
            timer = threading.Timer(opts.duration_s, session.stop)
            timer.daemon = True  # Ctrl-C before the duration must not keep the process alive
            timer.start()
        try:
            stats = session.run()
        except errors as exc:
            print(f"calmcall: error: {exc}", file=sys.stderr)
            return 2
        _summary(stats, session)
        rc = 0
        if guard is not None:
            extra = {"audio": session.recording} if getattr(session, "recording", None) is not None else {}
            detection = getattr(session, "language", None) if cfg.language.call == "auto" else None
            if isinstance(detection, dict) and detection.get("language") is not None:
                extra["language"] = detection  # also in the session_end summary: `sessions` and a replay read it
            guard.close(extra=extra or None)
            print(guard.summary_line(), flush=True)
            rc = 1 if guard.failed else 0  # coached, but the log is incomplete
        if mode == "replay" and session.finished:
            linger = opts.linger_s if opts.linger_s is not None else (None if opts.open_browser else 1.0)
            if linger is None:
                print("calmcall: replay finished; the overlay stays up until Ctrl-C", flush=True)
                stop = threading.Event()
                signal.signal(signal.SIGINT, lambda *a: stop.set())
                signal.signal(signal.SIGTERM, lambda *a: stop.set())
                while not stop.wait(0.5):
                    pass
            else:
                time.sleep(linger)
        return rc
    finally:
        if recorder is not None:
            recorder.close()  # no-op after a normal end; after an error, keeps only checked audio
        if writer is not None:
            try:
                writer.close()
            except Exception as exc:
                print(f"calmcall: warning: session log: {exc}", file=sys.stderr)
        if transcriber is not None:
            transcriber.close()
        th.stop()
