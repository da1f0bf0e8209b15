"""``DistributedDataParallel``: one model replica per process, gradients averaged over them.

See ``docs/distributed.md``. The wrapper (1) broadcasts rank 0's parameters and buffers at
construction, so every replica starts equal; (2) groups the parameters into *buckets* of about
``bucket_cap_mb`` megabytes (same dtype and device, in reverse registration order: torch's guess
of the order backward finishes them); (3) registers a post-accumulate-grad hook on every
parameter (:meth:`idrak.Tensor.register_post_accumulate_grad_hook`): when backward has
accumulated the gradient of every parameter of a bucket, the bucket is flattened into one
tensor, summed over the ranks with one :func:`~idrak.distributed.all_reduce` and divided by the
world size, and each ``.grad`` becomes its slice. Buckets therefore go out while backward is
still handing out the other gradients. (idrak's backward computes all gradients first and then
accumulates them, and its collectives are synchronous, so communication does not overlap
computation as in torch; fewer, larger messages still save the per-message latency.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import idrak.distributed as dist
from idrak.nn.module import Module

__all__ = ["DistributedDataParallel"]


@dataclass
class _Bucket:
    params: list[Any]
    ready: set[int] = field(default_factory=set)


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``torch.nn.parallel.DistributedDataParallel``).

    Every process runs the same model on its own shard of each batch (see
    :class:`idrak.data.DistributedSampler`); after ``loss.backward()`` every replica holds the
    gradient of the mean loss over all ranks' samples, so identical optimizer steps keep the
    replicas identical. Call the wrapper (or the module: the hooks sit on the parameters) as
    the model; ``state_dict()`` names carry the ``module.`` prefix, as in torch, and
    ``ddp.module`` is the wrapped model.

    Args:
        module: the model (an ``idrak.nn.Module``), the same architecture on every rank.
        device_ids, output_device, dim: accepted for torch's signature (one device per process:
            the module's).
        broadcast_buffers: also broadcast rank 0's buffers (BatchNorm statistics) at
            construction and before each forward, as torch does.
        bucket_cap_mb: bucket size in megabytes (default 25, torch's): larger buckets mean
            fewer all-reduce calls (less latency), smaller ones start sooner.
        find_unused_parameters: must be False: every parameter that requires grad must get a
            gradient in every backward (a forward finds an incomplete earlier backward and
            raises, naming the parameters that got none).
        gradient_as_bucket_view, static_graph, process_group, check_reduction: accepted for
            torch's signature; ``process_group`` must be None (the default group).

    Raises:
        DistributedError: the process group is not initialized, or ``find_unused_parameters``.
        ValueError: a ``bucket_cap_mb`` that is not > 0.
    """

    def __init__(
        self,
        module: Any,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        super().__init__()
        if not dist.is_initialized():
            raise dist.DistributedError(
                "DistributedDataParallel needs a process group: call "
                "idrak.distributed.init_process_group() first"
            )
        if process_group is not None:
            raise dist.DistributedError("DistributedDataParallel: only process_group=None works")
        if find_unused_parameters:
            raise dist.DistributedError(
                "DistributedDataParallel(find_unused_parameters=True) is not supported: every "
                "parameter that requires grad must take part in the loss (freeze the others "
                "with requires_grad_(False) before wrapping)"
            )
        cap = 25.0 if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(cap, bool) or not isinstance(cap, int | float) or not cap > 0:
            raise ValueError(f"bucket_cap_mb must be a number > 0, got {bucket_cap_mb!r}")
        self.module = module
        object.__setattr__(self, "bucket_cap_mb", float(cap))
        object.__setattr__(self, "broadcast_buffers", bool(broadcast_buffers))
        object.__setattr__(self, "require_backward_grad_sync", True)
        self._sync_state(buffers=True)
        buckets = self._make_buckets(list(module.parameters()), int(cap * 1024 * 1024))
        object.__setattr__(self, "_buckets", buckets)
        handles = []
        for b in buckets:
            for p in b.params:
                handles.append(p.register_post_accumulate_grad_hook(self._hook(b)))
        object.__setattr__(self, "_handles", handles)

    # construction ------------------------------------------------------------------------
    @staticmethod
    def _make_buckets(params: list[Any], cap_bytes: int) -> list[_Bucket]:
        """Consecutive parameters (reverse order) of one dtype and device, up to ``cap_bytes``."""
        buckets: list[_Bucket] = []
        size, key = 0, None
        for p in reversed([p for p in params if p.requires_grad]):
            nbytes = p.numel() * p.element_size()
            k = (p.dtype, str(p.device))
            if not buckets or k != key or (size + nbytes > cap_bytes and size > 0):
                buckets.append(_Bucket([]))
                size, key = 0, k
            buckets[-1].params.append(p)
            size += nbytes
        return buckets

    def _sync_state(self, buffers: bool) -> None:
        """Broadcast rank 0's parameters (and buffers) to every rank."""
        for p in self.module.parameters():
            dist.broadcast(p, 0)
        if buffers:
            for _, b in self.module.named_buffers():
                if b is not None:
                    dist.broadcast(b, 0)

    @property
    def buckets(self) -> list[list[str]]:
        """The parameter names of each bucket, in all-reduce order."""
        names = {id(p): n for n, p in self.module.named_parameters()}
        return [[names[id(p)] for p in b.params] for b in self._buckets]

    # gradient reduction ------------------------------------------------------------------
    def _hook(self, bucket: _Bucket) -> Any:
        def on_grad(p: Any) -> None:
            if not self.require_backward_grad_sync:
                return
            bucket.ready.add(id(p))
            if len(bucket.ready) == len(bucket.params):
                bucket.ready.clear()
                self._reduce(bucket)

        return on_grad

    def _reduce(self, bucket: _Bucket) -> None:
        from idrak.core.methods.movement import cat

        world = dist.get_world_size()
        grads = [p.grad.detach().reshape(-1) for p in bucket.params]
        flat = cat(grads) if len(grads) > 1 else grads[0]
        dist.all_reduce(flat, dist.ReduceOp.SUM)
        if world > 1:
            flat = (flat / float(world)).cast(flat.dtype)
        start = 0
        for p in bucket.params:
            n = p.numel()
            p.grad = flat[start : start + n].reshape(p.shape).detach()
            start += n

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates gradients locally without communicating; the first
        backward after it all-reduces the accumulated sum (gradient accumulation)."""
        prev = self.require_backward_grad_sync
        object.__setattr__(self, "require_backward_grad_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "require_backward_grad_sync", prev)

    def _check_previous(self) -> None:
        names = {id(p): n for n, p in self.module.named_parameters()}
        missing = [
            names.get(id(p), "?")
            for b in self._buckets
            if b.ready
            for p in b.params
            if id(p) not in b.ready
        ]
        for b in self._buckets:
            b.ready.clear()
        if missing:
            raise dist.DistributedError(
                "DistributedDataParallel: the previous backward gave no gradient to "
                f"{', '.join(missing)}, so their buckets were never all-reduced (the replicas "
                "now differ); every parameter that requires grad must take part in the loss"
            )

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the wrapped module (first: the buffers from rank 0, when broadcast_buffers)."""
        if self.require_backward_grad_sync:
            self._check_previous()
        if self.broadcast_buffers and dist.get_world_size() > 1:
            for _, b in self.module.named_buffers():
                if b is not None:
                    dist.broadcast(b, 0)
        return self.module(*args, **kwargs)

    def __repr__(self) -> str:
        return (
            f"DistributedDataParallel(bucket_cap_mb={self.bucket_cap_mb:g}, module={self.module!r})"
        )
