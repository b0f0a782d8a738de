"""The Ray engine on a real two-node Ray cluster bound to 127.0.0.1 only.

The cluster (a head and a second worker node, each its own raylet and object store,
:class:`calmcall.fleet.cluster.LoopbackCluster`) is started once for this module and
stopped at its end. Every listening socket of its processes must be on loopback.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest
import soundfile as sf

ray = pytest.importorskip("ray", reason="the Ray engine needs Ray: pip install 'calmcall[fleet]'")
pytest.importorskip("pyarrow", reason="calls.parquet needs pyarrow: pip install 'calmcall[fleet]'")

from calmcall.cli import main  # noqa: E402
from calmcall.errors import ClusterError  # noqa: E402
from calmcall.fleet import cluster as fc  # noqa: E402
from calmcall.fleet import engine  # noqa: E402
from calmcall.fleet.table import read_calls  # noqa: E402
from calmcall.qa import batch  # noqa: E402


def _ray_tmp_entries() -> set[str]:
    """Ray's default places for session files and sockets: /tmp/ray (and RAY_TMPDIR's)."""
    return {p.name for p in Path("/tmp").glob("ray*")}


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> fc.LoopbackCluster:
    home = tmp_path_factory.mktemp("home")
    before = _ray_tmp_entries()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))  # where Ray would put ~/.ray (auth token, ...)
        t0 = time.monotonic()
        c = fc.LoopbackCluster(workers=1, cpus_per_node=2, start_timeout_s=60)
        c.start()
        tmp = c.temp_dir
        try:
            assert time.monotonic() - t0 < 90
            assert tmp is not None and tmp.startswith("/tmp/ccray-")
            yield c
        finally:
            c.stop()
    assert not os.path.exists(tmp), "the cluster's temp dir is removed"
    # (the analyses themselves leave matplotlib's font cache and onnxruntime's ~/.cache/Microsoft there)
    assert not (home / ".ray").exists(), f"Ray wrote into the home folder: {list((home / '.ray').iterdir())}"
    assert _ray_tmp_entries() <= before, "nothing left in /tmp/ray"


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole sample call (88.6 s, it has prompts), two short slices, a corrupt file."""
    from conftest import SAMPLE_CALL

    d = tmp_path_factory.mktemp("fleet") / "calls"
    (d / "east").mkdir(parents=True)
    x, rate = sf.read(SAMPLE_CALL, always_2d=True)
    sf.write(d / "sample.wav", x, rate, subtype="PCM_16")
    sf.write(d / "east" / "s1.wav", x[10 * rate : 17 * rate], rate, subtype="PCM_16")
    sf.write(d / "s2.flac", x[30 * rate : 37 * rate], rate)
    (d / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(200))
    return d


def _assert_loopback_only(pids: set[int]) -> list[tuple[str, int, str, int]]:
    socks = fc.listening_sockets(pids)
    off = [s for s in socks if not fc.is_loopback(s[0])]
    assert not off, f"Ray processes listen off loopback: {off}"
    return socks


def test_loopback_cluster_binds_127_0_0_1_only(loopback: fc.LoopbackCluster) -> None:
    assert loopback.address.startswith("127.0.0.1:")
    port = int(loopback.address.rsplit(":", 1)[1])
    socks = _assert_loopback_only(loopback.node_pids())
    assert port in {s[1] for s in socks}, "the GCS port is among the cluster's sockets"
    assert {s[2] for s in socks} >= {"gcs_server", "raylet"}
    assert sum(s[2] == "raylet" for s in socks) >= 2, "two nodes: two raylets listening"
    # Ray would rewrite 127.0.0.1 into the interface address without the pin
    from ray._private import services

    assert services.canonicalize_bootstrap_address(loopback.address) == loopback.address


def test_ray_engine_on_two_nodes_matches_the_local_pool(loopback: fc.LoopbackCluster, calls: Path, tmp_path: Path) -> None:
    opts = batch.Options(transcribe=False)
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    res_l = batch.batch_analyze(str(calls), local_out, opts=opts, jobs=2, progress=io.StringIO())
    log = io.StringIO()
    t0 = time.monotonic()
    res_r = batch.batch_analyze(str(calls), ray_out, opts=opts, jobs=2, progress=log, engine="ray", ray_address=loopback.address)
    assert time.monotonic() - t0 < 240
    assert (res_r.total, res_r.done, len(res_r.failed)) == (res_l.total, res_l.done, len(res_l.failed)) == (4, 3, 1)
    assert Path(res_r.failed[0][0]).name == "broken.wav" and "broken.wav" in res_r.failed[0][1]
    assert "4/4, 1 failed" in log.getvalue()  # progress shown as calls finish
    # two actors, one on each node
    assert len(engine.LAST_RUN_NODES) == 2 and len(set(engine.LAST_RUN_NODES.values())) == 2, engine.LAST_RUN_NODES
    # the same call gives the same prompts (and measures) on either engine
    for name in ("sample", "east__s1", "s2"):
        dl = json.loads((local_out / f"{name}.json").read_text())
        dr = json.loads((ray_out / f"{name}.json").read_text())
        assert dr["prompts"] == dl["prompts"], name
        assert dr["measures"] == dl["measures"] and dr["timeline"] == dl["timeline"], name
        assert (ray_out / f"{name}.html").is_file()
    assert json.loads((ray_out / "sample.json").read_text())["prompts"], "the sample call has prompts"
    rows_l = {Path(r["file"]).name: r for r in read_calls(local_out)}
    rows_r = {Path(r["file"]).name: r for r in read_calls(ray_out)}
    assert rows_r == rows_l
    assert rows_r["s1.wav"]["group"] == "east"
    assert (ray_out / "summary.csv").read_text() == (local_out / "summary.csv").read_text()
    # resume: done calls are skipped, the bad one is tried again
    res2 = batch.batch_analyze(
        str(calls), ray_out, opts=opts, jobs=2, progress=io.StringIO(), engine="ray", ray_address=loopback.address
    )
    assert (res2.done, res2.skipped, len(res2.failed)) == (0, 3, 1)
    after = read_calls(ray_out)
    assert len(after) == 4 and {Path(r["file"]).name: r for r in after} == rows_r  # every row kept, once
    # resume with a call to redo and a new one: every call exactly once in both tables
    from test_fleet_manifest import check_resume

    check_resume(
        calls,
        ray_out,
        lambda: batch.batch_analyze(
            str(calls), ray_out, opts=opts, jobs=2, progress=io.StringIO(), engine="ray", ray_address=loopback.address
        ),
        Path(__file__).resolve().parents[1] / "samples" / "sample_call.wav",
    )
    _assert_loopback_only(loopback.node_pids())
    assert not ray.is_initialized(), "the run disconnected from the cluster it joined"


