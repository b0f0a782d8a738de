"""``calmcall analyze CALLS --out OUT --engine ray``: the batch on Ray Data.

The canonical Ray batch-inference shape, three stages:

1. ``ray.data.from_items``: the call list (index, source path, output names), one
   block per call;
2. decode, ``map_batches(decode_batch)`` as tasks (``num_cpus=0.25``: reading and
   resampling is light): :func:`calmcall.qa.batch.decode_job` per call, the decoded
   :class:`~calmcall.audio_io.Call` (16 kHz float32, 64 kB per second and channel)
   pickled into a binary column;
3. analyse, ``map_batches(Analyzer, compute=ActorPoolStrategy(size=N))`` (what
   ``concurrency=N`` says in Ray before 2.51): a pool of N actors, one CPU
   each, that load the speech model once per actor (:func:`calmcall.qa.batch.worker_model`)
   and run :func:`calmcall.qa.batch.finish_call`, the function the local pool runs, so
   the per-call JSON, report and result row are the same.

The driver streams the result rows (``iter_rows``) into the same progress bar,
``summary.csv`` and ``calls.parquet`` as the local pool. Every node must see the input
and output paths under the same names (a shared filesystem); object-store URIs
(``s3://``) are not read or written by this engine, ``file://`` ones are local paths
(:mod:`calmcall.fleet.uri`, docs/fleet.md).

Without an address a local Ray is started on 127.0.0.1 only (``_node_ip_address``,
no dashboard, its own temp dir holding its session files and its own auth token, not
``~/.ray/auth_token``) and stopped at the end, the temp dir removed; with one the run joins that
cluster (a loopback address gets the loopback pin of :mod:`calmcall.fleet.cluster`).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from calmcall.errors import ClusterError, FleetError
from calmcall.qa.batch import Job, Options, decode_job, finish_call

DECODE_CPUS = 0.25
#: after a run: {actor pid: speech models that actor loaded}, for the benchmark and tests
LAST_RUN_MODEL_LOADS: dict[int, int] = {}
#: after a run: {actor pid: Ray node id it ran on}
LAST_RUN_NODES: dict[int, str] = {}


def _items(jobs: list[Job]) -> list[dict[str, Any]]:
    return [
        {"idx": i, "source": j.source, "name": j.name, "json_path": j.json_path, "html_path": j.html_path or ""}
        for i, j in enumerate(jobs)
    ]


def _job(row: dict[str, Any]) -> Job:
    return Job(
        source=str(row["source"]), name=str(row["name"]), json_path=str(row["json_path"]), html_path=str(row["html_path"]) or None
    )


def _rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    keys = list(batch)
    n = len(batch[keys[0]]) if keys else 0
    return [{k: batch[k][i] for k in keys} for i in range(n)]


def _pin_threads() -> None:
    from calmcall.qa.batch import _init_worker

    _init_worker()  # BLAS/OpenMP one thread, matplotlib Agg: as a local pool worker


def decode_batch(batch: dict[str, Any], opts: Options) -> dict[str, Any]:
    """Stage 2: ``batch`` (columns of the call list) -> the same columns plus
    ``decoded`` (bytes: the pickled :func:`~calmcall.qa.batch.decode_job` result; a bad
    file's is ``{"error": ...}``, so it becomes one error row downstream)."""
    _pin_threads()
    rows = _rows(batch)
    out = {k: [r[k] for r in rows] for k in batch}
    out["decoded"] = [pickle.dumps(decode_job(_job(r), opts), protocol=pickle.HIGHEST_PROTOCOL) for r in rows]
    return out


class Analyzer:
    """Stage 3, one instance per actor: loads the speech model once in ``__init__``
    (when transcribing), then analyses each decoded call with
    :func:`~calmcall.qa.batch.finish_call`. Output columns: ``idx`` (int), ``result``
    (pickled result dict), ``model_loads`` (this actor's count so far), ``actor_pid``,
    ``node_id``."""

    def __init__(self, opts: Options) -> None:
        _pin_threads()
        from calmcall.qa import batch as qb

        self.opts = opts
        self._qb = qb
        language = qb._config(opts.config_path, opts.language, opts.cue_language).language.call
        self.model = qb.worker_model(opts.model_dir, language) if opts.transcribe else None
        try:
            import ray

            self.node_id = str(ray.get_runtime_context().get_node_id())
        except Exception:  # outside Ray (a unit use): no node id
            self.node_id = ""

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        idx, res = [], []
        for r in _rows(batch):
            result = finish_call(_job(r), self.opts, pickle.loads(r["decoded"]), model=self.model)
            idx.append(int(r["idx"]))
            res.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        n = len(idx)
        return {
            "idx": idx,
            "result": res,
            "model_loads": [self._qb.MODEL_LOADS] * n,
            "actor_pid": [os.getpid()] * n,
            "node_id": [self.node_id] * n,
        }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class _RaySession:
    """Connect to (or start) Ray for one run; ``close()`` undoes what was started."""

    def __init__(self, address: str | None, workers: int) -> None:
        import ray

        from calmcall.fleet.cluster import LOOPBACK, check_bootstrap, is_loopback, pin_loopback, ray_base_env, split_address

        self.started = False
        self.tmp: str | None = None
        self.saved_tmpdir = os.environ.get("RAY_TMPDIR")
        self.saved_auth = {k: os.environ.get(k) for k in _AUTH_ENV}
        ray_base_env()
        if ray.is_initialized():  # an embedding program (or a test) connected already
            return
        kw: dict[str, Any] = {"log_to_driver": False, "configure_logging": False, "include_dashboard": False}
        if address:
            if not address.startswith("ray://"):
                host, _port = split_address(address)
                if is_loopback(host):
                    pin_loopback()
                check_bootstrap(address)
            where = address
            kw.pop("include_dashboard")  # a setting of the cluster, not of a driver joining it

            def init() -> Any:
                return ray.init(address=address, **kw)
        else:
            pin_loopback()
            self.tmp = tempfile.mkdtemp(prefix="ccray-", dir="/tmp")
            os.makedirs(os.path.join(self.tmp, "ray"))
            os.environ["RAY_TMPDIR"] = self.tmp
            _private_token(self.tmp)
            where = f"a local Ray on {LOOPBACK}"

            def init() -> Any:
                return ray.init(
                    num_cpus=workers + 1,
                    _node_ip_address=LOOPBACK,
                    _temp_dir=os.path.join(self.tmp or "", "ray"),
                    object_store_memory=512 * 1024 * 1024,
                    **kw,
                )

        try:
            init()
        except ClusterError:
            raise
        except Exception as exc:
            self.close()
            raise ClusterError(
                f"cannot start or join {where}: {_first_line(exc)}; check --ray-address "
                "(HOST:PORT of the head's GCS, or ray://HOST:10001)"
            ) from exc
        self.started = True
        if not address:
            ip = ray.util.get_node_ip_address()
            if ip != LOOPBACK:
                self.close()
                raise ClusterError(f"the local Ray took the address {ip}, not {LOOPBACK}")

    def close(self) -> None:
        import ray

        if self.started:
            ray.shutdown()
            self.started = False
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
            for key, value in {"RAY_TMPDIR": self.saved_tmpdir, **self.saved_auth}.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _reset_token_cache()


#: Ray's token-authentication settings (Ray >= 2.59 turns token authentication on for a
#: local ``ray.init()`` and, unless told otherwise, writes the token to ~/.ray/auth_token).
_AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def _private_token(tmp: str) -> None:
    """Token authentication for the local Ray of one run, with a token of its own in
    ``tmp`` (mode 0600, removed with it) instead of ``~/.ray/auth_token`` in the
    user's home (which Ray would create and leave behind, and which a user of a real
    cluster may already hold). A token the user set in the environment is kept."""
    if os.environ.get("RAY_AUTH_MODE", "token").lower() != "token":
        return  # the user turned authentication off (RAY_AUTH_MODE=disabled): their call
    os.environ["RAY_AUTH_MODE"] = "token"
    if os.environ.get("RAY_AUTH_TOKEN"):
        return
    import secrets

    path = os.path.join(tmp, "auth_token")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    os.environ["RAY_AUTH_TOKEN_PATH"] = path
    _reset_token_cache()


def _reset_token_cache() -> None:
    """Ray's process-wide config and token loader cache the mode and the token they read
    first: read them again from the environment."""
    try:
        from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):  # pragma: no cover - a Ray without token auth
        pass


