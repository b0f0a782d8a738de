"""Batch analysis: many saved calls in parallel, per-call JSON + report, summary CSV.

``calmcall analyze DIR_OR_GLOB --out DIR`` ends here (:func:`run_batch`):

* inputs: every audio file under a folder (recursively), the files a glob matches
  (``'calls/**/*.wav'``, quoted), or one file;
* one worker process per core (``--jobs``), each analysing whole calls; BLAS /
  OpenMP pools are pinned to one thread per worker so workers do not fight;
* per call: ``<out>/<name>.json`` (the analyze document plus a ``"batch"`` block)
  and ``<out>/<name>.html`` (the report), both written atomically; the JSON last,
  so its presence means the call is done;
* resume: a call whose JSON exists, names the same source size and mtime, and has
  its report, is skipped (``--force`` redoes everything);
* a bad file does not stop the batch: it is listed at the end with its error, gets
  a ``status=error`` row in ``summary.csv``, and is retried on the next run;
* a worker that dies (crash, out of memory) is replaced; its calls are retried
  once, each alone in a fresh process, before being reported as failed;
* ``<out>/summary.csv``: one row per call (:data:`calmcall.qa.scorecard.CSV_FIELDS`);
  ``<out>/calls.parquet``: the same rows with grouping columns (agent, team, folder,
  call time; :mod:`calmcall.fleet.table`), written when pyarrow is installed;
* the input may also be a CSV manifest (:mod:`calmcall.fleet.manifest`) naming the
  calls with their agent, team and call time;
* per call, two stages (:func:`decode_job`, then :func:`finish_call`); the speech
  model is loaded once per worker process (:func:`worker_model`), not once per call.
"""

from __future__ import annotations

import csv
import functools
import glob
import io
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from calmcall.options import RunOptions
from calmcall.qa import scorecard as sc
from calmcall.qa.report import AUDIO_EXTS
from calmcall.safeio import atomic_write_text

from ..errors import InputError

SUMMARY_CSV = "summary.csv"
_GLOB_CHARS = set("*?[")


class BatchError(InputError):
    """The batch cannot start (no inputs, bad output folder); one-line message."""


@dataclass(frozen=True)
class Job:
    source: str
    name: str
    json_path: str
    html_path: str | None


@dataclass(frozen=True, slots=True)
class Options(RunOptions):
    """Everything a worker needs to analyse one call (picklable): the call's
    :class:`~calmcall.options.RunOptions` and whether to write its HTML report."""

    report: bool = True


@dataclass
class BatchResult:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    audio_s: float = 0.0  # audio analysed in this run (not counting skipped calls)
    wall_s: float = 0.0
    summary_csv: Path | None = None
    calls_parquet: Path | None = None  # None: pyarrow is not installed

    @property
    def ok(self) -> bool:
        return not self.failed


# --------------------------------------------------------------------------- inputs


def is_batch_target(target: str) -> bool:
    """True for a folder, a glob pattern or a CSV manifest (rather than one audio file)."""
    p = Path(target).expanduser()
    try:
        return (
            p.is_dir()
            or (p.suffix.lower() == ".csv" and p.is_file())
            or (not p.exists() and any(c in target for c in _GLOB_CHARS))
        )
    except OSError:  # e.g. a folder above it cannot be searched: load_call says so for one file
        return False


def collect_inputs(target: str, *, exclude: Path | None = None) -> tuple[list[Path], Path]:
    """The call files ``target`` names, sorted, and the root their names are taken
    relative to. A folder is searched recursively for audio files (hidden folders
    and ``exclude`` skipped); a glob takes every file it matches."""
    p = Path(target).expanduser()
    excl = exclude.resolve() if exclude is not None else None
    if p.is_dir():
        root = p
        files = []

        def unreadable(exc: OSError) -> None:  # os.walk would skip a folder it cannot list
            from calmcall.safeio import explain

            raise BatchError(f"{exc.filename or p}: cannot list this folder: {explain(exc)}")

        for dirpath, dirnames, filenames in os.walk(p, onerror=unreadable):
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and (excl is None or Path(dirpath, d).resolve() != excl)
            )
            files += [Path(dirpath, f) for f in filenames if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_EXTS]
    elif p.is_file():
        root, files = p.parent, [p]
    elif any(c in target for c in _GLOB_CHARS):
        files = [Path(f) for f in glob.glob(os.path.expanduser(target), recursive=True) if Path(f).is_file()]
        if not files:
            raise BatchError(f"{target}: no files match this pattern")
        root = Path(os.path.commonpath([str(f.parent.resolve()) for f in files])) if files else Path(".")
    else:
        raise BatchError(f"{target}: no such file, folder or glob pattern")
    files = sorted({f.resolve() for f in files})
    if not files:
        raise BatchError(f"{target}: no audio files found ({', '.join(sorted(AUDIO_EXTS))})")
    return files, root.resolve()