def test_ray_engine_loads_the_model_once_per_actor(loopback: fc.LoopbackCluster, tmp_path: Path, sample_call: Path) -> None:
    d = tmp_path / "calls"
    d.mkdir()
    x, rate = sf.read(sample_call, always_2d=True)
    for i in range(4):
        sf.write(d / f"t{i}.wav", x[(10 + 7 * i) * rate : (15 + 7 * i) * rate], rate, subtype="PCM_16")
    out = tmp_path / "out"
    res = batch.batch_analyze(
        str(d),
        out,
        opts=batch.Options(transcribe=True, report=False),
        jobs=2,
        progress=io.StringIO(),
        engine="ray",
        ray_address=loopback.address,
    )
    assert (res.done, len(res.failed)) == (4, 0), res.failed
    # the real tiny.en model: each of the two actors loaded it once for its calls
    assert sorted(engine.LAST_RUN_MODEL_LOADS.values()) == [1, 1], engine.LAST_RUN_MODEL_LOADS
    docs = [json.loads(p.read_text()) for p in sorted(out.glob("t*.json"))]
    assert len(docs) == 4 and sum(len(doc["words"]) for doc in docs) > 10


def test_local_default_ray_is_on_loopback_and_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(key, raising=False)
    tmp_before = _ray_tmp_entries()
    env_keys = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR")
    env_before = {k: os.environ.get(k) for k in env_keys}
    before = fc.descendants({os.getpid()})
    session = engine._RaySession(None, 1)
    tmp = session.tmp
    try:
        assert session.started and ray.util.get_node_ip_address() == "127.0.0.1"
        # Ray 2.60 turns token authentication on for a local ray.init(): the token is
        # the run's own, in its temp dir (0600), not ~/.ray/auth_token
        assert tmp is not None and os.environ.get("RAY_AUTH_MODE") == "token"
        token = Path(tmp) / "auth_token"
        assert os.environ.get("RAY_AUTH_TOKEN_PATH") == str(token) and token.stat().st_mode & 0o777 == 0o600
        assert ray.get(ray.remote(lambda: 42).remote()) == 42  # authenticated
        mine = fc.descendants({os.getpid()}) - before
        assert mine, "the local Ray started processes"
        socks = _assert_loopback_only(mine | {os.getpid()})
        assert any(s[2] == "gcs_server" for s in socks)
    finally:
        session.close()
    assert not ray.is_initialized()
    assert not os.path.exists(tmp), "the run's temp dir (Ray's session files, the token) is removed"
    assert not list(home.iterdir()), f"Ray wrote into the home folder: {list(home.iterdir())}"
    assert _ray_tmp_entries() <= tmp_before, "nothing in /tmp/ray"
    assert {k: os.environ.get(k) for k in env_keys} == env_before  # Ray's settings restored
    deadline = time.monotonic() + 30
    while (fc.descendants({os.getpid()}) - before) & mine and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (fc.descendants({os.getpid()}) - before) & mine, "the local Ray's processes are gone"


def test_bad_ray_address_is_one_line_fast(tmp_path: Path, calls: Path, capsys: pytest.CaptureFixture) -> None:
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="nothing answers there"):
        fc.check_bootstrap("127.0.0.1:1")
    args = ["analyze", str(calls), "--out", str(tmp_path / "o"), "--no-transcribe", "--engine", "ray"]
    assert main([*args, "--ray-address", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("calmcall: error: ") and "127.0.0.1:1" in err and len(err.splitlines()) == 1
    assert main([*args, "--ray-address", "no-port"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    assert main([*args[:-2], "--ray-address", "127.0.0.1:1"]) == 2  # without --engine ray
    assert "--ray-address needs --engine ray" in capsys.readouterr().err
    assert time.monotonic() - t0 < 30
