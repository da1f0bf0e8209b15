"""A cheap, exact re-check of :class:`idrak.compile.state.State`'s walk between ``idrak.jit``
calls.

The walk (every container and object reachable from the function's arguments and state) is
deterministic given the identity of every value it reads, the types of the objects it enters,
the tensors' shape, dtype, device and ``requires_grad``, and the replay inputs' types (and
whether they are 0, where that steers Python). A :class:`Snapshot` keeps, from one full walk,
every mutable container it walked with its keys and values (strong references, so no id can be
reused), every object with its type and ``__dict__``, and every replay-input mirror call. The
next call re-checks all of it with C-level id comparisons: when nothing changed, or only

* a tensor reached once was replaced by another Tensor (an optimizer's new state tensor, a new
  input batch: the recording's tensors are rebound by position), or
* a replay input changed value (a scheduled learning rate) without changing its type or its
  being 0 where that steers Python,

the full walk would give the same signature, and the check returns its :class:`State` with the
new tensors in place. Anything else (a new or removed attribute or key, a replaced container,
a changed Python number, a tensor whose shape, dtype, device or ``requires_grad`` changed, a
tensor now aliased to another) makes the check return ``None``, and the caller walks in full.
Gradients, grad mode and the fusion switch are read by :meth:`State.key` on every call.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter
from typing import Any

from idrak.compile.state import State, _numbers, _Sig
from idrak.core.tensor import Tensor

__all__ = ["Snapshot"]


_PROPS = attrgetter("shape", "dtype", "device", "requires_grad")


def _props(ts: list[Tensor]) -> list[tuple[Any, ...]]:
    """What the walk's signature holds of each tensor."""
    return list(map(_PROPS, ts))


def _top(roots: tuple[Any, Any, Any], fresh: bool) -> list[Any]:
    """The root items: the arguments, the keyword values, and the state (its items when it is
    a list made anew for each call, i.e. the default state)."""
    args, kwargs, state = roots
    return [*args, *kwargs.values(), *(state if fresh else (state,))]