def plan_jobs(files: Sequence[Path], root: Path, out_dir: Path, *, report: bool = True) -> list[Job]:
    """Output names: the path under ``root`` without extension, folders joined by
    ``__``; the extension is kept where two inputs would otherwise collide."""

    def key(f: Path, keep_ext: bool) -> str:
        try:
            rel = f.relative_to(root)
        except ValueError:
            rel = Path(f.name)
        parts = list(rel.parts)
        if not keep_ext:
            parts[-1] = Path(parts[-1]).stem
        return "__".join(parts)

    names = [key(f, False) for f in files]
    dup = {n for n in names if names.count(n) > 1}
    jobs = []
    for f, n in zip(files, names):
        if n in dup:
            n = key(f, True)
        jobs.append(
            Job(
                source=str(f),
                name=n,
                json_path=str(out_dir / f"{n}.json"),
                html_path=str(out_dir / f"{n}.html") if report else None,
            )
        )
    return jobs


def _source_sig(path: str) -> dict[str, int]:
    st = os.stat(path)
    return {"source_size": st.st_size, "source_mtime_ns": st.st_mtime_ns}


def load_done(job: Job) -> dict[str, Any] | None:
    """The finished document of ``job`` if it is up to date, else None."""
    try:
        with open(job.json_path, encoding="utf-8") as f:
            doc = json.load(f)
        b = doc.get("batch") or {}
        sig = _source_sig(job.source)
    except (OSError, ValueError, AttributeError):
        return None
    if b.get("source_size") != sig["source_size"] or b.get("source_mtime_ns") != sig["source_mtime_ns"]:
        return None
    if job.html_path is not None and not os.path.isfile(job.html_path):
        return None
    return doc


# --------------------------------------------------------------------------- worker


def _init_worker() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
    except Exception:
        pass


@functools.lru_cache(maxsize=4)
def _config(path: str | Path | None, language: str | None = None, cue_language: str | None = None) -> Any:
    from calmcall.config import load_config, with_language

    return with_language(load_config(path), language, cue_language)


@functools.lru_cache(maxsize=4)
def _profile(path: str | Path | None) -> Any:
    if path is None:
        return None
    from calmcall.baseline import read_profile

    return read_profile(path)


