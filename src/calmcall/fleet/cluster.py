"""Ray on loopback only: the pin every local Ray needs, and a real two-node test cluster.

Ray picks the machine's own interface address for a node, and rewrites a
``127.0.0.1`` address given to ``ray.init`` into that interface address before it
connects (``ray._private.services.resolve_ip_for_localhost``); a driver told to join
``127.0.0.1:P`` then waits on ``<interface IP>:P`` in GCS timeouts. :func:`pin_loopback`
makes this process resolve "this node" to 127.0.0.1 (Ray's own switch for that,
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read by Ray 2.60 from ``ray_constants``), and
:func:`check_bootstrap` refuses to connect when an address would still resolve off
loopback. Every node here is started with ``node_ip_address=127.0.0.1``, the
dashboard off, usage stats off, in its own temp dir; :func:`listening_sockets` reads
``ss -ltnp`` to check where the processes listen.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from calmcall.errors import ClusterError

LOOPBACK = "127.0.0.1"
_PIN_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs (``127.0.0.0/8``, ``::1``, ``::ffff:127.x``)."""
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) as ``(host, port)``; :class:`ClusterError` if malformed."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(
            f"--ray-address {address!r}: give HOST:PORT of the head's GCS (e.g. 10.0.0.5:6379), "
            "or ray://HOST:10001 for Ray Client"
        )
    return host.strip("[]"), int(port)


