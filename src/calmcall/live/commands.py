"""The ``devices``, ``live`` and ``replay`` subcommands (wired into cli.py by
:func:`add_live_parsers`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ..options import RunOptions, add_channel_arguments, add_config_argument, add_run_arguments
from ..safeio import number_arg
from .serve import ServeOptions, serve
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
    lv.add_argument(
        "--device",
        default=None,
        metavar="NAME",
        help="agent microphone, by (part of) its name; default: the system default input",
    )
    lv.add_argument(
        "--customer-device",
        default=None,
        metavar="NAME",
        help="second input carrying the customer's side of the call (loopback/monitor)",
    )
    lv.add_argument("--duration", type=number_arg(0, 86400, above=True), default=None, metavar="S", help="stop after S seconds")
    _common(lv)
    lv.set_defaults(func=cmd_live)

    rp = sub.add_parser(
        "replay",
        help="play a recorded call or session through the live path into the overlay (real clock)",
        description="Play CALL on the real clock through the same pipeline and overlay as a "
        "live call: for demos, QA and training. CALL is an audio file or a recorded session "
        "(its id, a unique id prefix, or its .jsonl path): a session with recorded audio is "
        "played like a file, with the words it logged delivered at the audio times the call got "
        "them (so it gives the call's prompts); one without audio re-sends the prompts and "
        "measures it logged.",
    )
    rp.add_argument("call", metavar="CALL_OR_SESSION")
    rp.add_argument(
        "--retranscribe",
        action="store_true",
        help="for a session with recorded audio: transcribe it again with the model instead "
        "of using the words it logged (needed with --record-audio)",
    )
    rp.add_argument("--speed", type=number_arg(0, 50, above=True), default=1.0, metavar="X", help="playback speed (default 1.0)")
    add_channel_arguments(rp, note=" (audio file)")
    rp.add_argument(
        "--wait-client",
        type=number_arg(0, 3600),
        default=None,
        metavar="S",
        help="wait up to S seconds for an overlay to connect before playing (default 15 with --open, else 0)",
    )
    rp.add_argument(
        "--linger",
        type=number_arg(0, 86400),
        default=None,
        metavar="S",
        help="keep serving the overlay S seconds after the call ends (default: until Ctrl-C with --open, else 1)",
    )
    _common(rp)
    rp.set_defaults(func=cmd_replay)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        type=number_arg(0, 65535, integer=True),
        default=DEFAULT_PORT,
        help=f"overlay port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    p.add_argument("--open", action="store_true", help="open the overlay in the web browser")
    add_config_argument(p)
    add_run_arguments(p)
    p.add_argument(
        "--sessions-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the session log (JSONL, masked, local only) goes; default as 'calmcall sessions'",
    )
    p.add_argument("--no-log", action="store_true", help="do not write a session log")
    p.add_argument(
        "--record-audio",
        action="store_true",
        help="also record the audio, one FLAC per channel next to the session log, with "
        "spoken card numbers silenced (needs transcription; only with everyone's consent)",
    )


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
def _build(
    args: argparse.Namespace, *, has_customer: bool, roles: tuple[str, ...], cfg: Any | None = None
) -> tuple[Any, Any, Any, str | None]:
    """Config (``cfg``, else ``--config``), pipeline, transcriber (or None), model name."""
    from ..config import with_language
    from ..pipeline import Pipeline

    opts = RunOptions.from_args(args)
    cfg = with_language(cfg, opts.language, opts.cue_language) if cfg is not None else opts.load_config()
    profile = opts.load_profile()
    phrase_coach = None
    transcriber = None
    model_name = None
    if args.no_transcribe and args.playbook:  # refused even when no phrase coach is built
        from ..text.playbook import check_playbook_files

        check_playbook_files(args.playbook, replace=opts.replace_playbook)
    if not args.no_transcribe:
        from ..analysis import make_phrase_coach
        from ..asr.language import call_language
        from ..asr.model import load_model
        from ..runner import Transcribers

        language = cfg.language.call
        options, lock = call_language(language)
        phrase_coach = make_phrase_coach(
            list(opts.playbook_files),
            replace_playbook=opts.replace_playbook,
            customer_name=opts.customer_name,
            language=language,
            lock=lock,
        )
        model = load_model(args.model, language=language)
        transcriber = Transcribers(model, roles, options=options, language_lock=lock if language == "auto" else None)
        model_name = Path(str(getattr(model, "model_path", "") or args.model or "tiny.en")).name or "tiny.en"
        if args.model is None:
            model_name = "tiny.en" if language == "en" else "base"
    pipe = Pipeline(cfg, has_customer=has_customer, agent_baseline=profile, phrase_coach=phrase_coach)
    return cfg, pipe, transcriber, model_name


def _build_logged(args: argparse.Namespace, session: Any, *, has_customer: bool) -> tuple[Any, Any, Any, str | None]:
    """Config, pipeline and transcriber stand-in for a replay that re-delivers the words
    ``session`` logged (:mod:`calmcall.live.logged_words`); no model is loaded. The words
    were masked before they were logged, so the pipeline does not mask them again (a
    second masker would hold number-like words back and move their release time)."""
    from ..analysis import make_phrase_coach
    from ..config import with_language
    from ..pipeline import Pipeline
    from .logged_words import LoggedWords, logged_transcript

    opts = RunOptions.from_args(args)
    cfg = with_language(_session_config(args, session), opts.language, opts.cue_language)
    profile = opts.load_profile()
    language = cfg.language.call
    lock = logged_language(session) if language == "auto" else None
    if language == "auto" and lock is None:  # not decided, or logged before calmcall logged it
        language = "en"
    phrase_coach = make_phrase_coach(
        list(opts.playbook_files),
        replace_playbook=opts.replace_playbook,
        customer_name=opts.customer_name,
        language=language,
        lock=lock,
    )
    pipe = Pipeline(cfg, has_customer=has_customer, agent_baseline=profile, phrase_coach=phrase_coach, mask_cards=False)
    words = LoggedWords(logged_transcript(session.events), language_lock=lock)
    return cfg, pipe, words, session.meta.get("model")


def logged_language(session: Any) -> Any | None:
    """The language an ``auto`` session settled on, as a replay's language lock
    (:class:`calmcall.live.logged_words.LoggedLanguage`: undecided until the replay
    reaches the audio time the live call decided at, like the live call), or None
    when the log has no decision (undecided, or an older log)."""
    from .logged_words import LoggedLanguage

    rec = session.language
    return LoggedLanguage(rec) if rec is not None else None


def _session_config(args: argparse.Namespace, session: Any) -> Any:
    """``--config`` if given, else the config the session logged (so a replay coaches as
    the call did), else the default."""
    from ..config import ConfigError, config_from_dict, load_config

    logged = session.meta.get("config")
    if args.config is None and isinstance(logged, dict):
        try:
            return config_from_dict(logged, source=f"{session.path} (logged config)")
        except ConfigError:
            pass
    return load_config(args.config)


# ---------------------------------------------------------------------- live
def cmd_live(args: argparse.Namespace) -> int:
    from .capture import DeviceCapture
    from .devices import DeviceError, SoundDeviceBackend, find_device
    from .session import CaptureSource

    refused = _check_record_flags(args)
    if refused:
        return _error(refused)
    try:
        backend = SoundDeviceBackend()
    except OSError as exc:
        print(f"calmcall: error: cannot use PortAudio: {exc} (install libportaudio2)", file=sys.stderr)
        return 2
    try:  # a missing or misnamed device: one line, before any server, model or session log
        devices = backend.input_devices()
        for name in (args.device, *((args.customer_device,) if args.customer_device else ())):
            find_device(devices, name)
    except DeviceError as exc:
        return _error(str(exc))
    agent = DeviceCapture("agent", args.device, backend=backend)
    customer = DeviceCapture("customer", args.customer_device, backend=backend) if args.customer_device else None
    source = CaptureSource(agent, customer)
    cfg, pipe, transcriber, model_name = _build(args, has_customer=customer is not None, roles=source.roles)
    return _run(args, source, cfg, pipe, transcriber, model_name, mode="live", errors=(DeviceError,))


# ---------------------------------------------------------------------- replay
def _error(msg: str) -> int:
    print(f"calmcall: error: {msg}", file=sys.stderr)
    return 2


def _check_record_flags(args: argparse.Namespace) -> str | None:
    """Why ``--record-audio`` cannot be honoured with these options (None if it can)."""
    if not getattr(args, "record_audio", False):
        return None
    if args.no_transcribe:
        return (
            "--record-audio needs transcription: spoken card numbers are found in the transcript "
            "and silenced in the recording; drop --no-transcribe (or drop --record-audio)"
        )
    if args.no_log:
        return "--record-audio writes the audio next to the session log; drop --no-log (or drop --record-audio)"
    return None


def cmd_replay(args: argparse.Namespace) -> int:
    from ..audio_io import load_call
    from ..qa import sessionlog as sl
    from .session import FileSource

    if args.speed <= 0 or args.speed > 50:
        return _error("--speed must be > 0 and <= 50")
    ref = str(args.call)
    path = Path(ref).expanduser()
    if path.is_file() and not path.name.endswith(sl.SESSION_SUFFIX):
        refused = _check_record_flags(args)
        if refused:
            return _error(refused)
        call = load_call(path, agent_channel=args.agent_channel, customer_channel=args.customer_channel)
        source = FileSource(call, name=path.name, speed=args.speed)
        cfg, pipe, transcriber, model_name = _build(args, has_customer=call.customer is not None, roles=source.roles)
        return _run(
            args, source, cfg, pipe, transcriber, model_name, mode="replay", errors=(), meta_extra={"file": str(args.call)}
        )

    sessions_dir = sl.resolve_sessions_dir(args.sessions_dir)
    if path.is_dir():
        return _error(f"{ref}: is a directory; give an audio file or a session (id, unique id prefix or .jsonl path)")
    matches = sl.find_sessions(ref, sessions_dir)
    if len(matches) != 1:
        if matches:
            names = ", ".join(m.name.removesuffix(sl.SESSION_SUFFIX) for m in matches[:4])
            more = f" and {len(matches) - 4} more" if len(matches) > 4 else ""
            return _error(f"{ref}: matches {len(matches)} sessions ({names}{more}); give more of the session id")
        return _error(
            f"{ref}: neither an audio file nor a session (no file of that name, and no session id or "
            f"unique id prefix {ref!r} in {sessions_dir}; list sessions with `calmcall sessions`, "
            "or pass --sessions-dir)"
        )
    try:
        session = sl.read_session(matches[0])
    except (OSError, ValueError) as exc:
        return _error(f"{matches[0]}: cannot read this session log ({exc})")
    if args.agent_channel is not None or args.customer_channel is not None:
        return _error("--agent-channel/--customer-channel apply to audio files; a session's channels come from its recordings")
    meta_extra = {"file": str(session.path), "replay_of": session.session_id}
    if session.damage_note:
        print(f"calmcall: note: {session.path.name} is damaged: {session.damage_note}", flush=True)
    audio = session.audio_paths()
    if "agent" in audio:
        refused = _check_record_flags(args)
        if refused:
            return _error(refused)
        try:
            call = load_session_call(session)
        except (OSError, RuntimeError, ValueError) as exc:
            return _error(f"{audio['agent']}: cannot read the recorded audio ({exc})")
        source = FileSource(call, name=session.session_id, speed=args.speed)
        if args.no_transcribe or args.retranscribe or session.meta.get("model") is None:
            cfg, pipe, transcriber, model_name = _build(
                args, has_customer=call.customer is not None, roles=source.roles, cfg=_session_config(args, session)
            )
            meta_extra["replay_input"] = "audio"
        else:
            if args.record_audio:
                return _error(
                    "a replay of a session's logged words cannot find card numbers in the audio to "
                    "silence them in a new recording; add --retranscribe (or drop --record-audio)"
                )
            cfg, pipe, transcriber, model_name = _build_logged(args, session, has_customer=call.customer is not None)
            meta_extra["replay_input"] = "audio+words"
        return _run(args, source, cfg, pipe, transcriber, model_name, mode="replay", errors=(), meta_extra=meta_extra)
    if args.record_audio:
        return _error(f"session {session.session_id} has no recorded audio, so there is nothing to record; drop --record-audio")
    return _run_events(args, session, meta_extra)


def load_session_call(session: Any) -> Any:
    """The recorded FLACs of ``session`` as a :class:`calmcall.audio_io.Call` (agent on
    channel 0, customer on 1 if recorded; a shorter channel, e.g. after a crash, is
    padded with silence)."""
    import numpy as np

    from ..audio_io import SAMPLE_RATE_HZ, Call, resample_to_16k
    from ..qa.recorder import read_recording

    chans: dict[str, np.ndarray] = {}
    for role, p in session.audio_paths().items():
        x, rate = read_recording(p)
        chans[role] = resample_to_16k(x, rate) if rate != SAMPLE_RATE_HZ else x
    n = max(len(x) for x in chans.values())
    if n == 0:
        raise ValueError("the recording holds no audio")
    for role, x in chans.items():
        if len(x) < n:
            chans[role] = np.concatenate([x, np.zeros(n - len(x), dtype=np.float32)])
    has_customer = "customer" in chans
    return Call(
        path=str(session.path),
        agent=chans["agent"],
        customer=chans.get("customer"),
        channels={"agent": 0, "customer": 1 if has_customer else None},
        source_rate_hz=SAMPLE_RATE_HZ,
        source_channels=len(chans),
        source_format="FLAC/PCM_16",
    )


def _run_events(args: argparse.Namespace, session: Any, meta_extra: dict[str, Any]) -> int:
    """Replay of a session without audio: its logged events, re-sent on the real clock."""
    from ..qa import sessionlog as sl
    from .session import EventReplay

    cfg = _session_config(args, session)
    lock = logged_language(session) if cfg.language.call == "auto" else None
    roles = session.meta.get("roles")
    if not (isinstance(roles, list) and roles):
        roles = ["agent"] + (["customer"] if any(e.get("speaker") == "customer" for e in session.events) else [])
    meta_extra = {**meta_extra, "replay_input": "events"}

    def build(publish: Any, on_event: Any, status_extra: Any, recorder: Any) -> Any:
        return EventReplay(
            sl.iter_replay(session),
            publish=publish,
            config=cfg,
            speed=args.speed,
            duration_s=session.duration_s,
            roles=roles,
            model_name=session.meta.get("model"),
            on_event=on_event,
            status_extra=status_extra,
            session_id=session.session_id,
            language_lock=lock,
        )

    return serve(
        ServeOptions.from_args(args),
        build,
        cfg=cfg,
        transcriber=None,
        model_name=session.meta.get("model"),
        roles=tuple(roles),
        mode="replay",
        errors=(),
        meta_extra=meta_extra,
        language_lock=lock,
    )


def _run(
    args: argparse.Namespace,
    source: Any,
    cfg: Any,
    pipe: Any,
    transcriber: Any,
    model_name: str | None,
    *,
    mode: str,
    errors: tuple[type[BaseException], ...],
    meta_extra: dict[str, Any] | None = None,
) -> int:
    from .session import Session

    def build(publish: Any, on_event: Any, status_extra: Any, recorder: Any) -> Any:
        return Session(
            source,
            pipe,
            publish=publish,
            config=cfg,
            transcriber=transcriber,
            model_name=model_name,
            mode=mode,
            on_event=on_event,
            status_extra=status_extra,
            recorder=recorder,
        )

    return serve(
        ServeOptions.from_args(args),
        build,
        cfg=cfg,
        transcriber=transcriber,
        model_name=model_name,
        roles=source.roles,
        mode=mode,
        errors=errors,
        meta_extra=meta_extra,
    )
