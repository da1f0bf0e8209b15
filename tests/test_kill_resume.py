"""Kill -9 at every callback boundary (and inside a checkpoint write), then resume: no metric
record is lost or doubled, and no temporary file is left (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from idrak.train import Experiment

SETUP = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import idrak
    from idrak import nn
    from idrak.data import TensorDataset
    from idrak.train import Callback, Config, Experiment, ModelCheckpoint, Runner

    def data():
        rng = np.random.default_rng(0)
        y = rng.integers(0, 3, 96)
        x = np.array([[2.0, 0.0], [-2.0, 2.0], [-2.0, -2.0]])[y] + 0.5 * rng.normal(size=(96, 2))
        return TensorDataset(x.astype(np.float32), y.astype(np.int64))

    def net():
        idrak.manual_seed(0)
        return nn.Net().add("fc", nn.Linear(2, 8)).add("act", nn.ReLU()).add("out", nn.Linear(8, 3))

    def step(state):
        x, y = state.batch
        return {"loss": nn.functional.cross_entropy(state.net(x), y)}

    CONFIG = Config(batch_size=32, epochs=3, optimizer="SGD", learning_rate=0.1, seed=0)

    def run(root, kill_hook=None, kill_epoch=1):
        exp = Experiment(id="k", name="run", root=root)
        ckpt = exp.path / "ckpt.safetensors"
        saver = ModelCheckpoint(ckpt, monitor="train_loss", save_best_only=False)

        def die(*_):
            os.kill(os.getpid(), signal.SIGKILL)

        class Kill(Callback):
            def on_train_begin(self, runner):
                if kill_hook == "on_train_begin":
                    die()
            def on_epoch_begin(self, runner, epoch):
                if kill_hook == "on_epoch_begin" and epoch == kill_epoch:
                    die()
            def on_batch_end(self, runner, state, logs):
                if kill_hook == "on_batch_end" and runner.epoch == kill_epoch:
                    die()
            def on_epoch_end(self, runner, epoch, logs):
                if kill_hook == "on_epoch_end" and epoch == kill_epoch:
                    die()
            def on_train_end(self, runner, history):
                if kill_hook == "on_train_end":
                    die()

        if kill_hook == "checkpoint_write":
            import idrak.io.serialization as ser
            real = ser._write_bytes
            def write(f, data):
                real(f, data)
                if runner.epoch == kill_epoch + 1:
                    f.flush()
                    die()
            ser._write_bytes = write
        if ckpt.exists():
            runner = Runner.resume(ckpt, model=net(), experiment=exp, callbacks=[saver, Kill()],
                                   quiet=True)
        else:
            runner = Runner(config=CONFIG, model=net(), experiment=exp, callbacks=[saver, Kill()],
                            quiet=True)
        runner.train(step, data())
        exp.close()
        return runner
""")

HOOKS = [
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_end",
    "on_epoch_end",
    "checkpoint_write",
    "on_train_end",
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


def test_kill_at_each_callback_boundary_then_resume_loses_no_metric(tmp_path: Path) -> None:
    ns: dict[str, object] = {}
    exec(compile(SETUP, "<setup>", "exec"), ns)
    reference = ns["run"](tmp_path / "reference")  # type: ignore[operator]
    want = reference.history["train_loss"]  # type: ignore[attr-defined]
    procs = {}
    for hook in HOOKS:  # all children at once: a few seconds in total
        code = SETUP + f"\nrun({str(tmp_path / hook)!r}, {hook!r})\n"
        procs[hook] = subprocess.Popen([sys.executable, "-c", code], env=_env())
    for hook, proc in procs.items():
        assert proc.wait(timeout=120) == -9, hook  # killed, as planned
    for hook in HOOKS:
        root = tmp_path / hook
        ns["run"](root)  # type: ignore[operator]
        exp = Experiment.load(root / "run-k")
        steps = [s for s, _ in exp.history("train_loss")]
        assert steps == [0, 1, 2], (hook, steps)  # every epoch once: none lost, none doubled
        np.testing.assert_array_equal([v for _, v in exp.history("train_loss")], want, hook)
        leftovers = [p.name for p in (root / "run-k").rglob("*.tmp")]
        assert not leftovers, (hook, leftovers)


@pytest.mark.parametrize("hook", ["checkpoint_write"])
def test_a_kill_mid_write_leaves_a_temp_file_the_next_open_removes(
    tmp_path: Path, hook: str
) -> None:
    code = SETUP + f"\nrun({str(tmp_path)!r}, {hook!r})\n"
    assert subprocess.run([sys.executable, "-c", code], env=_env()).returncode == -9
    assert list((tmp_path / "run-k").glob(".ckpt.safetensors.*.tmp"))
    Experiment.load(tmp_path / "run-k")
    assert not list((tmp_path / "run-k").glob("*.tmp"))
