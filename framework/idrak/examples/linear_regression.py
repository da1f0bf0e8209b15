"""The smallest end-to-end example: fit ``y = 3x + 2`` with one Linear layer and SGD.

Run with ``python -m idrak.examples.linear_regression [--steps 200] [--lr 0.1]``.
"""

from __future__ import annotations

import numpy as np

import idrak
from idrak import nn, optim
from idrak.examples import _cli


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Train and print the learned line; returns ``{"weight", "bias", "loss"}`` (floats)."""
    p = _cli.parser(
        "python -m idrak.examples.linear_regression",
        "Fit y = 3x + 2 with one Linear layer and SGD.",
    )
    p.add_argument(
        "--steps", type=_cli.positive_int, default=200, help="gradient steps (full batch)"
    )
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="print only the result")
    args = p.parse_args(argv)

    # synthetic data: 256 points on y = 3x + 2 with a little Gaussian noise, float32 (256, 1)
    rng = np.random.default_rng(args.seed)
    x_np = rng.uniform(-1, 1, size=(256, 1)).astype(np.float32)
    y_np = (3 * x_np + 2 + 0.1 * rng.normal(size=x_np.shape)).astype(np.float32)
    x, y = idrak.tensor(x_np), idrak.tensor(y_np)

    idrak.manual_seed(args.seed)
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=args.lr)
    for step in range(args.steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if not args.quiet and (step % 50 == 0 or step == args.steps - 1):
            print(f"step {step:4d}  mse {loss.item():.5f}")

    w, b = float(model.weight.item()), float(model.bias.item())
    print(f"learned y = {w:.3f} x + {b:.3f}   (true: y = 3x + 2, mse {loss.item():.5f})")
    return {"weight": w, "bias": b, "loss": float(loss.item())}


if __name__ == "__main__":
    _cli.run(main, "python -m idrak.examples.linear_regression")