class Snapshot:
    """What one full walk saw, to verify the next call's state cheaply (module docstring).

    Args:
        st: a walk made with ``record`` (the ids of the fresh containers: the keyword dict and
            a default-state list, which are new objects on every call).
        roots: the walk's roots, ``(args, kwargs, state)``.
        fresh: whether ``state`` is a list made anew for each call (the default state).
    """

    def __init__(self, st: State, roots: tuple[Any, Any, Any], fresh: bool) -> None:
        # what a check needs of the walk (not the State itself: its lists of tensors would
        # keep tensors the replays have since replaced, and their buffers, alive)
        self.fresh = fresh
        self.mirrors, self.objects = st.mirrors, st.objects
        self.locs, self.reach, self.sig = st.locs, st.reach, st.sig
        self.sigt = st._sigt if st._sigt is not None else _Sig(st.sig)
        self.shape = (len(roots[0]), tuple(roots[1]))
        self.top = _top(roots, fresh)
        self.top_ids = list(map(id, self.top))
        #: [container, keys (None: a list), values, their ids, replay-input keys, key ids]
        self.records = [
            [
                c,
                keys,
                vals,
                list(map(id, vals)),
                live,
                None if keys is None else list(map(id, keys)),
            ]
            for c, keys, vals, live in st.records
        ]
        self.where = {id(r[0]): r for r in self.records}
        self._flatten()
        self.tensors = list(st.tensors)
        self.index = {id(t): p for p, t in enumerate(self.tensors)}
        self.once = [n == 1 for n in st.reach]
        self.props = _props(self.tensors)

    def check(self, roots: tuple[Any, Any, Any]) -> State | None:
        """The walk's :class:`State` for ``roots`` if it is sure to equal a full walk's (the
        replay-input mirrors are made current, as the walk does), else ``None``."""
        args, kwargs, _ = roots
        if len(args) != self.shape[0] or tuple(kwargs) != self.shape[1]:
            return None
        for o, made in self.mirrors:  # first: a mirror may put new tensors in the state
            now = type(o)._idrak_jit_inputs(o)
            if len(now) != len(made) or any(
                d is not d0 or k != k0 for (d, k), (d0, k0) in zip(now, made)
            ):
                return None
        for o, typ, d in self.objects:
            if type(o) is not typ or vars(o) is not d:
                return None
        repl: dict[int, Tensor] = {}
        top = _top(roots, self.fresh)
        if len(top) != len(self.top):
            return None
        if list(map(id, top)) != self.top_ids and not self._diff(self.top, top, None, {}, repl):
            return None
        changed = []
        for rec in () if self._same() else self.records:
            c, keys, vals, ids, live, kids = rec
            if keys is not None:
                if len(c) != len(keys) or list(map(id, c)) != kids:
                    return None
                if list(map(id, c.values())) != ids:
                    new = list(c.values())
                    if not self._diff(vals, new, keys, live, repl):
                        return None
                    changed.append((rec, new))
            elif list(map(id, c)) != ids:
                new = list(c)
                if len(new) != len(vals) or not self._diff(vals, new, None, live, repl):
                    return None
                changed.append((rec, new))
        ts = self.tensors
        if repl:
            ts = list(ts)
            for p, t in repl.items():
                ts[p] = t
            if len(set(map(id, ts))) != len(ts):  # a new tensor aliases another one
                return None
        if _props(ts) != self.props:
            return None
        # the same walk: keep the new values (and drop references to the old ones)
        for rec, new in changed:
            rec[2], rec[3] = new, list(map(id, new))
        if changed:
            self._flatten()
        self.top, self.top_ids = top, list(map(id, top))
        self._set_tensors(ts, repl)
        return self._state(ts)

    def rebound(self, st: State, moved: list[int]) -> None:
        """After a replay put new tensors in the slots of positions ``moved``: remember them
        (so the next check compares identities, and the old tensors can be freed)."""
        ts = list(self.tensors)
        repl = {}
        for p in moved:
            places = self._places.get(p)
            if places is None:
                places = self._places[p] = self._find(st.locs[p] or [])
            for box, key, i, vals, ids, flat, at in places:
                v = vals[i] = box[key]
                ids[i] = id(v)
                if flat is not None:
                    flat[at] = id(v)
            repl[p] = ts[p] = st.tensors[p]
        self._set_tensors(ts, repl)

    # ------------------------------------------------------------------------------------------
    def _find(self, locs: list[tuple[Any, Any]]) -> list[tuple[Any, ...]]:
        """Where the slots ``locs`` are in the records and the flat id lists."""
        out = []
        for box, key in locs:
            rec = self.where.get(id(box))
            if rec is None:  # a fresh container (the keyword dict): not checked by identity
                continue
            i = key if rec[1] is None else next(j for j, k in enumerate(rec[1]) if k is key)
            flat, at = self._offset.get(id(rec[0]), (None, 0))
            out.append((box, key, i, rec[2], rec[3], flat, at + i))
        return out

    def _flatten(self) -> None:
        """The plain dicts' and lists' lengths, keys and values as flat id lists, so that
        :meth:`_same` compares all of them in a few C-level passes."""
        ds = self._dicts = [r[0] for r in self.records if type(r[0]) is dict]
        ls = self._lists = [r[0] for r in self.records if type(r[0]) is list]
        self._other = [r for r in self.records if type(r[0]) not in (dict, list)]
        vids: list[int] = []
        lids: list[int] = []
        self._offset: dict[int, tuple[list[int] | None, int]] = {}
        for r in self.records:
            flat = vids if type(r[0]) is dict else lids if type(r[0]) is list else None
            if flat is not None:
                self._offset[id(r[0])] = (flat, len(flat))
                flat.extend(r[3])
        self._flat = (
            list(map(len, ds)),
            list(map(id, chain.from_iterable(ds))),
            vids,
            list(map(len, ls)),
            lids,
        )
        self._places: dict[int, list[tuple[Any, ...]]] = {}

    def _same(self) -> bool:
        """Whether every walked container holds exactly what the snapshot saw (keys, values,
        by identity)."""
        ds, ls = self._dicts, self._lists
        lens, kids, vids, llens, lids = self._flat
        if (
            list(map(len, ds)) != lens
            or list(map(id, chain.from_iterable(ds))) != kids
            or list(map(id, chain.from_iterable(map(dict.values, ds)))) != vids
            or list(map(len, ls)) != llens
            or list(map(id, chain.from_iterable(ls))) != lids
        ):
            return False
        for c, keys, _, ids, _, kids1 in self._other:
            if keys is not None:
                if list(map(id, c)) != kids1 or list(map(id, c.values())) != ids:
                    return False
            elif list(map(id, c)) != ids:
                return False
        return True

    def _set_tensors(self, ts: list[Tensor], repl: dict[int, Tensor]) -> None:
        for p, t in repl.items():
            self.index.pop(id(self.tensors[p]), None)
            self.index[id(t)] = p
        self.tensors = ts

    def _state(self, ts: list[Tensor]) -> State:
        st = State.__new__(State)
        st.tensors = list(ts)
        st.locs = self.locs
        st.sig, st.paths, st.inputs = self.sig, [], []
        st.records, st.objects, st.mirrors, st.reach = [], [], [], self.reach
        st._sigt = self.sigt
        st.checked = True
        return st

    def _diff(
        self,
        old: list[Any],
        new: list[Any],
        keys: list[Any] | None,
        live: dict[Any, bool],
        repl: dict[int, Tensor],
    ) -> bool:
        """Whether the changed items of one container leave the walk's signature as it was."""
        for i, (a, b) in enumerate(zip(old, new)):
            if a is b:
                continue
            if keys is not None and keys[i] in live:  # a replay input: its type must stay
                ta = type(a)
                if type(b) is not ta:
                    return False
                if ta is float or ta is int:
                    if live[keys[i]] and (a == 0) != (b == 0):
                        return False
                    continue
                if _numbers(a) and _numbers(b) and len(a) == len(b):
                    continue
                return False
            p = self.index.get(id(a))
            if (
                p is None
                or self.tensors[p] is not a
                or not self.once[p]
                or not isinstance(b, Tensor)
                or p in repl
            ):
                return False
            repl[p] = b
        return True