def _error_text(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    from calmcall.audio_io import CallFileError

    if isinstance(exc, CallFileError) and msg:
        return msg
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


#: speech models this process has loaded (a batch worker or a Ray actor: one)
MODEL_LOADS = 0


@functools.lru_cache(maxsize=2)
def worker_model(model_dir: str | Path | None, language: str = "en") -> Any:
    """The speech model of this worker process, loaded on first use and kept: a
    batch worker (or a Ray actor) analyses many calls with one model. Counts the
    loads in :data:`MODEL_LOADS`."""
    global MODEL_LOADS
    from calmcall.asr.model import load_model

    model = load_model(model_dir, language=language)
    MODEL_LOADS += 1
    return model


def decode_job(job: Job, opts: Options) -> dict[str, Any]:
    """Stage 1 of a call: read, downmix and resample its audio
    (:func:`calmcall.audio_io.load_call`). Returns ``{"call": Call, "sig": {source_size,
    source_mtime_ns}, "decode_s": float}`` or, for a bad file, ``{"error": str,
    "decode_s": float}``; never raises for a bad call."""
    t0 = time.perf_counter()
    try:
        from calmcall.audio_io import load_call

        sig = _source_sig(job.source)
        call = load_call(job.source, agent_channel=opts.agent_channel, customer_channel=opts.customer_channel)
        return {"call": call, "sig": sig, "decode_s": time.perf_counter() - t0}
    except Exception as exc:  # a bad call must not stop the batch
        return {"error": _error_text(exc), "decode_s": time.perf_counter() - t0}


def finish_call(job: Job, opts: Options, decoded: dict[str, Any], *, model: Any = None) -> dict[str, Any]:
    """Stage 2 of a call: analyse the decoded audio (:func:`decode_job`'s result),
    write its report and JSON (atomically, the JSON last). ``model``: the speech
    model to use; ``None`` takes this process's :func:`worker_model` when
    transcribing. Returns ``{"ok": True, "row", "duration_s", "elapsed_s",
    "model_loads", "pid"}`` or ``{"ok": False, "error", "elapsed_s", ...}``; never
    raises for a bad call."""
    t0 = time.perf_counter()
    decode_s = float(decoded.get("decode_s") or 0.0)
    info = {"pid": os.getpid()}
    if "error" in decoded:
        return {"ok": False, "error": decoded["error"], "elapsed_s": decode_s, **info, "model_loads": MODEL_LOADS}
    try:
        from calmcall.analysis import build_document, run_call

        config = _config(opts.config_path, opts.language, opts.cue_language)
        if opts.transcribe and model is None:
            model = worker_model(opts.model_dir, config.language.call)
        call = decoded["call"]
        events, pipe = run_call(
            call,
            config=config,
            profile=_profile(opts.profile_path),
            transcribe=opts.transcribe,
            customer_name=opts.customer_name,
            model_dir=opts.model_dir,
            playbook_files=[Path(p) for p in opts.playbook_files] or None,
            replace_playbook=opts.replace_playbook,
            model=model,
        )
        doc = build_document(call, events, pipe, config)
        analyze_s = decode_s + time.perf_counter() - t0
        card = sc.scorecard(doc)
        if job.html_path is not None:
            from calmcall.qa.report import write_report

            write_report(doc, job.html_path, card=card)
        doc["batch"] = {
            "source": job.source,
            **decoded["sig"],
            "decode_s": round(decode_s, 3),
            "analyze_s": round(analyze_s, 3),
            "total_s": round(decode_s + time.perf_counter() - t0, 3),
        }
        atomic_write_text(Path(job.json_path), json.dumps(doc, ensure_ascii=False) + "\n")
        return {
            "ok": True,
            "row": _row(job, doc, card),
            "duration_s": float(doc.get("duration_s") or 0.0),
            "elapsed_s": decode_s + time.perf_counter() - t0,
            **info,
            "model_loads": MODEL_LOADS,
        }
    except Exception as exc:  # a bad call must not stop the batch
        return {
            "ok": False,
            "error": _error_text(exc),
            "elapsed_s": decode_s + time.perf_counter() - t0,
            **info,
            "model_loads": MODEL_LOADS,
        }


def process_call(job: Job, opts: Options) -> dict[str, Any]:
    """Analyse one call and write its JSON and report: :func:`decode_job` then
    :func:`finish_call` with this worker's speech model (loaded once per process),
    the two stages the Ray engine runs apart. Never raises for a bad call: returns
    ``{"ok": False, "error": ...}`` instead."""
    return finish_call(job, opts, decode_job(job, opts))


def _row(job: Job, doc: dict[str, Any], card: dict[str, Any] | None = None) -> dict[str, Any]:
    card = sc.scorecard(doc) if card is None else card
    # agent_talk_s / overtalk_s are not summary.csv columns: calls.parquet keeps them for rates
    return sc.csv_row(
        doc,
        card,
        file=job.source,
        json=os.path.basename(job.json_path),
        report=os.path.basename(job.html_path) if job.html_path else "",
        agent_talk_s=card.get("agent_talk_s"),
        overtalk_s=card.get("overtalk_s"),
    )


# --------------------------------------------------------------------------- progress


class Progress:
    """A plain-text progress bar on stderr (one line per call when not a terminal)."""

    def __init__(self, total: int, stream: TextIO | None = None, *, width: int = 28) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.count = 0
        self.failed = 0
        self.t0 = time.monotonic()

    def update(self, name: str, status: str) -> None:
        self.count += 1
        self.failed += status == "failed"
        el = time.monotonic() - self.t0
        eta = el / self.count * (self.total - self.count) if self.count else 0.0
        filled = int(self.width * self.count / max(1, self.total))
        bar = "#" * filled + "." * (self.width - filled)
        fail = f", {self.failed} failed" if self.failed else ""
        line = f"[{bar}] {self.count}/{self.total}{fail}  {_dur(el)} elapsed, ~{_dur(eta)} left  {status}: {name}"
        if self.tty:
            self.stream.write("\r\x1b[K" + line[:160])
            if self.count == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _dur(s: float) -> str:
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


# --------------------------------------------------------------------------- driver


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _pool(n: int) -> ProcessPoolExecutor:
    # spawn: workers never inherit the parent's threads or open files
    return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker)


def run_jobs(
    jobs: list[Job],
    opts: Options,
    *,
    workers: int,
    on_result: Callable[[Job, dict[str, Any]], None],
    worker_fn: Callable[[Job, Options], dict[str, Any]] = process_call,
) -> None:
    """Run ``jobs`` on ``workers`` processes, calling ``on_result`` in the parent as
    each finishes. A dead worker's calls are retried once, each alone."""
    if not jobs:
        return
    if workers <= 1 and worker_fn is process_call and os.environ.get("CALMCALL_BATCH_INPROCESS") == "1":
        for j in jobs:  # debugging aid: no subprocesses at all
            on_result(j, worker_fn(j, opts))
        return
    retry: list[Job] = []
    pool = _pool(min(workers, len(jobs)))
    try:
        futs: dict[Future[dict[str, Any]], Job] = {pool.submit(worker_fn, j, opts): j for j in jobs}
        pending = set(futs)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    retry.append(futs[fut])
                    continue
                on_result(futs[fut], result)
    except BaseException:  # Ctrl-C: drop queued calls, do not wait for running ones
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    for j in retry:  # isolate: one fresh process per call, so one crash cannot take others down
        try:
            with _pool(1) as pool:
                res = pool.submit(worker_fn, j, opts).result()
        except BrokenProcessPool:
            res = {"ok": False, "error": "the worker process died (crash or out of memory)", "elapsed_s": 0.0}
        on_result(j, res)


