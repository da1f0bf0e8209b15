"""The compiled replay of an :func:`idrak.jit` recording: one generated Python function.

A recording's steps are fixed: the same ops, on the same devices, with the same arguments and
dtypes, every replay. So instead of walking the steps through :func:`idrak.engine.lazy.execute`
(attribute reads, the operand-dtype rule and a dispatch-table lookup per node), the first
replay resolves each step once, through :meth:`Backend.bound
<idrak.contract.backend.Backend.bound>` (the declared-op checks :meth:`Backend.run` applies),
to the backend method and its trailing arguments, and generates a flat function::

    def replay(v0, v1, v2):          # the input buffers, then the random words
        v3 = f0(v0, v1)              # MATMUL
        del v1                       # dead from here on (a step's ``frees``)
        with d0(0):                  # a backend with a device context (CUDA), as execute enters it
            v4 = f1(v3, g7, a0)      # g7: a constant or hoisted buffer, a0: the op's argument
        return [v4, v0]

Values live in local variables only while the generated code runs, so nothing is held between
calls, and a buffer is dropped as soon as no later step reads it (peak memory as before).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from idrak.contract.backend import Backend
from idrak.contract.ops import Op
from idrak.engine import lazy as _lazy

__all__ = ["compile_steps", "operand_dtype"]

_NO_CONTEXT = Backend.device_context


def operand_dtype(step: Any) -> Any:
    """The operand dtype :func:`idrak.engine.lazy.execute` passes to ``Backend.run`` for
    ``step``: its own for creation ops and FUSED, the second source's for WHERE, else the first
    source's."""
    if not step.srcs or step.op in _lazy._OWN_DTYPE:
        return step.dtype
    return step.srcs[1].dtype if step.op is Op.WHERE else step.srcs[0].dtype


def compile_steps(
    steps: Sequence[Any],
    params: Sequence[Any],
    kept: Sequence[tuple[Any, Any]],
    outputs: Sequence[Any],
) -> Callable[..., list[Any]]:
    """A function running ``steps`` (program slots: ``device``, ``op``, ``srcs``, ``arg``,
    ``dtype``, ``frees``) on the buffers of ``params`` (passed positionally, in that order) and
    returning the buffers of ``outputs``.

    Args:
        steps: the steps, in order; every source is a param, a kept slot or an earlier step.
        params: the slots whose buffers each call passes (inputs, random words).
        kept: ``(slot, buffer)`` for values fixed across calls (constants, hoisted nodes).
        outputs: the slots whose buffers are returned, in order.

    Raises:
        NotSupportedError: (from :meth:`Backend.bound`) a step's op or dtype is not declared.
        ValueError: a step reads a slot that is none of the above (a malformed program).
    """
    ns: dict[str, Any] = {}
    name: dict[int, str] = {}
    for k, slot in enumerate(params):
        name[id(slot)] = f"v{k}"
    for k, (slot, buf) in enumerate(kept):
        name[id(slot)] = f"g{k}"
        ns[f"g{k}"] = buf
    local = len(params)
    lines = [f"def replay({', '.join(f'v{k}' for k in range(len(params)))}):"]
    dev: Any = None
    indent = "    "
    contexts: dict[tuple[int, int], str] = {}
    for j, st in enumerate(steps):
        if st.device is not dev:
            dev = st.device
            be = dev.backend
            indent = "    "
            if type(be).device_context is not _NO_CONTEXT:  # entered as execute enters it
                ctx = contexts.setdefault((id(be), dev.index), f"d{len(contexts)}")
                ns[ctx] = be.device_context
                lines.append(f"    with {ctx}({dev.index}):")
                indent = "        "
        fn, tail = dev.backend.bound(st.op, operand_dtype(st), st.arg, dev.index)
        ns[f"f{j}"] = fn
        args = []
        for s in st.srcs:
            n = name.get(id(s))
            if n is None or n.startswith("<"):
                raise ValueError(
                    f"idrak.jit: step {j} ({st.op.name}) reads an unknown or freed slot"
                )
            args.append(n)
        for i, a in enumerate(tail):
            ns[f"a{j}_{i}"] = a
            args.append(f"a{j}_{i}")
        out = f"v{local}"
        local += 1
        name[id(st)] = out
        lines.append(f"{indent}{out} = f{j}({', '.join(args)})  # {st.op.name}")
        dead = [name[id(f)] for f in st.frees if name.get(id(f), "g").startswith("v")]
        if dead:
            lines.append(f"{indent}del {', '.join(dead)}")
            for f in st.frees:  # a freed value is not read again: a later read is a bug
                if name.get(id(f), "g").startswith("v"):
                    name[id(f)] = f"<freed {name[id(f)]}>"
    rets = []
    for o in outputs:
        n = name.get(id(o))
        if n is None or n.startswith("<"):
            raise ValueError("idrak.jit: a program output is no value of the program")
        rets.append(n)
    lines.append(f"    return [{', '.join(rets)}]")
    src = "\n".join(lines)
    exec(compile(src, "<idrak.jit replay>", "exec"), ns)  # generated from the recording only
    fn_: Callable[..., list[Any]] = ns["replay"]
    fn_.__doc__ = src  # the generated code, for debugging (``help`` shows it)
    return fn_
