"""Fleet-scale QA: many saved calls on a Ray cluster, one Parquet table, a dashboard.

* :mod:`calmcall.fleet.manifest`: the call list (a CSV manifest, or folder + file time);
* :mod:`calmcall.fleet.table`: ``OUT/calls.parquet``, one row per call;
* :mod:`calmcall.fleet.engine`: ``calmcall analyze ... --engine ray`` (Ray Data);
* :mod:`calmcall.fleet.cluster`: a real Ray cluster on 127.0.0.1 only (tests, benchmark);
* :mod:`calmcall.fleet.dashboard`: ``calmcall dashboard OUT -o fleet.html``.

Ray and pyarrow are the optional extra ``calmcall[fleet]``; nothing here imports them
until it is used. The errors are in :mod:`calmcall.errors` (``ManifestError``,
``FleetError``, ``ClusterError``).
"""

from __future__ import annotations

from calmcall.errors import ClusterError, FleetError, ManifestError

__all__ = ["ClusterError", "FleetError", "ManifestError"]
