"""A real local Ray cluster on loopback only: a head and a second worker node.

Used by the tests and the benchmark, and by ``--engine ray`` without
``--ray-address`` (one head node). Every node is started with
``node_ip_address=127.0.0.1`` (Ray otherwise picks the machine's own interface
address), the dashboard off and usage stats off; :func:`listening_addresses` checks
with ``ss -ltnp`` which addresses the cluster's processes listen on.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from typing import Any

from calmcall.fleet import ClusterError

LOOPBACK = "127.0.0.1"


def ray_env() -> None:
    """Environment every Ray node started from this process inherits: no usage
    stats, no dashboard metrics exporter off loopback, this checkout importable."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ["RAY_NODE_IP_ADDRESS"] = LOOPBACK  # picked up by ray.init / node start
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pp = os.environ.get("PYTHONPATH", "")
    if src not in pp.split(os.pathsep):
        os.environ["PYTHONPATH"] = src + (os.pathsep + pp if pp else "")


def check_loopback(host: str) -> str:
    """``host`` if it is a loopback IP address, else :class:`ClusterError`."""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ClusterError(f"{host!r}: the local Ray cluster binds loopback only; use 127.0.0.1 "
                           "(to use a real cluster, start it yourself and pass --ray-address)")
    return host


class LoopbackCluster:
    """A head node and ``workers`` extra worker nodes, each a set of real Ray
    processes (GCS, raylet, object store) on 127.0.0.1, started by :meth:`start`
    and stopped by :meth:`stop` (or as a context manager). ``cpus_per_node``: the
    CPUs each node advertises."""

    def __init__(self, *, workers: int = 1, cpus_per_node: int = 1, host: str = LOOPBACK,
                 object_store_bytes: int = 80 * 1024 * 1024) -> None:
        self.host = check_loopback(host)
        self.workers = workers
        self.cpus_per_node = cpus_per_node
        self.object_store_bytes = object_store_bytes
        self._cluster: Any = None

    @property
    def address(self) -> str:
        if self._cluster is None:
            raise ClusterError("the loopback cluster is not started; call start() first")
        return str(self._cluster.address)

    def start(self) -> "LoopbackCluster":
        ray_env()
        try:
            from ray.cluster_utils import Cluster
        except ImportError as exc:
            raise ClusterError(f"Ray is not installed ({exc}); pip install 'calmcall[fleet]'") from None
        args = {"num_cpus": self.cpus_per_node, "node_ip_address": self.host, "include_dashboard": False,
                "object_store_memory": self.object_store_bytes, "dashboard_host": self.host}
        try:
            c = Cluster(initialize_head=True, head_node_args=dict(args))
            for _ in range(self.workers):
                c.add_node(**args)
            c.wait_for_nodes()
        except Exception as exc:
            raise ClusterError(f"the local Ray cluster did not start: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        self._cluster = c
        return self

    def node_pids(self) -> list[int]:
        """PIDs of every Ray process of this cluster (all nodes)."""
        pids: list[int] = []
        if self._cluster is None:
            return pids
        for node in self._cluster.list_all_nodes():
            for infos in node.all_processes.values():
                pids += [i.process.pid for i in infos if i.process is not None]
        return pids

    def stop(self) -> None:
        if self._cluster is not None:
            try:
                import ray

                if ray.is_initialized():
                    ray.shutdown()
            finally:
                self._cluster.shutdown()
                self._cluster = None

    def __enter__(self) -> "LoopbackCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def listening_addresses(pids: set[int] | None = None) -> list[tuple[str, int, str]]:
    """``(address, port, process)`` of every TCP listener (``ss -ltnp``), only those
    owned by ``pids`` when given. Raises :class:`ClusterError` without ``ss``."""
    if shutil.which("ss") is None:
        raise ClusterError("ss (iproute2) is not installed; apt-get install iproute2")
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10, check=False).stdout
    found: list[tuple[str, int, str]] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        local = parts[3]
        host, _, port = local.rpartition(":")
        procs = re.findall(r'\("([^"]*)",pid=(\d+)', line)
        if pids is not None and not any(int(p) in pids for _n, p in procs):
            continue
        found.append((host.strip("[]"), int(port), ",".join(n for n, _p in procs)))
    return found
