"""Layer 6, model: a small MLP and a small CNN train on the backend as on the NumPy backend.

Both start from the same seed (idrak's random numbers are bit-identical on every backend), run a
few steps of plain SGD written with Tensor ops, and must give the NumPy backend's loss at every
step within ``RTOL``. This is the end-to-end check that everything the layers below verified one
op at a time also composes: forward, backward and parameter updates through the lazy graph.
"""

from __future__ import annotations

from typing import Any

from idrak.contract.dtypes import bool_, float32, int64
from idrak.testing._compare import ConformanceFailure, snippet
from idrak.testing._session import Check, Session, core_deps, parametrize

#: relative difference allowed between the backend's and the NumPy backend's losses
RTOL = 5e-4
STEPS = 5


def train(model: str, device: str, steps: int = STEPS, lr: float = 0.1) -> list[float]:
    """Losses of ``steps`` SGD steps of ``model`` ("mlp" or "cnn") on ``device`` (float32)."""
    import idrak

    idrak.manual_seed(1234)

    def param(*shape: int, scale: float = 0.3) -> Any:
        return (idrak.randn(*shape, device=device) * scale).detach().requires_grad_()

    if model == "mlp":
        x = idrak.randn(16, 8, device=device)
        y = idrak.randint(0, 3, (16,), device=device)
        params = [param(8, 16), param(16, scale=0.1), param(16, 3), param(3, scale=0.1)]

        def forward(w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
            return (x.matmul(w1) + b1).relu().matmul(w2) + b2
    else:
        x = idrak.randn(4, 1, 8, 8, device=device)
        y = idrak.randint(0, 3, (4,), device=device)
        params = [
            param(4, 1, 3, 3),
            param(4, scale=0.1),
            param(64, 3, scale=0.1),
            param(3, scale=0.1),
        ]

        def forward(w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
            h = x.conv2d(w1, b1, padding=1).relu().max_pool2d(2)
            return h.reshape(h.shape[0], -1).matmul(w2) + b2

    losses = []
    for _ in range(steps):
        logits = forward(*params)
        loss = -logits.log_softmax(-1).gather(1, y.reshape(-1, 1)).mean()
        loss.backward()
        losses.append(float(loss.item()))
        with idrak.no_grad():
            for p in params:
                p.assign(p - lr * p.grad)
                p.grad = None
    return losses


def _checks(s: Session) -> list[Check]:
    if float32 not in s.caps.dtypes:
        return []
    deps = core_deps([float32, bool_, int64]) + ("autograd:*",)
    return [
        Check("model", name, "float32", "sgd", deps, {"model": name.lower()})
        for name in ("MLP", "CNN")
    ]


def pytest_generate_tests(metafunc: Any) -> None:
    parametrize(metafunc, _checks)


def test_model(check: Check) -> None:
    """Losses of a few SGD steps match the NumPy backend's."""
    s, model = check.s, check.data["model"]
    s.reference_backend()
    check.repro = snippet(
        check.key,
        s.name,
        [
            "from idrak.testing.test_6_models import train",
            "",
            f"print({s.name!r}, train({model!r}, {s.name!r}))",
            f"print('numpy', train({model!r}, 'numpy'))",
        ],
    )
    got, want = train(model, s.name), train(model, "numpy")
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if not abs(g - w) <= RTOL * abs(w)]
    if bad:
        raise ConformanceFailure(
            f"{check.op} losses differ from the numpy backend's at steps "
            f"{bad}: got {got}, want {want} (rtol {RTOL})",
            check.repro,
        )
    if not got[-1] < got[0]:
        raise ConformanceFailure(f"{check.op} did not learn: losses {got}", check.repro)
