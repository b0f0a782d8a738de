"""Fleet-scale QA: many saved calls on a Ray cluster, one Parquet table, a dashboard.

* :mod:`calmcall.fleet.manifest`: the call list (CSV manifest, or folder + file time);
* :mod:`calmcall.fleet.engine`: ``calmcall analyze ... --engine ray`` (Ray Data);
* :mod:`calmcall.fleet.table`: ``OUT/calls.parquet``, one row per call;
* :mod:`calmcall.fleet.dashboard`: ``calmcall dashboard OUT -o fleet.html``;
* :mod:`calmcall.fleet.cluster`: a loopback-only local Ray cluster (tests, benchmarks).

Ray and pyarrow are the optional extra ``calmcall[fleet]``; nothing here imports them
until it is used.
"""

from __future__ import annotations

from calmcall.errors import InputError, RuntimeFault

__all__ = ["FleetError", "ManifestError", "ClusterError"]


class FleetError(RuntimeFault):
    """The Ray engine cannot run (Ray or pyarrow missing, cluster unreachable)."""


class ManifestError(InputError):
    """A call manifest (CSV) is malformed: missing ``path`` column, unreadable row."""


class ClusterError(RuntimeFault):
    """A local loopback Ray cluster cannot start, or was given a non-loopback address."""
