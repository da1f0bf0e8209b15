"""idrak.distributed without mpirun: the API's errors, the comm-backend plugins (and NCCL's
refusal without CuPy), the TCP store, DistributedSampler against torch's, the
post-accumulate-grad hook, DDP's buckets and no_sync on a one-rank loopback backend, and the
launcher. The multi-process tests are in test_distributed_mpi.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from _mpi import SCRIPTS, child_env

import idrak
import idrak.distributed as dist
import idrak.nn as nn
from idrak.contract.hookspecs import hookimpl
from idrak.data import DataLoader, DistributedSampler, TensorDataset
from idrak.distributed import registry
from idrak.distributed.store import TCPStore
from idrak.nn.parallel import DistributedDataParallel
from idrak.runtime import plugins


class Loopback(dist.CommBackend):
    """A one-rank host backend that records the calls (``calls``: (collective, shape))."""

    name = "loopback"
    calls: ClassVar[list[tuple[str, tuple[int, ...]]]] = []

    def __init__(self, rank: int, world_size: int, timeout: float, init_method: Any) -> None:
        super().__init__(0, 1, timeout, init_method)

    def all_reduce(self, array: Any, op: str) -> Any:
        Loopback.calls.append(("all_reduce", array.shape))
        return array.copy()

    def broadcast(self, array: Any, src: int) -> Any:
        Loopback.calls.append(("broadcast", array.shape))
        return array.copy()

    def all_gather(self, array: Any) -> Any:
        return array[None].copy()

    def reduce_scatter(self, array: Any, op: str) -> Any:
        return array[0].copy()

    def barrier(self) -> None:
        Loopback.calls.append(("barrier", ()))


def _plugin(name: str, hook: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(__name__=name, idrak_register_comm_backends=hookimpl(hook))


@pytest.fixture
def loopback() -> Iterator[None]:
    """A process group of one rank on the Loopback backend, registered as an in-process plugin."""
    plugin = _plugin("loopback_plugin", lambda register: register("loopback", lambda: Loopback))
    plugins.register_plugin(plugin, "loopback_plugin")
    registry.reset()
    Loopback.calls = []
    dist.init_process_group("loopback", timeout=5)
    try:
        yield
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        plugins.unregister_plugin("loopback_plugin")
        registry.reset()


# --- the API without a process group ----------------------------------------------------------
def test_not_initialized() -> None:
    assert not dist.is_initialized()
    assert dist.get_rank() == -1 and dist.get_world_size() == -1
    with pytest.raises(dist.DistributedError, match="not initialized"):
        dist.all_reduce(idrak.ones(2))
    with pytest.raises(dist.DistributedError, match="init_process_group"):
        DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(dist.DistributedError, match="num_replicas"):
        DistributedSampler(range(4))


def test_bad_arguments_are_named(loopback: None) -> None:
    with pytest.raises(dist.DistributedError, match="already initialized"):
        dist.init_process_group("loopback")
    with pytest.raises(dist.DistributedError, match="op must be"):
        dist.all_reduce(idrak.ones(2), "mean")
    with pytest.raises(dist.DistributedError, match="AVG needs a floating-point"):
        dist.all_reduce(idrak.ones(2, dtype="int32"), dist.ReduceOp.AVG)
    with pytest.raises(dist.DistributedError, match="must be an idrak Tensor"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(dist.DistributedError, match=r"src must be a rank in \[0, 1\), got 1"):
        dist.broadcast(idrak.ones(2), src=1)
    with pytest.raises(dist.DistributedError, match="world_size=1"):
        dist.all_gather([idrak.ones(2), idrak.ones(2)], idrak.ones(2))
    with pytest.raises(dist.DistributedError, match="expected"):
        dist.all_gather_into_tensor(idrak.ones(3), idrak.ones(2))
    with pytest.raises(dist.DistributedError, match="only the default group"):
        dist.barrier(group="other")


def test_collectives_are_in_place_on_a_one_rank_group(loopback: None) -> None:
    p = nn.Parameter(idrak.tensor([1.0, 2.0]))
    dist.all_reduce(p, dist.ReduceOp.AVG)
    assert isinstance(p, nn.Parameter) and p.tolist() == [1.0, 2.0]
    h = idrak.tensor([0.5, 1.5], dtype="float16")
    dist.all_reduce(h)  # 16-bit floats travel as float32 on the host path
    assert h.dtype == idrak.float16 and h.tolist() == [0.5, 1.5]
    b = idrak.tensor([True, False])
    dist.broadcast(b, 0)
    assert b.dtype == idrak.bool_ and b.tolist() == [True, False]
    out = idrak.zeros(2)
    dist.reduce_scatter(out, [idrak.tensor([3.0, 4.0])])
    assert out.tolist() == [3.0, 4.0]
    assert dist.get_backend() == "loopback" and dist.get_world_size() == 1
    assert dist.all_reduce(p, async_op=True).wait()  # type: ignore[union-attr]


# --- plugins ----------------------------------------------------------------------------------
def test_builtin_comm_backends_are_registered() -> None:
    registry.reset()
    found = dist.comm_backends()
    assert found["mpi"].devices == ("*",) and found["nccl"].devices == ("cuda",)
    assert dist.is_available()
    # a plugin with only the comm hook is not reported as a broken device plugin
    assert not [f for f in plugins.plugin_failures() if f.plugin in ("mpi", "nccl")]


def test_a_failing_comm_plugin_does_not_break_the_others() -> None:
    def broken(register: Any) -> None:
        raise RuntimeError("vendor library missing")

    def duplicate(register: Any) -> None:
        register("mpi", lambda: Loopback)

    plugins.register_plugin(_plugin("broken_comm", broken), "broken_comm")
    plugins.register_plugin(_plugin("dup_comm", duplicate), "dup_comm")
    registry.reset()
    try:
        failures = dict(dist.comm_failures())
        assert "vendor library missing" in failures["broken_comm"]
        assert "'mpi' is reserved" in failures["dup_comm"]
        assert {"mpi", "nccl"} <= set(dist.comm_backends())
        with pytest.raises(dist.DistributedError, match="no communication backend named 'gloo'"):
            dist.init_process_group("gloo")
    finally:
        plugins.unregister_plugin("broken_comm")
        plugins.unregister_plugin("dup_comm")
        registry.reset()


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_nccl_refuses_clearly_without_cupy() -> None:
    with pytest.raises(dist.DistributedError, match=r"'nccl'.*needs CuPy"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_importing_idrak_distributed_imports_neither_mpi4py_nor_cupy() -> None:
    code = (
        "import sys, idrak, idrak.distributed as d, idrak.nn.parallel; d.comm_backends(); "
        "print(sorted(m for m in ('mpi4py', 'cupy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --- the TCP store ----------------------------------------------------------------------------
def test_tcp_store_rendezvous_and_timeouts() -> None:
    master = TCPStore("127.0.0.1", 0, is_master=True, timeout=5)
    got: dict[int, bytes] = {}

    def client(rank: int) -> None:
        s = TCPStore("127.0.0.1", master.port, timeout=5)
        got[rank] = s.get("uid")
        s.set(f"joined/{rank}", b"ok")
        s.close()

    threads = [threading.Thread(target=client, args=(r,)) for r in (1, 2)]
    for t in threads:
        t.start()
    time.sleep(0.1)  # the clients wait for a key not yet set
    master.set("uid", bytes(range(256)))
    for r in (1, 2):
        assert master.get(f"joined/{r}") == b"ok"
    for t in threads:
        t.join(5)
    assert got == {1: bytes(range(256)), 2: bytes(range(256))}
    t0 = time.monotonic()
    with pytest.raises(dist.DistributedTimeoutError, match="'missing' was not set"):
        master.get("missing", timeout=0.3)
    assert time.monotonic() - t0 < 5
    port = master.port
    master.close()
    with pytest.raises(dist.DistributedTimeoutError, match="no store answered"):
        TCPStore("127.0.0.1", port, timeout=0.3)


# --- DistributedSampler -----------------------------------------------------------------------
@pytest.mark.parametrize("n", [10, 11, 3])
@pytest.mark.parametrize("replicas", [1, 2, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_layout_matches_torch(n: int, replicas: int, drop_last: bool) -> None:
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(
            range(n), replicas, rank, shuffle=False, drop_last=drop_last
        )
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_shuffles_by_epoch_and_partitions() -> None:
    shards = [DistributedSampler(range(20), 2, r, seed=3) for r in range(2)]
    first = [s.indices() for s in shards]
    assert sorted(np.concatenate(first).tolist()) == list(range(20))
    for s in shards:
        s.set_epoch(1)
    assert not np.array_equal(shards[0].indices(), first[0])
    # one replica: the order a shuffled DataLoader with the same seed uses
    data = TensorDataset(np.arange(20.0))
    loader = DataLoader(data, batch_size=20, shuffle=True, seed=3, prefetch=False)
    single = DistributedSampler(data, 1, 0, seed=3)
    assert single.indices().tolist() == next(iter(loader))[0].numpy().astype(int).tolist()
    with pytest.raises(ValueError, match=r"rank 2 is not in \[0, 2\)"):
        DistributedSampler(range(4), 2, 2)


def test_dataloader_takes_a_sampler() -> None:
    data = TensorDataset(np.arange(10.0))
    sampler = DistributedSampler(data, 2, 1, seed=0)
    loader = DataLoader(data, batch_size=2, sampler=sampler, prefetch=False)
    assert len(loader) == 3
    loader.set_epoch(4)
    assert sampler.epoch == 4
    got = np.concatenate([b[0].numpy() for b in loader]).astype(int)
    assert got.tolist() == sampler.indices().tolist()
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(data, sampler=sampler, shuffle=True)


# --- the gradient hook, DDP -------------------------------------------------------------------
def test_post_accumulate_grad_hook() -> None:
    w = idrak.tensor([1.0, 2.0], requires_grad=True)
    seen: list[list[float]] = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * 3.0).sum().backward()
    (w * 1.0).sum().backward()
    assert seen == [[3.0, 3.0], [4.0, 4.0]]  # after accumulation
    handle.remove()
    (w * 1.0).sum().backward()
    assert len(seen) == 2
    with pytest.raises(idrak.IdrakError, match="non-leaf"):
        (w * 2.0).register_post_accumulate_grad_hook(print)


def test_ddp_buckets_and_reduces_once_per_bucket(loopback: None) -> None:
    idrak.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    ddp = DistributedDataParallel(model, bucket_cap_mb=40 * 4 / 2**20)  # 40 float32 per bucket
    assert Loopback.calls == [("broadcast", s) for s in [(8, 4), (8,), (2, 8), (2,)]]
    # reverse order; a bucket closes when the next parameter would pass the cap
    assert ddp.buckets == [["2.bias", "2.weight", "0.bias"], ["0.weight"]]
    Loopback.calls = []
    x = idrak.randn(5, 4)
    want = idrak.autograd.grad(model(x).sum(), list(model.parameters()))
    ddp(x).sum().backward()
    # one all-reduce per bucket, each once its last gradient arrived (in idrak's leaf order)
    assert sorted(Loopback.calls) == [("all_reduce", (26,)), ("all_reduce", (32,))]
    for p, g in zip(model.parameters(), want):
        np.testing.assert_allclose(p.grad.numpy(), g.numpy(), rtol=1e-6)
    Loopback.calls = []
    with ddp.no_sync():
        ddp(x).sum().backward()
    assert Loopback.calls == []
    ddp(x).sum().backward()  # reduces the accumulated sum (three backwards)
    assert len(Loopback.calls) == 2
    for p, g in zip(model.parameters(), want):
        np.testing.assert_allclose(p.grad.numpy(), 3 * g.numpy(), rtol=1e-5)
    assert next(iter(ddp.state_dict())) == "module.0.weight"


def test_ddp_names_parameters_that_got_no_gradient(loopback: None) -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    ddp = DistributedDataParallel(model, bucket_cap_mb=100)
    model[0](idrak.ones(1, 3)).sum().backward()  # the second layer takes no part
    with pytest.raises(dist.DistributedError, match=r"no gradient to 1\.bias, 1\.weight"):
        ddp(idrak.ones(1, 3))
    with pytest.raises(dist.DistributedError, match="find_unused_parameters"):
        DistributedDataParallel(model, find_unused_parameters=True)
    with pytest.raises(ValueError, match="bucket_cap_mb"):
        DistributedDataParallel(model, bucket_cap_mb=0)


# --- the launcher -----------------------------------------------------------------------------
def _launch(tmp_path: Path, mode: str, port: int) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "idrak.distributed.launch", "--nproc-per-node", "2",
           "--master-port", str(port), "--grace", "1",
           str(SCRIPTS / "launch_child.py"), str(tmp_path), mode]  # fmt: skip
    return subprocess.run(cmd, env=child_env(), capture_output=True, text=True, timeout=60)


def test_launch_sets_the_rendezvous_environment(tmp_path: Path) -> None:
    result = _launch(tmp_path, "ok", 29611)
    assert result.returncode == 0, result.stderr
    for r in (0, 1):
        text = (tmp_path / f"{r}.txt").read_text()
        assert text == f"{r} 2 {r} 2 127.0.0.1 29611"


def test_launch_stops_the_others_when_a_rank_fails(tmp_path: Path) -> None:
    t0 = time.monotonic()
    result = _launch(tmp_path, "fail", 29612)
    assert result.returncode == 3
    assert "rank 1 (local rank 1) exited with status 3" in result.stderr
    assert time.monotonic() - t0 < 30  # rank 0 was stopped, not waited for (60 s)


# --- the NCCL backend's rendezvous, with a stand-in for CuPy (no GPU here) ---------------------
class _FakeCommunicator:
    made: ClassVar[list[tuple[int, tuple[int, ...], int]]] = []

    def __init__(self, world: int, uid: tuple[int, ...], rank: int) -> None:
        _FakeCommunicator.made.append((world, uid, rank))

    def destroy(self) -> None:
        pass


#: NCCL's unique id is 128 signed chars
_UID = tuple(range(-128, 0))


@pytest.fixture
def fake_cupy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from idrak.distributed import nccl

    fake_nccl = types.SimpleNamespace(
        get_unique_id=lambda: _UID, NcclCommunicator=_FakeCommunicator
    )
    device = types.SimpleNamespace(use=lambda: None)
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(Device=lambda i: device))
    monkeypatch.setattr(nccl.NCCLBackend, "_cupy", fake)
    monkeypatch.setattr(nccl.NCCLBackend, "_nccl", fake_nccl)
    monkeypatch.setattr(nccl, "_backend_class", lambda: nccl.NCCLBackend)
    _FakeCommunicator.made = []
    registry.reset()
    yield
    registry.reset()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nccl_rendezvous_passes_the_unique_id_through_the_tcp_store(fake_cupy: None) -> None:
    from idrak.distributed.nccl import NCCLBackend

    url = f"tcp://127.0.0.1:{_free_port()}"
    errors: list[BaseException] = []

    def rank(r: int) -> None:
        try:
            NCCLBackend(r, 3, 10.0, url).close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=rank, args=(r,)) for r in (2, 1, 0)]  # rank 0 last
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    assert sorted(_FakeCommunicator.made, key=lambda m: m[2]) == [(3, _UID, r) for r in range(3)]


def test_nccl_refuses_host_tensors(fake_cupy: None) -> None:
    dist.init_process_group(
        "nccl", init_method=f"tcp://127.0.0.1:{_free_port()}", world_size=1, rank=0, timeout=10
    )
    try:
        with pytest.raises(dist.DistributedError, match=r"cannot reduce tensors on numpy.*cuda"):
            dist.all_reduce(idrak.ones(2))
    finally:
        dist.destroy_process_group()


def test_nccl_needs_its_rank_from_the_launcher(
    fake_cupy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(dist.DistributedError, match="needs RANK"):
        dist.init_process_group("nccl")
