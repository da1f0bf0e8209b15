"""``MLP(in_features, sizes)``: a stack of Linear layers with an activation between them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from idrak.nn.containers import Pipeline
from idrak.nn.layers import Linear, ReLU

__all__ = ["MLP"]


class MLP(Pipeline):
    """A multi-layer perceptron: ``Linear(in_features, sizes[0])``, an activation,
    ``Linear(sizes[0], sizes[1])``, ... and a last ``Linear`` with no activation after it.

    ``MLP(784, [64, 64, 64, 10])`` is 784 -> 64 -> 64 -> 64 -> 10 (four Linear layers, ReLU
    between them), the abdou_torch spelling. It is a :class:`~idrak.nn.Pipeline`, so ``mlp[0]``
    is the first Linear and ``mlp.parameters()`` every weight and bias.

    Args:
        in_features: the size of the input's last dimension.
        sizes: the output size of every Linear layer, the last one being the model's output.
        activation: a factory of the layer put between Linears (default :class:`ReLU`).
        bias: give every Linear a bias.

    Raises:
        ValueError: ``sizes`` empty, or a size that is not a positive integer (named).
    """

    def __init__(
        self,
        in_features: int,
        sizes: Sequence[int],
        *,
        activation: Callable[[], Any] = ReLU,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        sizes = list(sizes)
        if not sizes:
            raise ValueError("MLP needs at least one layer size, got sizes=[]")
        for s in [in_features, *sizes]:
            if not isinstance(s, int) or isinstance(s, bool) or s <= 0:
                raise ValueError(
                    f"MLP sizes must be positive integers, got {s!r} in "
                    f"MLP({in_features!r}, {sizes!r})"
                )
        steps: list[Any] = []
        for i, (a, b) in enumerate(zip([in_features, *sizes[:-1]], sizes)):
            if i:
                steps.append(activation())
            steps.append(Linear(a, b, bias=bias, device=device, dtype=dtype))
        super().__init__(*steps)
        self.__dict__["_sizes"] = (in_features, tuple(sizes))
