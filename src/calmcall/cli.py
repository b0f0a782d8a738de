"""The ``calmcall`` command line. The only place logging is configured."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import __version__
from .audio_io import CHANNEL, load_call
from .baseline import calibrate, write_profile
from .config import default_config_text, load_config
from .errors import CalmcallError, InputError
from .options import RunOptions, add_channel_arguments, add_config_argument, add_run_arguments
from .safeio import number_arg

log = logging.getLogger("calmcall")

SAMPLE_CALL = Path(__file__).resolve().parents[2] / "samples" / "sample_call.wav"


class UsageError(InputError):
    """Bad input named in one line; exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2), like every
    other calmcall error; its subcommand parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"calmcall: error: {self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


def _add_call_args(p: argparse.ArgumentParser) -> None:
    add_channel_arguments(p)
    add_config_argument(p)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="calmcall", description="Coach call-centre agents to speak slowly and low.")
    parser.add_argument("--version", action="version", version=f"calmcall {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("analyze", help="analyze a recorded call (or a folder/glob of calls with --out)")
    a.add_argument("call", nargs="?", default=None, help="audio file (WAV/FLAC/OGG/MP3); default: the bundled sample call")
    _add_call_args(a)
    add_run_arguments(a)
    a.add_argument("--json", type=Path, default=None, metavar="OUT.json", help="write the analysis document")
    a.add_argument("--vtt", type=Path, default=None, metavar="FILE", help="write the transcript as WebVTT")
    a.add_argument("--srt", type=Path, default=None, metavar="FILE", help="write the transcript as SubRip")
    a.add_argument("--out", default=None, metavar="DIR", help="batch mode: per-call JSON + reports + summary.csv")
    a.add_argument(
        "--jobs", type=number_arg(1, 256, integer=True), default=None, help="batch mode: parallel workers (default: CPU count)"
    )
    a.set_defaults(func=cmd_analyze)

    c = sub.add_parser("calibrate", help="learn the agent's calm baseline from a calm recording")
    c.add_argument("recording")
    c.add_argument("--out", type=Path, required=True, metavar="PROFILE.toml")
    c.add_argument("--agent-channel", type=CHANNEL, default=None, metavar="N", help="channel of the agent, from 0 (default 0)")
    add_config_argument(c)
    c.set_defaults(func=cmd_calibrate)

    m = sub.add_parser("measure", help="per-frame measures (speech, voicing, F0, level) of a call, every 10 ms per speaker")
    m.add_argument("call", help="audio file (WAV/FLAC/OGG/MP3)")
    m.add_argument(
        "--csv",
        type=Path,
        default=None,
        metavar="OUT.csv",
        help="write one row per frame per speaker (default, with no --csv/--json: the CSV on standard output)",
    )
    m.add_argument("--json", type=Path, default=None, metavar="OUT.json", help="write the frames as a JSON document")
    _add_call_args(m)
    m.set_defaults(func=cmd_measure)

    g = sub.add_parser("config", help="configuration helpers")
    g.add_argument("--print-default", action="store_true", help="print the default configuration TOML")
    g.add_argument("--check", type=Path, default=None, metavar="FILE", help="validate a config file")
    g.set_defaults(func=cmd_config)

    for name in ("calmcall.live.commands:add_live_parsers", "calmcall.qa.commands:add_qa_parsers"):
        _register(sub, name)
    return parser


def _register(sub: Any, target: str) -> None:
    module, _, attr = target.partition(":")
    try:
        mod = __import__(module, fromlist=[attr])
    except ImportError as exc:  # an optional part that failed to import must not break the rest
        log.debug("could not load %s: %s", module, exc)
        return
    getattr(mod, attr)(sub)


def _check_playbooks(args: argparse.Namespace, language: str = "en") -> None:
    """A malformed ``--playbook`` is an error even under ``--no-transcribe``."""
    if getattr(args, "playbook", None) and getattr(args, "no_transcribe", False):
        from .text.playbook import check_playbook_files

        check_playbook_files(
            args.playbook,
            replace=bool(getattr(args, "replace_playbook", False)),
            language="en" if language == "auto" else language,
        )


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze_file

    target = args.call
    if target is not None and args.out is not None:
        from .qa.commands import run_batch

        return run_batch(args)
    if target is None:
        if not SAMPLE_CALL.is_file():  # an installed wheel has no samples/ folder
            raise UsageError(
                "name a call to analyze: calmcall analyze CALL (the sample call "
                "samples/sample_call.wav comes only with a source checkout)"
            )
        target = str(SAMPLE_CALL)
    from .qa.batch import is_batch_target

    if is_batch_target(target):
        raise UsageError(f"{target}: a folder or glob of calls needs --out DIR for the per-call results")
    opts = RunOptions.from_args(args)
    cfg = opts.load_config()
    _check_playbooks(args, cfg.language.call)
    _check_outputs(args.json, args.vtt, args.srt)
    doc = analyze_file(target, config=cfg, profile=opts.load_profile(), **opts.call_kwargs())
    from .summary import format_summary

    print(format_summary(doc))
    if args.json is not None:
        _write(args.json, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")
    if args.vtt is not None or args.srt is not None:
        from .asr.export import to_srt, to_vtt
        from .events import Word

        words = [
            Word(
                t_s=w["t_s"],
                start_s=w["start_s"],
                end_s=w["end_s"],
                text=w["text"],
                speaker=w["speaker"],
                confidence=w["confidence"],
            )
            for w in doc["words"]
        ]
        if args.vtt is not None:
            _write(args.vtt, to_vtt(words))
            print(f"wrote {args.vtt}")
        if args.srt is not None:
            _write(args.srt, to_srt(words))
            print(f"wrote {args.srt}")
    return 0


def _write(path: Path, text: str) -> None:
    """Write an output (transcript, analysis) atomically and ``0600``, like session
    logs and batch outputs: it holds what was said on the call."""
    from .safeio import atomic_write_text, explain

    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {explain(exc)}") from None


def _check_outputs(*paths: Path | None) -> None:
    """Refuse an output path that cannot be written before the (long) analysis runs."""
    import os

    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            raise UsageError(f"{path}: is a folder; name the output file")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"{path}: the folder {parent} does not exist (create it first)")
        if not os.access(parent, os.W_OK):
            raise UsageError(f"{path}: the folder {parent} is not writable (choose another)")


def cmd_calibrate(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    call = load_call(args.recording, agent_channel=args.agent_channel)
    baseline = calibrate(call.agent, cfg.measure, cfg.baseline, source=str(args.recording))
    try:
        write_profile(args.out, baseline, recording=str(args.recording))
    except OSError as exc:
        raise UsageError(f"{args.out}: cannot write profile ({exc.strerror or exc})") from None
    print(
        f"calm baseline from {baseline.speech_s:.1f} s of speech: median pitch {baseline.f0_hz:.0f} Hz, "
        f"level {baseline.level_db:.1f} dBFS, pace {baseline.rate_syl_s:.2f} syllables/s"
    )
    print(f"wrote {args.out}")
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    from .measure import measure_call, measure_document, write_csv, write_json

    cfg = load_config(args.config)
    call = load_call(args.call, agent_channel=args.agent_channel, customer_channel=args.customer_channel)
    measures = measure_call(call, cfg.measure)
    if args.csv is None and args.json is None:
        write_csv(sys.stdout, measures)
        return 0
    for path, write in (
        (args.csv, lambda p: write_csv(p, measures)),
        (args.json, lambda p: write_json(p, measure_document(call, measures))),
    ):
        if path is None:
            continue
        try:
            write(path)
        except OSError as exc:
            raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None
        print(f"wrote {path}")
    for speaker, mm in measures.items():
        n = len(mm["t_s"])
        speech_s = float(np.count_nonzero(mm["speech"])) * 0.01
        voiced = mm["f0_hz"][mm["voiced"]]
        med = f"{np.median(voiced):.0f} Hz" if len(voiced) else "-"
        print(
            f"{speaker}: {n} frames, {speech_s:.1f} s speech, {int(np.count_nonzero(mm['voiced']))} voiced frames, "
            f"median F0 {med}"
        )
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    if args.check is not None:
        load_config(args.check)
        print(f"{args.check}: OK")
        return 0
    if args.print_default:
        sys.stdout.write(default_config_text())
        return 0
    raise UsageError("config: say --print-default or --check FILE")


def _one_line(text: str) -> str:
    """An error message on one line (a TOML parser's message may hold a newline)."""
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except CalmcallError as exc:  # every error raised on purpose (calmcall.errors): one line, exit 2
        print(f"calmcall: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file-system problem no edge turned into words: still one line
        if isinstance(exc, BrokenPipeError):
            return 0
        from .safeio import explain

        where = f"{exc.filename}: " if exc.filename else ""
        print(f"calmcall: error: {where}{explain(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
