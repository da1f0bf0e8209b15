"""The Optimizer base class: parameter groups, one realization per step, state_dict.

A subclass writes only the math of one parameter's update, with Tensor ops, in
:meth:`Optimizer._update`. :meth:`Optimizer.step` runs those updates under ``no_grad``, then
computes every new parameter value and every new state tensor in ONE ``idrak.realize`` call (so
the lazy graph never grows across steps and shared work runs once) and finally swaps the values
in with ``p.assign(new)``: the Parameter objects stay the same.

Everything a step changes lives in Tensors (step counters included, as 0-d float32 tensors like
PyTorch's), and hyperparameters are Python numbers read at each step, so a training step can be
replayed by ``idrak.jit``: the first step (which creates the state) runs as it is, later ones
replay. The hyperparameters a scheduler changes (``_jit_inputs``: the learning rate, and
momentum where an optimizer has it) enter the math as 0-d float64 Tensors mirrored from the
group's Python numbers (:meth:`Optimizer._hyper`), so they are inputs of a jit recording, not
part of its signature: a per-step scheduler does not retrace. Other hyperparameters (betas,
eps, weight decay) are in the signature: changing one traces again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from idrak.core.autograd import enable_grad, no_grad
from idrak.core.creation import full
from idrak.core.tensor import Tensor
from idrak.core.toplevel import realize

__all__ = ["Optimizer", "ParamsT", "check_torch_flags"]

#: the dtype of per-parameter step counters (as PyTorch: exact up to 2**24 steps)
STEP_DTYPE = "float32"

#: what an optimizer accepts: tensors, a ``.params`` dict, or a list of group dicts
ParamsT = Iterable[Tensor] | Mapping[str, Tensor] | Iterable[dict[str, Any]]


def direction(
    p: Tensor, grad: Tensor, group: dict[str, Any], lr: Any = None, decoupled: bool = False
) -> tuple[Tensor, Tensor]:
    """``(p, g)``: the parameter an update applies to and its gradient direction.

    ``g`` is ``grad``, negated when the group has ``maximize``. The group's ``weight_decay``
    ``wd`` is added to it as an L2 term (``g + p * wd``) or, with ``decoupled``, applied to the
    parameter instead as ``p * (1 - lr * wd)`` (decoupled weight decay, Loshchilov & Hutter 2019,
    "Decoupled Weight Decay Regularization"; PyTorch's AdamW and ``decoupled_weight_decay``).
    """
    g = -grad if group["maximize"] else grad
    wd = group["weight_decay"]
    if wd and decoupled:
        p = p * (1.0 - lr * wd)
    elif wd:
        g = g + p * wd
    return p, g


def next_step(state: dict[str, Any], p: Tensor, memo: dict[Any, Any] | None = None) -> Tensor:
    """Advance ``state["step"]`` (a 0-d float32 Tensor on ``p``'s device) and return it.

    A Tensor, not an int, so that ``idrak.jit`` can replay a step: the count changes in a
    buffer, not in Python. An int or float left by an older checkpoint is converted. With the
    optimizer's per-step ``memo``, parameters whose counters are the same Tensor share the
    advanced one: one counter (one tiny kernel) per optimizer step instead of one per parameter.
    """
    t = state.get("step")
    key = ("step", id(t) if isinstance(t, Tensor) else t, p.device)
    if memo is not None and key in memo:
        state["step"] = memo[key][1]
        return state["step"]
    old = t
    if t is None:
        t = full((), 1.0, STEP_DTYPE, p.device)
    elif isinstance(t, Tensor):
        t = t + 1.0
    else:
        t = full((), float(t) + 1.0, STEP_DTYPE, p.device)
    if memo is not None:
        memo[key] = (old, t)  # the old counter is kept alive so its id is not reused
    state["step"] = t
    return t


def bias_correction(t: Tensor, beta: Tensor | float) -> Tensor:
    """``1 - beta**t`` for a step counter ``t``, computed in float64 (as PyTorch computes it
    with Python floats), as a 0-d float64 Tensor."""
    return 1.0 - beta ** t.cast("float64")


def check_torch_flags(
    name: str,
    foreach: bool | None = None,
    fused: bool | None = None,
    capturable: bool = False,
    differentiable: bool = False,
) -> None:
    """Accept PyTorch's implementation-choice flags, refusing the one idrak cannot honour.

    - ``foreach`` and ``fused`` (``None``, ``True`` or ``False``) pick among PyTorch's kernels
      for the same math; idrak always computes every parameter's update in one realization
      per step, so each value is accepted and changes nothing.
    - ``capturable`` (CUDA-graph capture): idrak's step counters are already device tensors
      and ``idrak.jit`` replays steps, so both values are accepted.
    - ``differentiable=True`` (gradients through ``step()``) is refused: steps run under
      ``no_grad``.

    Raises:
        TypeError: a flag that is not a bool (or ``None`` for foreach / fused), named.
        NotSupportedError: ``differentiable=True``.
    """
    from idrak.errors import NotSupportedError

    for flag, value, nullable in (
        ("foreach", foreach, True),
        ("fused", fused, True),
        ("capturable", capturable, False),
        ("differentiable", differentiable, False),
    ):
        if not (isinstance(value, bool) or (nullable and value is None)):
            allowed = "True, False or None" if nullable else "True or False"
            raise TypeError(f"{name}: {flag} must be {allowed}, got {value!r}")
    if differentiable:
        raise NotSupportedError(
            "idrak.optim",
            f"{name}(differentiable=True)",
            detail="optimizer steps run under no_grad; use differentiable=False",
        )


def _tensor_list(params: Any, where: str) -> list[Tensor]:
    if isinstance(params, Tensor):
        return [params]
    if isinstance(params, Mapping):
        params = params.values()
    out = list(params)
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, not a Tensor")
        if not p.is_leaf:
            raise ValueError(
                f"{where}: parameter {i} (shape {tuple(p.shape)}) is not a leaf; "
                "optimize the leaf tensors (detach().requires_grad_())"
            )
        if p.dtype.kind != "f":
            raise TypeError(
                f"{where}: parameter {i} has dtype {p.dtype}; only floating "
                "tensors can be optimized"
            )
    return out


def _mirrorable(v: Any) -> bool:
    """An int or float, or a tuple of them (betas); not a bool."""
    if type(v) in (int, float):
        return True
    return type(v) is tuple and all(type(x) in (int, float) for x in v)


class _Mirrored:
    """The Python values the hyperparameter mirrors were made from, by mirror name. Opaque to
    ``idrak.jit``'s state walk (the values would otherwise land in its signature)."""

    _idrak_jit_opaque = True

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        #: the keys an update has read through ``_hyper``: only those are replay inputs (an
        #: optimizer of your own that reads ``group["lr"]`` directly keeps it in the signature)
        self.used: set[str] = set()


#: hyperparameters that must be real numbers, whichever optimizer has them
_NUMERIC_OPTIONS = (
    "lr",
    "momentum",
    "dampening",
    "weight_decay",
    "eps",
    "alpha",
    "lr_decay",
    "initial_accumulator_value",
)


def _is_number(v: Any) -> bool:
    """A real number (Python or NumPy scalar, or a 0-d Tensor as torch allows for lr), not a
    bool."""
    if isinstance(v, Tensor):
        return v.ndim == 0
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts with ``"params"`` and the
    hyperparameters) and per-parameter ``state`` (a dict keyed by the parameter).

    Args:
        params: an iterable of Tensors, a ``module.params`` dict, or a list of dicts
            ``{"params": [...], "lr": ...}`` whose options override ``defaults`` per group.
        defaults: the hyperparameters a group gets when it does not set them.

    Raises:
        ValueError: no parameters, a parameter in two groups, a non-leaf, or a bad
            hyperparameter (named with its value). TypeError: a non-Tensor parameter.
    """

    #: hyperparameters that are replay inputs of ``idrak.jit`` (see :meth:`_hyper`)
    _jit_inputs: tuple[str, ...] = ("lr",)
    #: those of them whose being 0 picks a Python branch of ``_update`` (so that stays in the
    #: signature)
    _jit_branches: tuple[str, ...] = ()

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._memo: dict[Any, Any] = {}  # values shared by the parameters within one step()
        #: 0-d float64 mirrors of the ``_jit_inputs`` numbers, by "group.key@device"
        self._mirrors: dict[str, Tensor] = {}
        self._mirrored = _Mirrored()
        if isinstance(params, Tensor):
            params = [params]
        items = list(params.values()) if isinstance(params, Mapping) else list(params)
        if not items:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups: list[Any] = items if isinstance(items[0], dict) else [{"params": items}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate one group's hyperparameters (subclasses extend this)."""
        name = type(self).__name__
        for key in _NUMERIC_OPTIONS:
            if key in group and not _is_number(group[key]):
                raise TypeError(f"{name}: {key} must be a number, got {group[key]!r}")
        betas = group.get("betas")
        if betas is not None and not (
            isinstance(betas, (tuple, list)) and all(_is_number(b) for b in betas)
        ):
            raise TypeError(f"{name}: betas must be a pair of numbers, got {betas!r}")
        if "lr" in group and not group["lr"] >= 0:
            raise ValueError(f"{name}: invalid learning rate lr={group['lr']}")
        if not group.get("weight_decay", 0.0) >= 0:
            raise ValueError(f"{name}: invalid weight_decay={group['weight_decay']}")
        if not group.get("eps", 0.0) >= 0:
            raise ValueError(f"{name}: invalid eps={group['eps']}")
        betas = group.get("betas")
        if betas is not None and not (len(betas) == 2 and all(0.0 <= b < 1.0 for b in betas)):
            raise ValueError(f"{name}: betas must be two values in [0, 1), got {betas}")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (``{"params": ..., **options}``); missing options come from defaults."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(
                f"a parameter group must be a dict with a 'params' key, got {param_group!r}"
            )
        group = dict(param_group)
        group["params"] = _tensor_list(
            group["params"], f"{type(self).__name__} group {len(self.param_groups)}"
        )
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        unknown = sorted(
            set(group)
            - set(self.defaults)
            - {"params", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"}
        )
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown options {unknown}; known: {sorted(self.defaults)}"
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]) or len(
            {id(p) for p in group["params"]}
        ) != len(group["params"]):
            raise ValueError("a parameter appears in more than one group (or twice in one)")
        self._check_group(group)
        self.param_groups.append(group)

    def _hyper(self, group: dict[str, Any], key: str, p: Tensor) -> Any:
        """``group[key]`` as a 0-d float64 Tensor on ``p``'s device (a Python number that is
        not an int or float, or a key outside ``_jit_inputs``, is returned as it is).

        The Tensor is kept while the number stays the same and replaced when it changes, so
        ``idrak.jit`` reads it as a replay input. In arithmetic with a float32 tensor the 0-d
        float64 value is rounded to float32 exactly as a Python float operand is, so results
        are bit-identical to using the number.
        """
        return self._hyper_on(group, key, p.device)

    def _hyper_on(self, group: dict[str, Any], key: str, device: Any) -> Any:
        v = group[key]
        if key not in self._jit_inputs or not _mirrorable(v):
            return v
        self._mirrored.used.add(key)
        gi = next(i for i, g in enumerate(self.param_groups) if g is group)
        if type(v) in (int, float):
            return self._mirror(gi, key, float(v), device)
        return tuple(self._mirror(gi, f"{key}[{i}]", float(x), device) for i, x in enumerate(v))

    def _mirror(self, gi: int, key: str, v: float, device: Any) -> Tensor:
        name = f"{gi}.{key}@{device}"
        t = self._mirrors.get(name)
        if t is None or self._mirrored.values.get(name) != v.hex():
            t = self._mirrors[name] = full((), v, "float64", device)
            self._mirrored.values[name] = v.hex()
        return t

    def _idrak_jit_inputs(self) -> list[tuple[dict[str, Any], dict[str, bool]]]:
        """For ``idrak.jit``'s state walk: make every mirror current and say which numbers of
        which groups the recording reads through them (so they stay out of its signature), and
        whether their being 0 steers Python."""
        out = []
        for g in self.param_groups:
            live = {
                k: k in self._jit_branches
                for k in self._jit_inputs
                if k in self._mirrored.used and _mirrorable(g.get(k))
            }
            for dev in {p.device for p in g["params"]}:
                for k in live:
                    self._hyper_on(g, k, dev)
            out.append((g, live))
        return out

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter (to ``None``, or to zeros)."""
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = p.grad.zeros_like()

    def _update(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> Tensor:
        """The new value of ``p`` (lazy Tensor ops); store new state tensors in ``state``."""
        raise NotImplementedError

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (others are skipped).

        Args:
            closure: optional; re-evaluates the model and returns the loss (run with grad on).

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._memo = {}
        with no_grad():
            updates: list[tuple[Tensor, Tensor]] = []
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state.setdefault(p, {})
                    grad = p.grad if p.grad.dtype == p.dtype else p.grad.cast(p.dtype)
                    updates.append((p, self._update(p, grad, state, group)))
            pending = [new for _, new in updates]
            for p, _ in updates:
                pending += [v for v in self.state[p].values() if isinstance(v, Tensor)]
            realize(*pending)
            for p, new in updates:
                p.assign(new)
        self._memo = {}
        return loss

    # checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: Tensor | number}}, "param_groups": [{..., "params":
        [index, ...]}]}``; parameters are numbered in group order, as in PyTorch."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            for p in g["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in g["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: (v.detach() if isinstance(v, Tensor) else v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (tensors are cast to
        each parameter's dtype and device; integer keys may arrive as strings).

        Raises:
            ValueError: a different number of groups or of parameters in a group.
        """
        saved = list(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the checkpoint has "
                f"{len(saved)} parameter groups, this optimizer "
                f"{len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (g, s) in enumerate(zip(self.param_groups, saved)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: group {i} has "
                    f"{len(s['params'])} parameters in the checkpoint, "
                    f"{len(g['params'])} here"
                )
            for p, idx in zip(g["params"], s["params"]):
                by_index[int(idx)] = p
            for k, v in s.items():
                if k != "params":
                    g[k] = tuple(v) if isinstance(self.defaults.get(k), tuple) else v
        self.state = {}
        for idx, entries in state_dict.get("state", {}).items():
            p = by_index.get(int(idx))
            if p is None:
                continue
            restored: dict[str, Any] = {}
            for k, v in entries.items():
                if k == "step":  # a counter: float32 whatever the parameter's dtype
                    if isinstance(v, Tensor):
                        v = v.detach().to(p.device).cast(STEP_DTYPE)
                    elif isinstance(v, int | float):
                        v = full((), float(v), STEP_DTYPE, p.device)
                elif isinstance(v, Tensor):
                    v = v.detach().to(p.device)
                    v = v.cast(p.dtype) if v.dtype.kind == "f" else v
                restored[k] = v
            self.state[p] = restored
