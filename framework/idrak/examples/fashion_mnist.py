"""Train an MLP (default) or a small CNN on Fashion-MNIST: Config, Net, step, Runner, Experiment.

Run with ``python -m idrak.examples.fashion_mnist`` (the README's main job). Options::

    --model {mlp,cnn}   MLP 784-256-128-10 (ReLU) or CNN conv32-pool-conv64-pool-fc128-fc10
    --epochs N          default 10 (the MLP reaches about 88.8% test accuracy)
    --batch-size, --lr  default 128 and 1e-3 (Adam, cosine-annealed to 0 over the run)
    --device DEV        e.g. cpu, cuda (default: idrak's default device)
    --out DIR           experiments are written to DIR/fashion-mnist-<model>-<id>/ (default runs)
    --limit N           train on the first N training samples only (quick checks, tests)
    --quiet             print only the final summary
    --distributed       data-parallel over the ranks of mpirun (see docs/distributed.md):
                        mpirun -np 2 python -m idrak.examples.fashion_mnist --distributed;
                        --batch-size stays the global batch (each rank takes its share)

Each epoch prints the training and test loss, accuracy and macro F1. The run directory holds the
config (``artifacts/config.toml``), the final checkpoint (``artifacts/checkpoint.safetensors``),
the metric history (``metrics.jsonl``) and, with matplotlib, one dashboard figure
(``plots/dashboard.png``: train and eval loss, accuracy and F1 together, lr, epoch time).

The data comes from ``idrak.data.fashion_mnist``: ``/usr/share/datasets/fashion-mnist`` (Debian
package ``dataset-fashion-mnist``), ``$IDRAK_DATA/fashion-mnist`` or a download.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, ClassVar

import idrak
import idrak.nn.functional as F
from idrak.data import Subset, fashion_mnist
from idrak.examples import _cli
from idrak.metrics import Accuracy, F1Score
from idrak.train import Config, Experiment, Runner, build_net


# Step 1: the truth. Every setting of the run lives here (and is saved with the experiment).
class FashionConfig:
    block_type = "MLP"  # "MLP" or "ConvNet" (see idrak.train.registry)
    in_features = 784
    hidden_sizes: ClassVar[list[int]] = [256, 128]
    in_channels = 1
    channels: ClassVar[list[int]] = [32, 64]
    hidden = 128
    num_classes = 10
    optimizer = "Adam"
    learning_rate = 1e-3
    lr_scheduler = "CosineAnnealingLR"  # T_max defaults to the number of epochs
    batch_size = 128
    eval_batch_size = 1000
    epochs = 10
    seed = 0


# Step 3: your logic. The Runner does backward, the optimizer step, metrics and evaluation.
def training_step(state: Any) -> dict[str, Any]:
    """Cross-entropy of the model's logits: x float32 (B, 1, 28, 28), y int64 (B,)."""
    x, y = state.batch
    logits = state.net(x)
    return {"loss": F.cross_entropy(logits, y), "y_pred": logits}


PROG = "python -m idrak.examples.fashion_mnist"


def make_config(args: argparse.Namespace) -> Config:
    config = Config.from_object(FashionConfig)
    if args.model == "cnn":
        config.block_type = "ConvNet"
    config.epochs = args.epochs
    config.batch_size = args.batch_size
    config.learning_rate = args.lr
    config.seed = args.seed
    return config


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, evaluate and save; returns ``{"history", "test_accuracy", "path", "seconds"}``."""
    p = _cli.parser(PROG, "Train an MLP or a CNN on Fashion-MNIST with idrak's Runner.")
    p.add_argument(
        "--model",
        choices=["mlp", "cnn"],
        default="mlp",
        help="MLP 784-256-128-10 (ReLU) or CNN conv32-pool-conv64-pool-fc128-fc10",
    )
    p.add_argument(
        "--epochs", type=_cli.positive_int, default=FashionConfig.epochs, help="training epochs"
    )
    p.add_argument(
        "--batch-size", type=_cli.positive_int, default=FashionConfig.batch_size, help="batch size"
    )
    p.add_argument(
        "--lr",
        type=float,
        default=FashionConfig.learning_rate,
        help="Adam learning rate (cosine-annealed to 0 over the run)",
    )
    p.add_argument("--seed", type=int, default=FashionConfig.seed, help="random seed")
    p.add_argument(
        "--device",
        type=_cli.device,
        default=None,
        help="cpu, cuda, cuda:1, ... (default: idrak's default device, IDRAK_DEVICE or cpu)",
    )
    p.add_argument("--out", default="runs", help="directory for experiment runs")
    p.add_argument(
        "--limit",
        type=_cli.positive_int,
        default=None,
        help="train on the first N training samples only (quick checks)",
    )
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training over the ranks of mpirun (MPI) or idrak.distributed.launch",
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()

    config = make_config(args)
    rank, world = 0, 1
    if args.distributed:
        import idrak.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group()
        rank, world = dist.get_rank(), dist.get_world_size()
        if args.batch_size % world:
            raise ValueError(
                f"--batch-size {args.batch_size} must be a multiple of the {world} ranks "
                "(it is the global batch; each rank takes batch_size / ranks samples)"
            )
        config.batch_size = args.batch_size // world
        config.distributed = True
    train = fashion_mnist("train", normalize=True)
    test = fashion_mnist("test", normalize=True)
    train_data: Any = train
    if args.limit is not None:
        train_data = Subset(train, range(min(args.limit, len(train))))

    # Step 2: the state. The Net builds itself from the config.
    idrak.manual_seed(config.seed)
    model = build_net(config)

    # Step 4: let the Runner execute, and the Experiment remember.
    experiment = (
        Experiment(name=f"fashion-mnist-{args.model}", root=args.out) if rank == 0 else None
    )
    runner = Runner(
        config=config, model=model, device=args.device, experiment=experiment, quiet=args.quiet
    )
    history = runner.train(
        training_step_fn=training_step,
        train_dataset=train_data,
        eval_dataset=test,
        metrics=[Accuracy(), F1Score(num_classes=10)],
    )

    seconds = time.perf_counter() - t0
    acc = history["eval_accuracy"][-1]
    if experiment is None:  # a rank other than 0 of a distributed run: rank 0 reports
        return {"history": history, "test_accuracy": acc, "path": None, "seconds": seconds}
    experiment.log_artifact("config.toml", config.to_toml())
    plots: list[Any] = []
    try:
        plots = [experiment.dashboard()]
    except ImportError:  # matplotlib is optional ('idrak[plot]')
        pass
    experiment.close()
    seconds = time.perf_counter() - t0
    ranks = "" if world == 1 else f"{world} ranks x {config.batch_size} samples per step: "
    print(
        f"{ranks}{args.model}: test accuracy {100 * acc:.2f}%  "
        f"macro F1 {history['eval_f1'][-1]:.4f}  "
        f"after {runner.epoch} epochs on {len(train_data)} samples ({seconds:.1f}s)\n"
        f"run saved in {experiment.path} (checkpoint, config, metrics"
        f"{', dashboard ' + str(plots[0]) if plots else ''})"
    )
    return {"history": history, "test_accuracy": acc, "path": experiment.path, "seconds": seconds}


if __name__ == "__main__":
    _cli.run(main, PROG)
