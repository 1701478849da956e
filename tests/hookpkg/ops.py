"""Annotated and unannotated code, as an existing code base has it, with no `checked`."""

import dataclasses
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor


def project(x: Float[Tensor, "b n"], w: Float[Tensor, "m n"]) -> Float[Tensor, "b m"]:
    return x @ w.T


def wrong_return(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x.T


def plain(x: Any) -> Any:
    return x * 2


def unannotated(x, y):  # type: ignore[no-untyped-def]
    return x + y


def count(n: int) -> int:
    return n + 1


async def later(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x


project_alias = project
# Taken while the module runs: holds the functions as the body created them.
REGISTRY = {"plain": plain, "count": count, "project": project, "later": later}


class Scale(torch.nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))

    def forward(self, x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        return x * self.weight

    @staticmethod
    def pair(a: Float[Tensor, " n"], b: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return a + b

    def untyped(self, x: Any) -> Any:
        return x


@dataclasses.dataclass
class Pair:
    keys: Float[Tensor, "s d"]
    values: Float[Tensor, "s e"]
