from jaxtyping import Float
from torch import Tensor


def head(x: Float[Tensor, "s d"], w: Float[Tensor, "d e"]) -> Float[Tensor, "s e"]:
    return x @ w
