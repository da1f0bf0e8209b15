"""Differential fuzzing of ``nn.functional`` against torch: softmax family, activations,
losses, normalization, convolution and pooling (small shapes), embedding, one_hot, pad,
interpolate. See docs/fuzzing.md for the exclusions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _fuzz_engine import Case, check_case
from _fuzz_strategies import FLOATS, arrays, shapes
from hypothesis import given
from hypothesis import strategies as st

ACTIVATIONS = {
    "relu": "",
    "relu6": "",
    "gelu": "",
    "gelu-tanh": "approximate='tanh'",
    "silu": "",
    "elu": "alpha=0.7",
    "celu": "alpha=1.3",
    "selu": "",
    "leaky_relu": "0.1",
    "hardtanh": "-0.5, 2.0",
    "hardsigmoid": "",
    "hardswish": "",
    "softplus": "beta=2.0",
    "softsign": "",
    "mish": "",
    "logsigmoid": "",
    "sigmoid": "",
    "tanh": "",
}
SOFTMAX = ("softmax", "log_softmax", "softmin")


def _float(draw: Any, shape: tuple[int, ...], finite: bool | None = None, **kw: Any) -> np.ndarray:
    dt = draw(st.sampled_from(FLOATS))
    return draw(arrays(dt, shape, finite=draw(st.booleans()) if finite is None else finite, **kw))


def _activation(name: str) -> Callable[[Any], Case]:
    fn = name.split("-")[0]
    args = ACTIVATIONS[name]

    def build(draw: Any) -> Case:
        # |x| <= 1e3: torch's float32 overflow inside hardswish and gelu's tail at 1e307 are
        # rounding artifacts (docs/fuzzing.md)
        a = _float(draw, draw(shapes()), lo=-1e3, hi=1e3)
        if fn in ("gelu", "hardswish"):  # torch: gelu(inf) and hardswish(-inf) are NaN
            a = np.where(np.isinf(a), np.zeros_like(a), a)
        # the gradients at the kinks of hardtanh/relu6/hardsigmoid/hardswish: torch picks one
        # side (docs/fuzzing.md); values there are moved
        if fn in ("hardtanh", "relu6", "hardsigmoid", "hardswish"):
            kinks = {
                "hardtanh": (-0.5, 2.0),
                "relu6": (0.0, 6.0),
                "hardsigmoid": (-3.0, 3.0),
                "hardswish": (-3.0, 3.0),
            }.get(fn, (0.0,))
            for k in kinks:
                a = np.where(a == k, a + np.asarray(0.125, a.dtype), a)
        expr = f"F.{fn}(a{', ' + args if args else ''})"
        return Case("activation", expr, {"a": a}, grad=("a",), tol=10)

    return build


def _softmax(name: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        a = _float(draw, draw(shapes()))
        n = max(a.ndim, 1)
        d = draw(st.integers(-n, n - 1))
        return Case("softmax", f"F.{name}(a, dim={d})", {"a": a}, grad=("a",), tol=10)

    return build


def _regression_loss(name: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        shape = draw(shapes())
        dt = draw(st.sampled_from(FLOATS))
        fin = draw(st.booleans())
        a, b = draw(arrays(dt, shape, finite=fin)), draw(arrays(dt, shape, finite=fin))
        red = draw(st.sampled_from(("mean", "sum", "none")))
        extra = (
            ", beta=0.5"
            if name == "smooth_l1_loss"
            else ", delta=2.0"
            if name == "huber_loss"
            else ""
        )
        if name in ("smooth_l1_loss", "huber_loss", "l1_loss"):  # kinks: |a - b| at 0 / beta
            b = np.where(a == b, b + np.asarray(0.25, dt), b)
        return Case(
            "loss",
            f"F.{name}(a, b, reduction={red!r}{extra})",
            {"a": a, "b": b},
            grad=("a", "b"),
            tol=10,
        )

    return build


def _classification_loss(name: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        n = draw(st.integers(0 if name == "cross_entropy-probs" else 1, 4))  # N = 0: NaN
        c = draw(st.integers(1, 4))
        logits = _float(draw, (n, c), finite=True, lo=-20, hi=20)
        t = draw(arrays("int64", (n,), lo=0, hi=c - 1))
        t = np.clip(t, 0, c - 1)
        red = draw(st.sampled_from(("mean", "sum", "none")))
        ig = draw(st.sampled_from((-100, 0)))  # 0: sometimes every target is ignored
        if name == "cross_entropy":
            ls = draw(st.sampled_from((0.0, 0.1)))
            expr = (
                f"F.cross_entropy(a, t, reduction={red!r}, label_smoothing={ls}, ignore_index={ig})"
            )
        elif name == "nll_loss":
            expr = f"F.nll_loss(F.log_softmax(a, dim=1), t, reduction={red!r}, ignore_index={ig})"
        elif name == "cross_entropy-probs":
            expr = f"F.cross_entropy(a, F.softmax(a * 0.5, dim=1).detach(), reduction={red!r})"
        elif name == "binary_cross_entropy":  # raw logits: inputs outside [0, 1] raise in both
            target = "lib.sigmoid(a.flip(0)).detach()"
            x = "lib.sigmoid(a)" if draw(st.integers(0, 3)) else "a"
            if x == "a":  # the gradient at exactly 0 and 1: docs/fuzzing.md
                logits = np.where((logits == 0) | (logits == 1), logits + 0.25, logits)
            expr = f"F.binary_cross_entropy({x}, {target}, reduction={red!r})"
        elif name == "binary_cross_entropy_with_logits":
            target = "lib.sigmoid(a.flip(0)).detach()"
            expr = f"F.binary_cross_entropy_with_logits(a, {target}, reduction={red!r})"
        else:  # kl_div
            target = "F.softmax(a.flip(0), dim=1).detach()"
            expr = f"F.kl_div(F.log_softmax(a, dim=1), {target}, reduction='batchmean')"
        return Case("loss", expr, {"a": logits, "t": t}, grad=("a",), tol=100)

    return build


def _norm(name: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        # w = 1 with n = 1: one value per group/channel, refused by both in training
        n, c, w = draw(st.integers(1, 3)), draw(st.sampled_from((2, 4))), draw(st.integers(1, 3))
        x = _float(draw, (n, c, w), finite=True, lo=-10, hi=10)
        x = x + np.arange(x.size, dtype=x.dtype).reshape(x.shape) * np.asarray(0.37, x.dtype)
        exprs = {
            "layer_norm": "F.layer_norm(a, a.shape[-1:])",
            "group_norm": "F.group_norm(a, 2)",
            "batch_norm": "F.batch_norm(a, None, None, training=True)",
            "normalize": f"F.normalize(a, dim={draw(st.integers(-3, 2))})",
            "cosine_similarity": "F.cosine_similarity(a, a.flip(0) + 1.0, dim=1)",
            "pairwise_distance": "F.pairwise_distance(a[:, :, 0], a[:, :, -1] + 0.5)",
        }
        return Case("normalization", exprs[name], {"a": x}, grad=("a",), tol=1000)

    return build


def _conv(name: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        two_d = name.endswith("2d")
        n, cin, cout = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
        sp = (draw(st.integers(1, 5)),) * (2 if two_d else 1)
        k = draw(st.integers(1, 3))
        dt = draw(st.sampled_from(FLOATS))
        x = draw(arrays(dt, (n, cin, *sp), finite=True, lo=-10, hi=10))
        stride, pad, dil = draw(st.integers(1, 2)), draw(st.integers(0, 1)), draw(st.integers(1, 2))
        if "transpose" in name:  # an output size below 0 raises in both; 0: docs/semantics.md
            pad = 0 if (sp[0] - 1) * stride + k - 2 * pad == 0 else pad
            w = draw(arrays(dt, (cin, cout, *(k,) * len(sp)), finite=True, lo=-3, hi=3))
            expr = f"F.{name}(a, w, stride={stride}, padding={pad})"
        elif name.startswith("conv"):
            w = draw(arrays(dt, (cout, cin, *(k,) * len(sp)), finite=True, lo=-3, hi=3))
            expr = f"F.{name}(a, w, stride={stride}, padding={pad}, dilation={dil})"
        else:
            w = np.zeros((1,), dt)
            if name.startswith("max") and draw(st.booleans()):
                x = np.round(x / 4).astype(dt)  # ties: the first maximum gets the gradient
            pad = min(pad, k // 2)
            ceil = draw(st.booleans()) and "adaptive" not in name
            expr = f"F.{name}(a, {k}, stride={stride}, padding={pad}, ceil_mode={ceil})"
            if name == "adaptive_avg_pool2d":
                out = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
                expr = f"F.adaptive_avg_pool2d(a, {out})"
        return Case("conv-pool", expr, {"a": x, "w": w}, grad=("a", "w"), tol=100)

    return build


def _misc(name: str) -> Callable[[Any], Case]:
    def build(draw: Any) -> Case:
        if name == "embedding":
            w = _float(draw, (5, 3), finite=True)
            i = np.clip(draw(arrays("int64", draw(shapes(0, 2)), lo=0, hi=4)), 0, 4)
            return Case("misc-nn", "F.embedding(i, a)", {"a": w, "i": i}, grad=("a",))
        if name == "one_hot":
            c = draw(st.integers(1, 4))
            i = np.clip(draw(arrays("int64", draw(shapes(0, 2)), lo=0, hi=c - 1)), 0, c - 1)
            return Case("misc-nn", f"F.one_hot(i, {c})", {"i": i})
        if name == "pad":
            a = _float(draw, draw(shapes(2, 3, 1)))
            p = [draw(st.integers(0, 2)) for _ in range(2)]
            mode = draw(st.sampled_from(("constant", "reflect", "replicate")))
            if mode == "reflect":
                p = [min(x, a.shape[-1] - 1) for x in p]
            return Case("misc-nn", f"F.pad(a, {tuple(p)}, mode={mode!r})", {"a": a}, grad=("a",))
        if name == "linear":
            a = _float(draw, (draw(st.integers(0, 3)), 3), finite=True, lo=-10, hi=10)
            w = _float(draw, (2, 3), finite=True, lo=-3, hi=3)
            return Case(
                "misc-nn", "F.linear(a, w.to(a.dtype))", {"a": a, "w": w}, grad=("a", "w"), tol=100
            )
        a = _float(draw, (1, 1, draw(st.integers(1, 4)), draw(st.integers(1, 4))), finite=True)
        mode = draw(st.sampled_from(("nearest", "bilinear")))
        extra = ", align_corners=False" if mode == "bilinear" else ""
        return Case(
            "misc-nn",
            f"F.interpolate(a, scale_factor=2, mode={mode!r}{extra})",
            {"a": a},
            grad=("a",),
            tol=100,
        )

    return build


CONV = (
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
)
OPS: dict[str, Callable[[Any], Case]] = {}
OPS.update({f"act.{k}": _activation(k) for k in ACTIVATIONS})
OPS.update({f"softmax.{k}": _softmax(k) for k in SOFTMAX})
OPS.update(
    {
        f"loss.{k}": _regression_loss(k)
        for k in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss")
    }
)
OPS.update(
    {
        f"loss.{k}": _classification_loss(k)
        for k in (
            "cross_entropy",
            "cross_entropy-probs",
            "nll_loss",
            "binary_cross_entropy",
            "binary_cross_entropy_with_logits",
            "kl_div",
        )
    }
)
OPS.update(
    {
        f"norm.{k}": _norm(k)
        for k in (
            "layer_norm",
            "group_norm",
            "batch_norm",
            "normalize",
            "cosine_similarity",
            "pairwise_distance",
        )
    }
)
OPS.update({f"conv.{k}": _conv(k) for k in CONV})
OPS.update(
    {f"misc.{k}": _misc(k) for k in ("embedding", "one_hot", "pad", "linear", "interpolate")}
)


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
def test_fuzz_nn(name: str, data: st.DataObject) -> None:
    check_case(OPS[name](data.draw))
