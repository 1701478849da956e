"""References taken while the module runs, as a model library has them: an activation table,
a default argument, a registry filled by a decorator."""

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import torch
from jaxtyping import Float
from torch import Tensor

REGISTERED: list[Callable[..., Any]] = []


def register(fn: Callable[..., Any]) -> Callable[..., Any]:
    REGISTERED.append(fn)
    return fn


@register
def gelu(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return torch.nn.functional.gelu(x)


def relu(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return torch.relu(x)


ACTS = {"gelu": gelu, "relu": relu}


def apply(x: Any, act: Callable[..., Any] = gelu) -> Any:
    return act(x)


def pick(name: Literal["gelu", "relu"]) -> str:
    return name


def make_hook(scale: float) -> Callable[..., Any]:
    def hook(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        return x * scale

    def untyped(x: Any) -> Any:
        return x

    return hook if scale else untyped


class MLP(torch.nn.Module):
    def __init__(self, n: int, act: str = "gelu") -> None:
        super().__init__()
        self.linear = torch.nn.Linear(n, n)
        self.act_fn = ACTS[act]

    def forward(self, x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        return self.act_fn(self.linear(x))


# Calls made while the module is imported are checked too.
WARMED = gelu(torch.zeros(2, 3)).shape


class Frozen(type):
    """A metaclass that forbids setting attributes on its classes."""

    def __setattr__(cls, name: str, value: Any) -> None:
        raise AttributeError(f"{cls.__name__} is frozen")


class Constants(metaclass=Frozen):
    def scale(self, x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return 2 * x


@dataclasses.dataclass(frozen=True)
class Span:
    start: Float[Tensor, " n"]
    stop: Float[Tensor, " n"]
