"""What ``Runner(distributed=True)`` (or the config key ``distributed = true``) changes.

* the default process group is created if the program has not made one (backend: the config's
  ``distributed_backend``, else :func:`idrak.distributed.init_process_group`'s default, ``mpi``
  under ``mpirun``), and the model is wrapped in
  :class:`~idrak.nn.parallel.DistributedDataParallel` (rank 0's weights broadcast; gradients
  averaged in buckets of ``bucket_cap_mb``). The step function gets the wrapper as
  ``state.net``; ``runner.model`` stays the bare model, so checkpoints and ``state_dict``
  names are those of a single-process run and either kind of run can resume the other's;
* a training Dataset is read through a :class:`~idrak.data.DistributedSampler` (seed: the
  config's ``seed``, else 0, the same on every rank): ``batch_size`` is per rank, the global
  batch ``world_size`` times it. A DataLoader (or an iterable of batches) you pass is used as
  it is: give it a ``sampler=DistributedSampler(...)`` yourself, or every rank reads all of
  it. Evaluation is not sharded: every rank evaluates the whole eval set (so every rank's
  History holds the same eval values);
* ranks other than 0 print nothing, log to no experiment and write no checkpoint
  (:meth:`Runner.save_checkpoint` returns the path without writing); every rank resumes from
  the one file rank 0 wrote (``resume_from=``). ``train_*`` values are rank 0's shard's;
* ``jit`` is turned off (each bucket's all-reduce leaves the traced graph for the host).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DistributedState", "sampler_for", "setup"]


@dataclass
class DistributedState:
    """The process group's view from one Runner."""

    rank: int
    world_size: int
    ddp: Any

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(runner: Any, flag: bool | None) -> DistributedState | None:
    """Make ``runner`` data-parallel when ``flag`` (or the config's ``distributed``) says so.

    Raises:
        ValueError: a ``distributed`` that is not a bool.
        idrak.distributed.DistributedError: no process group can be made (e.g. no mpi4py).
    """
    use = runner.config.get("distributed", False) if flag is None else flag
    if not isinstance(use, bool):
        raise ValueError(f"distributed must be True or False, got {use!r}")
    if not use:
        return None
    import idrak.distributed as dist
    from idrak.nn.parallel import DistributedDataParallel

    if not dist.is_initialized():
        dist.init_process_group(runner.config.get("distributed_backend"))
    ddp = DistributedDataParallel(runner.model, bucket_cap_mb=runner.config.get("bucket_cap_mb"))
    state = DistributedState(dist.get_rank(), dist.get_world_size(), ddp)
    runner.jit = False
    if not state.is_main:
        runner.quiet = True
        runner.experiment = None
    return state


def sampler_for(runner: Any, dataset: Any) -> Any:
    """The :class:`~idrak.data.DistributedSampler` of this rank for a training ``dataset``."""
    from idrak.data import DistributedSampler

    state: DistributedState = runner.distributed
    seed = runner.config.get("seed")
    return DistributedSampler(
        dataset,
        num_replicas=state.world_size,
        rank=state.rank,
        shuffle=True,
        seed=0 if seed is None else int(seed),
        drop_last=bool(runner.config.get("drop_last", False)),
    )
