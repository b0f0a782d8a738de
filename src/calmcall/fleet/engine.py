"""``calmcall analyze CALLS --out OUT --engine ray``: the batch on Ray Data.

The canonical Ray batch-inference shape: a dataset of the call list
(``ray.data.from_items``: index, source, output names), a decode stage
(``map_batches`` of :func:`calmcall.qa.batch.decode_job`: read + resample, the
decoded :class:`~calmcall.audio_io.Call` pickled into a binary column) and an
analysis stage in an actor pool (``map_batches`` with the callable class
:class:`Analyzer` and ``concurrency=N``) whose actors load the speech model once
each (:func:`calmcall.qa.batch.worker_model`) and run
:func:`calmcall.qa.batch.finish_call`: the same per-call function, outputs and
result rows as the local pool. The driver streams results (``iter_rows``) into the
same progress bar, summary.csv and calls.parquet.

Without an address a local Ray (one node, loopback only) is started and stopped;
with one (``ray://`` or ``HOST:PORT``) the run joins that cluster, whose nodes must
see the same input and output paths (shared filesystem).
"""

from __future__ import annotations

import json
import os
import pickle
from typing import Any, Callable

from calmcall.fleet import FleetError
from calmcall.qa.batch import Job, Options, decode_job, finish_call


def _jobs_items(jobs: list[Job]) -> list[dict[str, Any]]:
    return [{"idx": i, "source": j.source, "name": j.name, "json_path": j.json_path,
             "html_path": j.html_path or ""} for i, j in enumerate(jobs)]


def _job(row: dict[str, Any]) -> Job:
    return Job(source=str(row["source"]), name=str(row["name"]), json_path=str(row["json_path"]),
               html_path=str(row["html_path"]) or None)


def _opts(opts_json: str) -> Options:
    d = json.loads(opts_json)
    d["playbook_files"] = tuple(d.get("playbook_files") or ())
    return Options(**d)


def _rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    keys = list(batch)
    n = len(batch[keys[0]]) if keys else 0
    return [{k: batch[k][i] for k in keys} for i in range(n)]


def _pin_threads() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
    except Exception:
        pass


def decode_batch(batch: dict[str, Any], opts_json: str) -> dict[str, Any]:
    """Ray Data stage 1: ``batch`` (columns of :func:`_jobs_items`) -> the same
    columns plus ``decoded`` (bytes: the pickled :func:`decode_job` result)."""
    _pin_threads()
    opts = _opts(opts_json)
    rows = _rows(batch)
    out = {k: [r[k] for r in rows] for k in batch}
    out["decoded"] = [pickle.dumps(decode_job(_job(r), opts), protocol=pickle.HIGHEST_PROTOCOL) for r in rows]
    return out


class Analyzer:
    """Ray Data stage 2 (one instance per actor): loads the speech model once in
    ``__init__`` when transcribing, then analyses each decoded call with
    :func:`calmcall.qa.batch.finish_call`. Output columns: ``idx`` (int),
    ``result`` (JSON of the result dict), ``model_loads`` (this actor's count),
    ``actor_pid``."""

    def __init__(self, opts_json: str) -> None:
        _pin_threads()
        from calmcall.qa import batch as qb

        self.opts = _opts(opts_json)
        self.model = qb.worker_model(self.opts.model_dir) if self.opts.transcribe else None
        self._qb = qb

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        idx, res = [], []
        for r in _rows(batch):
            decoded = pickle.loads(r["decoded"])
            result = finish_call(_job(r), self.opts, decoded, model=self.model)
            idx.append(int(r["idx"]))
            res.append(json.dumps(result, default=str))
        return {"idx": idx, "result": res, "model_loads": [self._qb.MODEL_LOADS] * len(idx),
                "actor_pid": [os.getpid()] * len(idx)}


#: after a run: {actor pid: model loads}, for the benchmark and tests
LAST_RUN_MODEL_LOADS: dict[int, int] = {}


def run_ray_jobs(
    jobs: list[Job],
    opts: Options,
    *,
    workers: int,
    on_result: Callable[[Job, dict[str, Any]], None],
    address: str | None = None,
    batch_size: int = 1,
) -> None:
    """Run ``jobs`` on Ray (``workers`` analysis actors), calling ``on_result`` in
    the driver as each call finishes (same contract as
    :func:`calmcall.qa.batch.run_jobs`). ``address``: join that cluster; None
    starts (and stops) a local loopback Ray, or reuses one already initialised."""
    if not jobs:
        return
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise FleetError(f"--engine ray needs Ray ({exc}); pip install 'calmcall[fleet]'") from None
    from calmcall.fleet.cluster import LOOPBACK, ray_env

    ray_env()
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
            else:
                ray.init(num_cpus=workers + 1, _node_ip_address=LOOPBACK, include_dashboard=False,
                         log_to_driver=False, configure_logging=False, object_store_memory=100 * 1024 * 1024)
        except Exception as exc:
            where = address or "a local Ray on 127.0.0.1"
            raise FleetError(f"cannot start or join {where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                             "check --ray-address (HOST:PORT of the head, or ray://HOST:10001)") from exc
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.verbose_stats_logs = False
        import dataclasses

        opts_json = json.dumps(dataclasses.asdict(opts))
        ds = ray.data.from_items(_jobs_items(jobs), override_num_blocks=max(1, len(jobs) // max(1, batch_size)))
        ds = ds.map_batches(decode_batch, fn_kwargs={"opts_json": opts_json}, batch_size=batch_size,
                            batch_format="numpy", zero_copy_batch=False)
        ds = ds.map_batches(Analyzer, fn_constructor_kwargs={"opts_json": opts_json}, batch_size=batch_size,
                            concurrency=max(1, min(workers, len(jobs))), num_cpus=1, batch_format="numpy")
        LAST_RUN_MODEL_LOADS.clear()
        for row in ds.iter_rows():
            i = int(row["idx"])
            LAST_RUN_MODEL_LOADS[int(row["actor_pid"])] = int(row["model_loads"])
            on_result(jobs[i], json.loads(row["result"]))
    finally:
        if started:
            ray.shutdown()