def ray_base_env() -> None:
    """Environment Ray processes started from here inherit: no usage stats sent, this
    checkout importable by the workers (they run calmcall code)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    src = str(Path(__file__).resolve().parents[2])
    pp = os.environ.get("PYTHONPATH", "")
    if Path(src).name == "src" and (Path(src) / "calmcall").is_dir() and src not in pp.split(os.pathsep):  # a checkout
        os.environ["PYTHONPATH"] = src + (os.pathsep + pp if pp else "")


def pin_loopback() -> None:
    """Make Ray in this process (and the Ray processes it starts) take 127.0.0.1 as this
    node's address. Only for a local Ray or one joined at a loopback address: a driver
    joining a real cluster must keep its reachable address."""
    os.environ[_PIN_ENV] = "0"
    import ray._private.ray_constants as rc

    rc.ENABLE_RAY_CLUSTER = False  # already imported: the constant was read at import


def check_bootstrap(address: str) -> None:
    """Refuse (:class:`ClusterError`) a loopback ``address`` that Ray would rewrite off
    loopback, and one where nothing listens (instead of minutes of GCS timeouts)."""
    from ray._private import services

    host, port = split_address(address)
    resolved = services.canonicalize_bootstrap_address(address)
    if is_loopback(host) and (resolved is None or not is_loopback(split_address(resolved)[0])):
        raise ClusterError(
            f"Ray would connect to {resolved} for {address}: the loopback pin is not in effect "
            "(call calmcall.fleet.cluster.pin_loopback() before ray.init)"
        )
    try:
        with socket.create_connection((host, port), timeout=5):
            pass
    except OSError as exc:
        raise ClusterError(
            f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); "
            "start the head with `ray start --head --port=PORT` or check the address"
        ) from None


class LoopbackCluster:
    """A head node and ``workers`` further worker nodes, each its own set of real Ray
    processes (GCS on the head, a raylet and object store per node) on 127.0.0.1, in a
    temp dir of their own; :meth:`start` / :meth:`stop`, or a ``with`` block.
    ``cpus_per_node``: the logical CPUs each node offers; ``object_store_bytes`` per node.
    :attr:`address` is ``127.0.0.1:<GCS port>``, built here (never Ray's idea of it)."""

    def __init__(
        self,
        *,
        workers: int = 1,
        cpus_per_node: int = 2,
        object_store_bytes: int = 100 * 1024 * 1024,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.workers = workers
        self.cpus_per_node = cpus_per_node
        self.object_store_bytes = object_store_bytes
        self.start_timeout_s = start_timeout_s
        self._cluster: Any = None
        self._tmp: str | None = None
        self._saved_env: dict[str, str | None] = {}
        self._port: int | None = None

    @property
    def address(self) -> str:
        if self._port is None:
            raise ClusterError("the loopback cluster is not started; call start() first")
        return f"{LOOPBACK}:{self._port}"

    @property
    def temp_dir(self) -> str | None:
        return self._tmp

    def start(self) -> LoopbackCluster:
        try:
            import ray  # noqa: F401
            from ray.cluster_utils import Cluster
        except ImportError as exc:
            raise ClusterError(f"Ray is not installed ({exc}); pip install 'calmcall[fleet]'") from None
        # a short path: Ray's unix sockets live under it (108-byte limit)
        self._tmp = tempfile.mkdtemp(prefix="ccray-", dir="/tmp")
        os.makedirs(os.path.join(self._tmp, "ray"))
        for k in ("RAY_TMPDIR", _PIN_ENV, "RAY_USAGE_STATS_ENABLED", "PYTHONPATH"):
            self._saved_env[k] = os.environ.get(k)
        os.environ["RAY_TMPDIR"] = self._tmp  # Ray writes its "current cluster" file there, not in /tmp/ray
        ray_base_env()
        pin_loopback()
        args: dict[str, Any] = {
            "num_cpus": self.cpus_per_node,
            "node_ip_address": LOOPBACK,
            "object_store_memory": self.object_store_bytes,
        }
        try:
            c = Cluster(
                initialize_head=True,
                head_node_args={**args, "include_dashboard": False, "temp_dir": os.path.join(self._tmp, "ray")},
            )
            self._cluster = c
            for _ in range(self.workers):
                c.add_node(**args)
            c.wait_for_nodes(timeout=self.start_timeout_s)
            _host, port = split_address(str(c.gcs_address))
            ips = {n.node_ip_address for n in c.list_all_nodes()}
        except Exception as exc:
            self.stop()
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ClusterError(f"the loopback Ray cluster did not start: {first}") from exc
        if ips != {LOOPBACK}:
            self.stop()
            raise ClusterError(f"a loopback node took the address(es) {sorted(ips)}, not {LOOPBACK}")
        self._port = port
        return self

    def node_pids(self) -> set[int]:
        """PIDs of this cluster's Ray processes (every node) and of their descendants
        (the worker processes raylets start)."""
        pids: set[int] = set()
        if self._cluster is None:
            return pids
        for node in self._cluster.list_all_nodes():
            for infos in node.all_processes.values():
                pids |= {i.process.pid for i in infos if i.process is not None}
        return pids | descendants(pids)

    def stop(self) -> None:
        """Disconnect this process, stop every node's processes, remove the temp dir,
        restore the environment."""
        try:
            import ray

            if ray.is_initialized():
                ray.shutdown()
        except ImportError:
            pass
        try:
            if self._cluster is not None:
                self._cluster.shutdown()
        finally:
            self._cluster = None
            self._port = None
            for k, v in self._saved_env.items():
                if k == _PIN_ENV:
                    continue  # the pin stays: Ray in this process has read it
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            self._saved_env.clear()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    def __enter__(self) -> LoopbackCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def descendants(pids: set[int]) -> set[int]:
    """Every descendant of ``pids`` (from /proc; empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d.name))
    out: set[int] = set()
    todo = list(pids)
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def listening_sockets(pids: set[int] | None = None) -> list[tuple[str, int, str, int]]:
    """``(address, port, process name, pid)`` of every listening TCP socket (``ss -ltnp``),
    only those of ``pids`` when given. :class:`ClusterError` without ``ss`` (iproute2)."""
    if shutil.which("ss") is None:
        raise ClusterError("ss is not installed; apt-get install iproute2")
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10, check=False).stdout
    found: list[tuple[str, int, str, int]] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        host, _, port = parts[3].rpartition(":")
        for name, pid in re.findall(r'\("([^"]*)",pid=(\d+)', line):
            if pids is None or int(pid) in pids:
                found.append((host.strip("[]"), int(port), name, int(pid)))
    return found
