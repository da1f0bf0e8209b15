"""Runner(distributed=True) under mpirun: ``python runner_resume.py OUT EPOCHS [RESUME]``.

Trains a small classifier on synthetic data for EPOCHS epochs (resuming from RESUME when
given), then rank 0 writes OUT/checkpoint.safetensors and every rank its parameters to
OUT/params-r.npz; each rank also asks for OUT/probe-r.safetensors, which only rank 0 may write.
"""

from __future__ import annotations

import sys

import numpy as np

import idrak
import idrak.nn.functional as F
from idrak.data import TensorDataset
from idrak.train import Runner


def step(state):
    x, y = state.batch
    logits = state.net(x)
    return {"loss": F.cross_entropy(logits, y), "y_pred": logits}


out, epochs = sys.argv[1], int(sys.argv[2])
resume = sys.argv[3] if len(sys.argv) > 3 else None
rng = np.random.default_rng(3)
data = TensorDataset(rng.normal(size=(90, 5)).astype("float32"), rng.integers(0, 3, 90))
idrak.manual_seed(0)
model = idrak.nn.Sequential(idrak.nn.Linear(5, 8), idrak.nn.ReLU(), idrak.nn.Linear(8, 3))
config = {"epochs": epochs, "batch_size": 8, "optimizer": "Adam", "learning_rate": 0.01,
          "seed": 5, "distributed": True}  # fmt: skip
runner = Runner(config=config, model=model, quiet=True)
runner.train(step, data, resume_from=resume)
rank = runner.distributed.rank
runner.save_checkpoint(f"{out}/checkpoint.safetensors")
runner.save_checkpoint(f"{out}/probe-{rank}.safetensors")
np.savez(f"{out}/params-{rank}.npz", **{k: v.numpy() for k, v in model.state_dict().items()})
print("epoch", runner.epoch, "step", runner.step, flush=True)
