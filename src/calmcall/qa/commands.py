"""Command-line glue for QA: ``calmcall sessions``, ``calmcall report`` and the batch
mode of ``calmcall analyze`` (:func:`run_batch`).

``cli.build_parser`` calls :func:`add_qa_parsers`; handlers return an exit status:
0 success, 1 a batch finished with failed calls, 2 bad input (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from calmcall.errors import CalmcallError
from calmcall.options import RunOptions, add_channel_arguments, add_config_argument, add_run_arguments
from calmcall.qa import sessionlog as sl
from calmcall.safeio import number_arg


def _err(msg: str) -> int:
    print(f"calmcall: error: {msg}", file=sys.stderr)
    return 2


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """Batch-only options of ``analyze`` (``--force``, ``--no-report``); options the
    parser already has are left alone."""
    batch_flags: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
        (("--force",), {"action": "store_true", "help": "batch mode: redo calls already done in --out"}),
        (("--no-report",), {"action": "store_true", "help": "batch mode: per-call JSON and summary.csv only, no HTML"}),
        (
            ("--engine",),
            {
                "choices": ("local", "ray"),
                "default": "local",
                "help": "batch mode: this machine's process pool (default) or Ray Data on a cluster "
                "(pip install 'calmcall[fleet]'; docs/fleet.md)",
            },
        ),
        (
            ("--ray-address",),
            {
                "default": None,
                "metavar": "ADDR",
                "help": "with --engine ray: join this cluster (HOST:PORT of the head, or ray://HOST:10001); "
                "default: start a local Ray on 127.0.0.1 for the run",
            },
        ),
    )
    for flags, kw in batch_flags:
        try:
            parser.add_argument(*flags, **kw)
        except argparse.ArgumentError:
            pass


def add_qa_parsers(subparsers: Any) -> None:
    """Register ``sessions`` and ``report`` on the ``calmcall`` sub-parsers (and the
    batch-only options on ``analyze`` when it is already registered)."""
    analyze = getattr(subparsers, "choices", {}).get("analyze")
    if isinstance(analyze, argparse.ArgumentParser):
        add_batch_arguments(analyze)
    s = subparsers.add_parser(
        "sessions",
        help="list recorded live/replay sessions",
        description="List the session logs of live and replay sessions, newest first. "
        f"Folder: --sessions-dir, else ${sl.ENV_SESSIONS_DIR}, else $XDG_DATA_HOME/calmcall/sessions "
        "(~/.local/share/calmcall/sessions).",
    )
    s.add_argument("--sessions-dir", type=Path, default=None, metavar="DIR", help="the sessions folder")
    s.add_argument("--json", action="store_true", help="print the list as JSON")
    s.add_argument(
        "-n",
        "--limit",
        type=number_arg(0, 1_000_000, integer=True),
        default=None,
        metavar="N",
        help="show only the newest N sessions",
    )
    s.set_defaults(func=cmd_sessions)

    r = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a call or a session",
        description="Report on an audio file (analysed now), a session (id, id prefix or .jsonl path) "
        "or an analyze JSON document: timeline against the target band, transcript, scorecard.",
    )
    r.add_argument("source", metavar="CALL_OR_SESSION", help="audio file, session id / .jsonl log, or analyze .json")
    r.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        metavar="REPORT.html",
        help="where to write the report (default: <name>.html in the current folder)",
    )
    r.add_argument("--sessions-dir", type=Path, default=None, metavar="DIR", help="where to look up session ids")
    r.add_argument(
        "--audio",
        type=Path,
        default=None,
        metavar="FILE",
        help="the call's audio, for a session or JSON whose audio is elsewhere",
    )
    r.add_argument("--no-audio", action="store_true", help="do not link or embed any audio")
    r.add_argument(
        "--embed-audio",
        action="store_true",
        help="embed the audio in the HTML (Ogg/Opus) instead of linking it; the file then plays anywhere "
        "but carries the recording with it",
    )
    add_channel_arguments(r, note=" (audio input)")
    add_config_argument(r, note=" (audio input)")
    add_run_arguments(r, note=" (audio input)")
    r.set_defaults(func=cmd_report)

    d = subparsers.add_parser(
        "dashboard",
        help="write one self-contained HTML page over a batch's calls (fleet QA)",
        description="Fleet dashboard of `calmcall analyze CALLS --out OUT`: distribution of the in-band share, prompts "
        "per kind per hour of agent talk, overtalk and long-silence rates, trends per team and per agent "
        "(only when a manifest names them), the calls that most need a listen linked to their reports. "
        "Reads OUT/calls.parquet (else OUT/summary.csv). Measurable facts only; no network.",
    )
    d.add_argument("out_dir", metavar="OUT", type=Path, help="the --out folder of a batch run")
    d.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FLEET.html", help="where to write the page (default: OUT/fleet.html)"
    )
    d.set_defaults(func=cmd_dashboard)


# --------------------------------------------------------------------------- sessions


def _fmt_started(info: sl.SessionInfo) -> str:
    if info.started_at is None:
        return "?"
    return info.started_at.astimezone().strftime("%Y-%m-%d %H:%M")


def format_sessions(infos: list[sl.SessionInfo]) -> str:
    from calmcall.qa.report import fmt_time

    head = ("SESSION", "STARTED", "DURATION", "AGENT", "PROMPTS", "IN BAND", "NOTE")
    rows = []
    for i in infos:
        note = i.error or ("" if i.complete else "no end record (still running, or crashed)")
        if i.damage:
            note = (note + ", " if note else "") + i.damage
        if i.has_audio:
            note = (note + ", " if note else "") + "audio"
        rows.append(
            (
                i.session_id,
                _fmt_started(i),
                fmt_time(i.duration_s),
                i.agent or "-",
                str(i.prompts),
                "-" if i.in_band_share is None else f"{100 * i.in_band_share:.0f} %",
                note,
            )
        )
    widths = [max(len(str(r[k])) for r in [head, *rows]) for k in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    return "\n".join(lines)


def cmd_sessions(args: argparse.Namespace) -> int:
    d = sl.resolve_sessions_dir(args.sessions_dir)
    infos = sl.list_sessions(d)
    if args.limit is not None:
        infos = infos[: max(0, args.limit)]
    if args.json:
        print(json.dumps({"sessions_dir": str(d), "sessions": [i.to_dict() for i in infos]}, indent=1))
        return 0
    if not infos:
        print(f"no sessions in {d}")
        return 0
    print(format_sessions(infos))
    print(f"\n{len(infos)} session(s) in {d}")
    return 0


# --------------------------------------------------------------------------- report


def load_source(args: argparse.Namespace) -> dict[str, Any]:
    """The analyze document for ``args.source``: a session, a JSON document or audio."""
    src = str(args.source)
    p = Path(src).expanduser()
    if p.is_file() and p.name.endswith(sl.SESSION_SUFFIX):
        return sl.session_to_analysis(sl.read_session(p))
    if p.is_file() and p.suffix.lower() == ".json":
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{p}: not a readable analyze JSON document ({exc})") from None
        if not isinstance(doc, dict) or "timeline" not in doc:
            raise ValueError(f"{p}: not an analyze JSON document (no 'timeline'); write one with `calmcall analyze CALL --json`")
        return doc
    if p.is_file():
        from calmcall.analysis import analyze_file

        opts = RunOptions.from_args(args)
        return analyze_file(p, config=opts.load_config(), profile=opts.load_profile(), **opts.call_kwargs())
    found = sl.resolve_session(src, sl.resolve_sessions_dir(args.sessions_dir))
    if found is not None:
        return sl.session_to_analysis(sl.read_session(found))
    raise FileNotFoundError(
        f"{src}: no such audio file, JSON document or session (sessions folder {sl.resolve_sessions_dir(args.sessions_dir)})"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from calmcall.qa.report import AudioSource, write_report

    try:
        doc = load_source(args)
    except (FileNotFoundError, ValueError) as exc:
        if isinstance(exc, CalmcallError):
            raise  # the CLI prints these
        return _err(str(exc))
    out = args.out
    if out is None:
        sid = (doc.get("session") or {}).get("session_id")
        out = Path(f"{sid or Path(str(doc.get('file') or 'call')).stem}.html")
    audio = None
    if args.no_audio:
        audio = []
    elif args.audio is not None:
        if not args.audio.is_file():
            return _err(f"{args.audio}: no such audio file")
        audio = [AudioSource(args.audio, "call")]
    try:
        cue = getattr(args, "cue_language", None)
        lang = cue if cue in ("en", "fr") else ("fr" if getattr(args, "language", None) == "fr" else None)
        path = write_report(doc, out, audio=audio, embed_audio=args.embed_audio, lang=lang)
    except OSError as exc:
        return _err(f"{out}: cannot write the report ({exc.strerror or exc})")
    print(f"wrote {path}")
    damage = (doc.get("session") or {}).get("damage") if isinstance(doc.get("session"), dict) else None
    if damage:
        print(f"note: the session log is damaged: {damage}")
    return 0


# --------------------------------------------------------------------------- dashboard


def cmd_dashboard(args: argparse.Namespace) -> int:
    from calmcall.qa.dashboard import write_dashboard

    dest = args.output if args.output is not None else Path(args.out_dir) / "fleet.html"
    try:
        path = write_dashboard(args.out_dir, dest)
    except OSError as exc:
        return _err(f"{dest}: cannot write the dashboard ({exc.strerror or exc})")
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------- batch


def _opts_from_args(args: argparse.Namespace) -> Any:
    import dataclasses

    from calmcall.qa.batch import Options

    run = RunOptions.from_args(args)
    fields = {f.name: getattr(run, f.name) for f in dataclasses.fields(RunOptions)}
    return Options(**fields, report=not getattr(args, "no_report", False))


def run_batch(args: argparse.Namespace) -> int:
    """``calmcall analyze DIR_OR_GLOB --out DIR``. Reads ``args.call`` (or
    ``args.path``), ``args.out``, ``args.jobs`` and, when present, ``args.force`` /
    ``args.no_report`` plus the usual analyze options. Exit status 0 when every
    call was analysed (or already done), 1 when some failed, 2 on bad input."""
    from calmcall.qa.batch import BatchError, batch_analyze, format_result

    target = getattr(args, "call", None) or getattr(args, "path", None)
    if target is None or getattr(args, "out", None) is None:
        return _err("batch mode needs CALLS (a folder, a quoted glob or a file) and --out DIR")
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        return _err(f"--jobs must be at least 1, got {jobs}")
    try:
        from calmcall.config import load_config
        from calmcall.text.playbook import check_playbook_files

        load_config(getattr(args, "config", None))  # fail once here, not once per call
        check_playbook_files(getattr(args, "playbook", None), replace=bool(getattr(args, "replace_playbook", False)))
    except Exception as exc:
        return _err(str(exc))
    from calmcall.fleet.uri import URIError, local_path

    try:  # kept as given (a str): Path() would fold "s3://b" into the local folder "s3:/b"
        target, out = local_path(str(target), "the calls"), Path(local_path(str(args.out), "--out"))
    except URIError as exc:
        return _err(str(exc))
    try:
        res = batch_analyze(
            target,
            out,
            opts=_opts_from_args(args),
            jobs=jobs,
            force=bool(getattr(args, "force", False)),
            engine=getattr(args, "engine", None) or "local",
            ray_address=getattr(args, "ray_address", None),
        )
    except BatchError as exc:
        return _err(str(exc))
    print(format_result(res, out))
    return 0 if res.ok else 1