def default_workers() -> int:
    """Analysis actors when ``--jobs`` is not given on a cluster: its CPUs minus one
    (room for the decode tasks)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 2)) - 1)


def run_ray_jobs(
    jobs: list[Job],
    opts: Options,
    *,
    workers: int | None,
    on_result: Callable[[Job, dict[str, Any]], None],
    address: str | None = None,
) -> None:
    """Run ``jobs`` on Ray with ``workers`` analysis actors (None: this machine's cores
    for a local Ray, the cluster's CPUs minus one when joining), calling ``on_result``
    in the driver as each call finishes (the contract of
    :func:`calmcall.qa.batch.run_jobs`). A call Ray could not finish gets an error result."""
    if not jobs:
        return
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise FleetError(f"--engine ray needs Ray ({exc}); pip install 'calmcall[fleet]'") from None
    from calmcall.qa.batch import default_jobs

    session = _RaySession(address, workers or default_jobs())
    seen: set[int] = set()
    try:
        n = max(1, min(workers or default_workers(), len(jobs)))
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        ds: Any = ray.data.from_items(_items(jobs), override_num_blocks=len(jobs))
        decode: Any = decode_batch
        ds = ds.map_batches(
            decode, fn_kwargs={"opts": opts}, batch_size=1, batch_format="numpy", zero_copy_batch=False, num_cpus=DECODE_CPUS
        )
        # a fixed pool of n actors (ActorPoolStrategy(size=n): what concurrency=n was before Ray 2.51);
        # one call in flight per actor: a call is a long task, and the first actor ready would
        # otherwise queue several while the others are still loading their model
        pool = ray.data.ActorPoolStrategy(size=n, max_tasks_in_flight_per_actor=1)
        ds = ds.map_batches(
            Analyzer, fn_constructor_kwargs={"opts": opts}, batch_size=1, batch_format="numpy", compute=pool, num_cpus=1
        )
        LAST_RUN_MODEL_LOADS.clear()
        LAST_RUN_NODES.clear()
        try:
            for row in ds.iter_rows():
                i = int(row["idx"])
                pid = int(row["actor_pid"])
                LAST_RUN_MODEL_LOADS[pid] = int(row["model_loads"])
                LAST_RUN_NODES[pid] = str(row["node_id"])
                seen.add(i)
                on_result(jobs[i], pickle.loads(row["result"]))
        except Exception as exc:  # the Ray run itself failed: the calls not done get an error row
            msg = f"the Ray run stopped: {_first_line(exc)}"
            for i, j in enumerate(jobs):
                if i not in seen:
                    on_result(j, {"ok": False, "error": msg, "elapsed_s": 0.0})
    finally:
        session.close()