def batch_analyze(
    target: str,
    out_dir: str | os.PathLike[str],
    *,
    opts: Options | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: TextIO | None = None,
    worker_fn: Callable[[Job, Options], dict[str, Any]] = process_call,
    engine: str = "local",
    ray_address: str | None = None,
) -> BatchResult:
    """Analyse every call ``target`` names into ``out_dir``; see the module doc.
    ``engine``: ``"local"`` (this machine's process pool, ``jobs`` workers) or
    ``"ray"`` (Ray Data, ``jobs`` analysis actors; :mod:`calmcall.fleet.engine`),
    joining the cluster at ``ray_address`` when given."""
    if engine not in ("local", "ray"):
        raise BatchError(f"--engine must be local or ray, got {engine!r}")
    if ray_address and engine != "ray":
        raise BatchError("--ray-address needs --engine ray")
    opts = opts or Options()
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None
    from calmcall.fleet import manifest as mf
    from calmcall.fleet.table import RESERVED_COLUMNS

    if mf.is_manifest(target):
        files, meta = mf.read_manifest(target, reserved=RESERVED_COLUMNS)
        root = Path(os.path.commonpath([str(f.parent) for f in files]))
    else:
        files, root = collect_inputs(target, exclude=out)
        meta = mf.folder_meta(files, root)
    all_jobs = plan_jobs(files, root, out, report=opts.report)
    res = BatchResult(total=len(all_jobs))
    rows: dict[str, dict[str, Any]] = {}
    todo: list[Job] = []
    for j in all_jobs:
        doc = None if force else load_done(j)
        if doc is not None:
            rows[j.source] = _row(j, doc)
            res.skipped += 1
        else:
            todo.append(j)
    stream = progress if progress is not None else sys.stderr
    if res.skipped:
        stream.write(f"{res.skipped} of {res.total} calls already done in {out} (resume; --force redoes them)\n")
    bar = Progress(len(todo), stream)
    t0 = time.monotonic()

    def on_result(job: Job, r: dict[str, Any]) -> None:
        if r.get("ok"):
            rows[job.source] = r["row"]
            res.done += 1
            res.audio_s += float(r.get("duration_s") or 0.0)
            bar.update(job.name, "done")
        else:
            err = str(r.get("error") or "unknown error")
            rows[job.source] = {**{k: "" for k in sc.CSV_FIELDS}, "file": job.source, "status": "error", "error": err}
            res.failed.append((job.source, err))
            bar.update(job.name, "failed")

    try:
        if engine == "ray":
            from calmcall.fleet.engine import run_ray_jobs

            run_ray_jobs(todo, opts, workers=jobs, on_result=on_result, address=ray_address)
        else:
            run_jobs(todo, opts, workers=jobs or default_jobs(), on_result=on_result, worker_fn=worker_fn)
    finally:
        res.wall_s = time.monotonic() - t0
        ordered = [rows[j.source] for j in all_jobs if j.source in rows]
        res.summary_csv = write_summary(out / SUMMARY_CSV, ordered)
        from calmcall.fleet.table import CALLS_PARQUET, write_calls_parquet

        res.calls_parquet = write_calls_parquet(out / CALLS_PARQUET, ordered, meta)
    return res


def write_summary(path: Path, rows: list[dict[str, Any]]) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(sc.CSV_FIELDS), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    atomic_write_text(path, buf.getvalue())
    return path


def format_result(res: BatchResult, out_dir: Path) -> str:
    lines = [
        f"{res.done} analysed, {res.skipped} already done, {len(res.failed)} failed, of {res.total} calls in {_dur(res.wall_s)}"
    ]
    if res.done and res.wall_s > 0:
        lines.append(
            f"throughput: {res.done / res.wall_s * 60:.1f} calls/min, "
            f"{res.audio_s / res.wall_s:.1f}x real time ({res.audio_s:.0f} s of audio)"
        )
    lines.append(f"summary: {res.summary_csv}")
    if res.calls_parquet is not None:
        lines.append(f"table (one row per call): {res.calls_parquet}")
    lines.append(f"per-call JSON and reports: {out_dir}")
    if res.failed:
        lines.append("failed calls (not written; retried on the next run):")
        lines += [f"  {src}: {err}" for src, err in res.failed]
    return "\n".join(lines)
