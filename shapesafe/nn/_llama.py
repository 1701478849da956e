"""`Llama`: a decoder-only language model in the layout of Hugging Face transformers' Llama.

RMSNorm before each sublayer, a SwiGLU feed-forward, rotary position embeddings in the
half-split layout, grouped-query attention (fewer key/value heads than query heads) and a
KV cache for generation. The module names are `LlamaForCausalLM`'s (`model.embed_tokens`,
`model.layers.0.self_attn.q_proj`, ..., `model.norm`, `lm_head`), so the state dict of such
a model of the same config loads.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn
from torch.fx.experimental.proxy_tensor import get_proxy_mode

from .._checked import checked, raise_error
from .._errors import ShapeError
from .._join import kv_append
from .._masks import check_size
from . import _fastpath
from . import _inner as inner
from ._attention import _some_divisors
from ._embedding import Embedding
from ._linear import Linear, blame_input
from ._norm import RMSNorm


@dataclasses.dataclass(frozen=True)
class LlamaConfig:
    """The sizes of a `Llama`, under the names transformers' `LlamaConfig` gives them.

    - `vocab_size`: how many token ids.
    - `hidden_size`: the width of the residual stream.
    - `intermediate_size`: the feed-forward's inner width.
    - `num_hidden_layers`: how many decoder layers.
    - `num_attention_heads`: query heads per layer.
    - `num_key_value_heads`: key and value heads per layer; fewer than the query heads is
      grouped-query attention (each key/value head serves a group of query heads). Must
      divide `num_attention_heads`; `num_attention_heads` when None.
    - `max_position_embeddings`: the longest sequence, prompt and generated tokens together.
    - `rms_norm_eps`: added to the mean square in each RMSNorm.
    - `rope_theta`: the base of the rotary embedding's frequencies.
    - `tie_word_embeddings`: the output head shares the token embedding's weight.
    - `head_dim`: the size of each head; `hidden_size // num_attention_heads` when None.
    - `attention_bias`, `mlp_bias`: whether those projections learn a bias.
    - `initializer_range`: the standard deviation of the initial weights.

    The defaults of the sizes are small (a model to try things on); the other defaults are
    transformers'.
    """

    vocab_size: int
    hidden_size: int = 64
    intermediate_size: int = 172
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int | None = None
    max_position_embeddings: int = 128
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False
    head_dim: int | None = None
    attention_bias: bool = False
    mlp_bias: bool = False
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        op = "LlamaConfig"
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_attention_heads"):
            check_size(op, name, getattr(self, name), minimum=1)
        check_size(op, "num_hidden_layers", self.num_hidden_layers, minimum=0)
        check_size(op, "max_position_embeddings", self.max_position_embeddings, minimum=1)
        heads = self.num_attention_heads
        if self.head_dim is None and self.hidden_size % heads != 0:
            raise ValueError(
                f"{op}(): num_attention_heads={heads} must divide hidden_size="
                f"{self.hidden_size}; try one of {_some_divisors(self.hidden_size)[:12]}, "
                "or set head_dim"
            )
        if self.head_dim is not None:
            check_size(op, "head_dim", self.head_dim, minimum=1)
        if self.kv_heads_or_default() and heads % self.kv_heads_or_default() != 0:
            raise ValueError(
                f"{op}(): num_key_value_heads={self.num_key_value_heads} must divide "
                f"num_attention_heads={heads}; try one of {_some_divisors(heads)[:12]}"
            )
        if self.head_dim_or_default() % 2 != 0:
            raise ValueError(
                f"{op}(): head_dim={self.head_dim_or_default()} must be even: rotary "
                "embeddings turn its two halves as pairs"
            )

    @classmethod
    def from_transformers(cls, config: object) -> "LlamaConfig":
        """The config of a transformers `LlamaConfig` (or any object with its field names).

        Raises `ValueError` for what `Llama` does not compute as transformers would: a
        scaled rotary embedding (`rope_scaling`, `rope_type` other than "default") or an
        activation other than SiLU.
        """
        rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None)
        rope = rope if isinstance(rope, dict) else {}
        kind = rope.get("rope_type", rope.get("type", "default"))
        if kind != "default":
            raise ValueError(
                f"LlamaConfig.from_transformers(): rope_type {kind!r} is not supported, "
                "only the default (unscaled) rotary embedding"
            )
        act = getattr(config, "hidden_act", "silu")
        if act != "silu":
            raise ValueError(
                f"LlamaConfig.from_transformers(): hidden_act {act!r} is not supported, "
                "only 'silu' (SwiGLU)"
            )
        theta = rope.get("rope_theta", getattr(config, "rope_theta", cls.rope_theta))
        names = [f.name for f in dataclasses.fields(cls) if f.name != "rope_theta"]
        given = {n: getattr(config, n) for n in names if hasattr(config, n)}
        return cls(**given, rope_theta=float(theta))

    def kv_heads_or_default(self) -> int:
        """`num_key_value_heads`, or `num_attention_heads` when None."""
        kv = self.num_key_value_heads
        if kv is None:
            return self.num_attention_heads
        return check_size("LlamaConfig", "num_key_value_heads", kv, minimum=1)

    def head_dim_or_default(self) -> int:
        """`head_dim`, or `hidden_size // num_attention_heads` when None."""
        if self.head_dim is not None:
            return self.head_dim
        return self.hidden_size // self.num_attention_heads


class KVCache:
    """The keys and values of the positions a `Llama` has already seen, one pair per layer.

    Pass the same cache to successive calls of `Llama.forward`: each call appends its
    positions, so the next call feeds only the new tokens. Each layer's keys and values are
    `(batch, num_key_value_heads, seen, head_dim)`.

    **Arguments:**

    - `num_layers`: the model's `num_hidden_layers`.
    """

    def __init__(self, num_layers: int) -> None:
        check_size("KVCache", "num_layers", num_layers)
        self.keys: list[Tensor | None] = [None] * num_layers
        self.values: list[Tensor | None] = [None] * num_layers

    def seen(self) -> int:
        """How many positions the cache holds (a size, never a tensor's value)."""
        k = self.keys[0] if self.keys else None
        return 0 if k is None else k.shape[2]

    def layer(self, layer: int) -> tuple[Tensor | None, Tensor | None]:
        """`layer`'s keys and values, as `restore` takes them."""
        return self.keys[layer], self.values[layer]

    def restore(self, layer: int, held: tuple[Tensor | None, Tensor | None]) -> None:
        """Put back what `layer(layer)` returned (after a call that failed)."""
        self.keys[layer], self.values[layer] = held

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append `layer`'s new keys and values `(batch, kv_heads, seq, head_dim)`; return
        all of that layer's, `(batch, kv_heads, seen + seq, head_dim)`."""
        return self._update(layer, k, v, kv_append)

    def _update(
        self, layer: int, k: Tensor, v: Tensor, append: Callable[[Tensor, Tensor], Tensor]
    ) -> tuple[Tensor, Tensor]:
        """`update`, appending with `append` (`kv_append` or its fast form)."""
        old_k, old_v = self.keys[layer], self.values[layer]
        if old_k is not None and old_v is not None:
            k = append(old_k, k)
            v = append(old_v, v)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def __repr__(self) -> str:
        return f"KVCache(num_layers={len(self.keys)}, seen={self.seen()})"


_FAKE = torch._C._TorchDispatchModeKey.FAKE


def _tracing() -> bool:
    """Whether dynamo, export or `make_fx` is tracing this call (its tensors are not data):
    compiling, a proxy mode, an active fake mode, or a tracing context (what
    `torch._guards.detect_fake_mode` looks at without inputs, read directly: it costs a
    generated token a few microseconds)."""
    return (
        torch.compiler.is_compiling()
        or get_proxy_mode() is not None
        or torch._C._get_dispatch_mode(_FAKE) is not None
        or torch._guards.TracingContext.try_get() is not None
    )


class RotaryEmbedding(nn.Module):
    """The cosines and sines of rotary position embeddings, for given positions.

    Frequency `i` of `head_dim // 2` turns at `theta ** (-2 i / head_dim)` radians per
    position; the tables repeat them for the two halves of a head (the half-split layout).
    Holds no parameters or buffers: the tables follow from the config, as in transformers.

    **Arguments:**

    - `head_dim`: the size of each head (even).
    - `theta`: the base of the frequencies (`rope_theta`).
    - `max_positions`: the most positions `span` keeps tables for; no limit when None.
    """

    head_dim: int
    theta: float
    max_positions: int | None

    def __init__(
        self, head_dim: int, theta: float = 10000.0, max_positions: int | None = None
    ) -> None:
        super().__init__()
        self.head_dim = check_size("RotaryEmbedding", "head_dim", head_dim, minimum=2)
        if head_dim % 2 != 0:
            raise ValueError(f"RotaryEmbedding(): head_dim must be even, got {head_dim}")
        self.theta = theta
        self.max_positions = max_positions
        #: Tables of positions 0 to n - 1 by (device, dtype), kept by `span`: not state.
        self._held: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor]] = {}

    @checked
    def forward(
        self, positions: Int[Tensor, " seq"], dtype: torch.dtype = torch.float32
    ) -> tuple[
        Float[Tensor, "seq head_dim={self.head_dim}"], Float[Tensor, "seq head_dim={self.head_dim}"]
    ]:
        """Positions `(seq,)` to `cos` and `sin`, each `(seq, head_dim)` in `dtype` (the
        angles are computed in float32)."""
        return inner.ops().rope_tables(positions, self.head_dim, self.theta, dtype)

    def span(
        self, start: int, seq: int, dtype: torch.dtype, device: torch.device
    ) -> tuple[Tensor, Tensor]:
        """The tables of positions `start` to `start + seq - 1`, each `(seq, head_dim)`.

        Eagerly, slices of tables this module computed once for the first `n` positions
        (`n` doubles as needed), so a generated token costs no trigonometry; the values are
        those of `forward`, which computes each position on its own. Compiled, exported or
        traced, `forward`: a traced table must not be kept in the module.
        """
        end = start + seq
        if _tracing():
            tables: tuple[Tensor, Tensor] = self(torch.arange(start, end, device=device), dtype)
            return tables
        key = (device, dtype)
        held = self._held.get(key)
        if held is None or held[0].shape[0] < end:
            n = max(end, 64, 0 if held is None else 2 * held[0].shape[0])
            if self.max_positions is not None:
                n = max(end, min(n, self.max_positions))
            held = self._held[key] = self(torch.arange(n, device=device), dtype)
        cos, sin = held
        return cos[start:end], sin[start:end]

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, theta={self.theta}"


class SwiGLU(nn.Module):
    """Llama's feed-forward: `down_proj(silu(gate_proj(x)) * up_proj(x))`.

    **Arguments:**

    - `hidden_size`: size of the input and output axis.
    - `intermediate_size`: size of the inner axis.
    - `bias`: whether the three projections learn a bias.
    - `device`, `dtype`: where and how to create the parameters.
    """

    hidden_size: int
    intermediate_size: int

    def __init__(
        self,
        hidden_size: int,
        intermediate_size: int,
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.hidden_size = check_size("SwiGLU", "hidden_size", hidden_size, minimum=1)
        self.intermediate_size = check_size(
            "SwiGLU", "intermediate_size", intermediate_size, minimum=1
        )
        self.gate_proj = Linear(hidden_size, intermediate_size, bias, device, dtype)
        self.up_proj = Linear(hidden_size, intermediate_size, bias, device, dtype)
        self.down_proj = Linear(intermediate_size, hidden_size, bias, device, dtype)

    @checked
    def forward(
        self, x: Float[Tensor, "*batch hidden={self.hidden_size}"]
    ) -> Float[Tensor, "*batch hidden={self.hidden_size}"]:
        """`(*batch, hidden)` to `(*batch, hidden)`, through `(*batch, intermediate)`."""
        return inner.run(self, x, self._run)

    def _run(self, x: Tensor, o: inner.Ops) -> Tensor:
        """The body of `forward`, with the ops `o` (see `_inner`)."""
        gate, up = o.call_child(self, "gate_proj", x), o.call_child(self, "up_proj", x)
        out: Tensor = o.call_child(self, "down_proj", o.hadamard(o.silu(gate), up))
        return out

    def extra_repr(self) -> str:
        return f"hidden_size={self.hidden_size}, intermediate_size={self.intermediate_size}"


class LlamaAttention(nn.Module):
    """Causal self-attention with rotary embeddings, grouped-query heads and a KV cache.

    `q_proj` makes `num_attention_heads` query heads; `k_proj` and `v_proj` make
    `num_key_value_heads` heads, each shared by a group of query heads; `o_proj` mixes the
    heads back into the residual stream.

    **Arguments:**

    - `config`: a `LlamaConfig`.
    - `layer_idx`: which layer this is: where its keys and values go in a `KVCache`.
    """

    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    layer_idx: int

    def __init__(self, config: LlamaConfig, layer_idx: int = 0) -> None:
        super().__init__()
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.kv_heads_or_default()
        self.head_dim = config.head_dim_or_default()
        self.layer_idx = check_size("LlamaAttention", "layer_idx", layer_idx)
        bias = config.attention_bias
        q_size, kv_size = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        self.q_proj = Linear(config.hidden_size, q_size, bias)
        self.k_proj = Linear(config.hidden_size, kv_size, bias)
        self.v_proj = Linear(config.hidden_size, kv_size, bias)
        self.o_proj = Linear(q_size, config.hidden_size, bias)

    @checked
    def forward(
        self,
        x: Float[Tensor, "batch seq hidden={self.hidden_size}"],
        cos: Float[Tensor, "seq head_dim={self.head_dim}"],
        sin: Float[Tensor, "seq head_dim={self.head_dim}"],
        mask: Bool[Tensor, "seq total"] | None = None,
        cache: KVCache | None = None,
    ) -> Float[Tensor, "batch seq hidden={self.hidden_size}"]:
        """`(batch, seq, hidden)` to `(batch, seq, hidden)`.

        **Arguments:**

        - `x`: the layer's input.
        - `cos`, `sin`: the rotary table at `x`'s positions (see `RotaryEmbedding`).
        - `mask`: True where query `i` may attend to key `j`, over the cached positions and
          the new ones; causal (`j <= i`) when None, for a call without a cache.
        - `cache`: earlier positions' keys and values; this call appends its own.
        """
        return self._forward(x, cos, sin, mask, cache, inner.ops())

    def _forward(
        self,
        x: Tensor,
        cos: Tensor,
        sin: Tensor,
        mask: Tensor | None,
        cache: KVCache | None,
        o: inner.Ops,
    ) -> Tensor:
        """`forward`'s body, with the ops `o` (see `_inner`), and what it raises."""
        held = None if cache is None else cache.layer(self.layer_idx)
        try:
            return self._attend(x, cos, sin, mask, cache, o)
        except RuntimeError as e:

            def again(o: inner.Ops) -> Tensor:
                if cache is not None and held is not None:
                    cache.restore(self.layer_idx, held)  # as before the failed call
                return self._attend(x, cos, sin, mask, cache, o)

            error = inner.explain(e, again)
            if cache is not None and held is not None:
                cache.restore(self.layer_idx, held)
            raise blame_input(self, x, error) from None
        except ShapeError as e:
            if cache is not None and held is not None:
                cache.restore(self.layer_idx, held)  # a failed call appends nothing
            raise blame_input(self, x, e) from None

    def _attend(
        self,
        x: Tensor,
        cos: Tensor,
        sin: Tensor,
        mask: Tensor | None,
        cache: KVCache | None,
        o: inner.Ops,
    ) -> Tensor:
        """The body of `forward`, with the ops `o` (see `_inner`)."""
        child = o.call_child
        # q (batch, heads, seq, head_dim); k and v (batch, kv_heads, seq, head_dim).
        q = o.split_heads(child(self, "q_proj", x), self.num_heads)
        k = o.split_heads(child(self, "k_proj", x), self.num_kv_heads)
        q, k = o.apply_rope(q, k, cos, sin)
        v = o.split_heads(child(self, "v_proj", x), self.num_kv_heads)
        # The attention op shares each key/value head with its group of query heads.
        if cache is None or cache.__class__ is KVCache:
            if cache is not None:
                # The cache is the caller's: its append is checked (`o.kv_append`); k and v
                # are then (batch, kv_heads, total, head_dim).
                k, v = cache._update(self.layer_idx, k, v, o.kv_append)
            mixed = o.grouped_attention(q, k, v, mask, mask is None)
        else:
            # A subclass's `update` may return any keys and values: the op checks them.
            k, v = cache.update(self.layer_idx, k, v)
            mixed = o.attention(q, k, v, mask=mask, causal=mask is None)
        out: Tensor = child(self, "o_proj", o.merge_heads(mixed))
        return out

    def extra_repr(self) -> str:
        return (
            f"num_heads={self.num_heads}, num_kv_heads={self.num_kv_heads}, "
            f"head_dim={self.head_dim}, layer_idx={self.layer_idx}"
        )


class LlamaDecoderLayer(nn.Module):
    """`x + self_attn(input_layernorm(x))`, then `x + mlp(post_attention_layernorm(x))`.

    **Arguments:**

    - `config`: a `LlamaConfig`.
    - `layer_idx`: which layer this is (see `LlamaAttention`).
    """

    hidden_size: int
    head_dim: int

    def __init__(self, config: LlamaConfig, layer_idx: int = 0) -> None:
        super().__init__()
        self.hidden_size = config.hidden_size
        self.head_dim = config.head_dim_or_default()
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = SwiGLU(config.hidden_size, config.intermediate_size, config.mlp_bias)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    @checked
    def forward(
        self,
        x: Float[Tensor, "batch seq hidden={self.hidden_size}"],
        cos: Float[Tensor, "seq head_dim={self.head_dim}"],
        sin: Float[Tensor, "seq head_dim={self.head_dim}"],
        mask: Bool[Tensor, "seq total"] | None = None,
        cache: KVCache | None = None,
    ) -> Float[Tensor, "batch seq hidden={self.hidden_size}"]:
        """`(batch, seq, hidden)` to `(batch, seq, hidden)`; the arguments as `LlamaAttention`'s."""
        return self._forward(x, cos, sin, mask, cache, inner.ops())

    def _forward(
        self,
        x: Tensor,
        cos: Tensor,
        sin: Tensor,
        mask: Tensor | None,
        cache: KVCache | None,
        o: inner.Ops,
    ) -> Tensor:
        """`forward`'s body, with the ops `o` (see `_inner`)."""
        try:
            child = o.call_child
            normed = child(self, "input_layernorm", x)
            h = o.add(x, child(self, "self_attn", normed, cos, sin, mask, cache))
            return o.add(h, child(self, "mlp", child(self, "post_attention_layernorm", h)))
        except (ShapeError, RuntimeError) as e:
            raise blame_input(self, x, e) from None


def _too_long(seq: int, past: int, limit: int, cached: bool) -> ValueError:
    held = f" after the {past} positions in the cache" if cached else ""
    return ValueError(
        f"Llama.forward(): seq={seq}{held} goes past max_position_embeddings={limit}; "
        f"keep the last {limit - past} tokens, input_ids[:, -{limit - past}:]"
    )


class LlamaModel(nn.Module):
    """The token embedding, the decoder layers and the final RMSNorm: ids to hidden states.

    **Arguments:**

    - `config`: a `LlamaConfig`.
    """

    config: LlamaConfig
    hidden_size: int

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.hidden_size = config.hidden_size
        self.embed_tokens = Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(
            [LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers)]
        )
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(
            config.head_dim_or_default(), config.rope_theta, config.max_position_embeddings
        )

    @checked
    def forward(
        self, input_ids: Int[Tensor, "batch seq"], cache: KVCache | None = None
    ) -> Float[Tensor, "batch seq hidden={self.hidden_size}"]:
        """Token ids `(batch, seq)` to hidden states `(batch, seq, hidden)`.

        With a `cache`, the ids continue the positions it holds, and their keys and values
        are appended to it.
        """
        return self._forward(input_ids, cache, inner.ops())

    def _forward(self, input_ids: Tensor, cache: KVCache | None, o: inner.Ops) -> Tensor:
        """`forward`'s body, with the ops `o` (see `_inner`)."""
        seq = input_ids.shape[1]
        if cache is not None and len(cache.keys) != len(self.layers):
            raise ValueError(
                f"Llama.forward(): the cache holds {len(cache.keys)} layers, the model has "
                f"{len(self.layers)}; make one with model.new_cache()"
            )
        past = 0 if cache is None else cache.seen()
        limit = self.config.max_position_embeddings
        if past + seq > limit:
            raise_error(_too_long, seq, past, limit, cache is not None)
        device = input_ids.device
        call = o.call
        try:
            x = o.call_child(self, "embed_tokens", input_ids)  # (batch, seq, hidden)
            # The tables of positions past to past + seq - 1, (seq, head_dim) each.
            cos, sin = self.rotary_emb.span(past, seq, x.dtype, device)
            mask = None
            if cache is not None:
                # Query i sits at position past + i and sees every key up to it.
                queries = torch.arange(past, past + seq, device=device)[:, None]
                mask = torch.arange(past + seq, device=device)[None, :] <= queries
            for layer in self.layers:
                x = call(layer, x, cos, sin, mask, cache)
            out: Tensor = o.call_child(self, "norm", x)
        except (ShapeError, RuntimeError) as e:
            raise blame_input(self, input_ids, e, "input_ids") from None
        return out


class Llama(nn.Module):
    """A Llama-style causal language model: `LlamaModel`, then the output head `lm_head`.

    **Arguments:**

    - `config`: a `LlamaConfig`.

    The state-dict keys are those of transformers' `LlamaForCausalLM`, so
    `Llama(config).load_state_dict(hf_model.state_dict())` loads a model of the same config.
    Weights start as in transformers: normal with std `initializer_range`, biases zero,
    norms one.
    """

    config: LlamaConfig
    vocab_size: int

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.vocab_size = config.vocab_size
        self.model = LlamaModel(config)
        self.lm_head = Linear(config.hidden_size, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        if config.tie_word_embeddings:
            # Both are (vocab, hidden): one row per token, read in by embed_tokens and out by
            # lm_head.
            self.lm_head.weight = self.model.embed_tokens.weight

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            with torch.no_grad():
                module.weight.normal_(0.0, self.config.initializer_range)
                bias = getattr(module, "bias", None)
                if isinstance(bias, Tensor):
                    bias.zero_()

    @checked
    def forward(
        self, input_ids: Int[Tensor, "batch seq"], cache: KVCache | None = None
    ) -> Float[Tensor, "batch seq vocab={self.vocab_size}"]:
        """Token ids `(batch, seq)` to next-token logits `(batch, seq, vocab)`.

        With a `cache` (see `KVCache`), the ids continue the positions it holds.
        """
        call = inner.ops().call
        try:
            out: Tensor = call(self.lm_head, call(self.model, input_ids, cache))
        except (ShapeError, RuntimeError) as e:
            raise blame_input(self, input_ids, e, "input_ids") from None
        return out

    def new_cache(self) -> KVCache:
        """An empty `KVCache` for this model."""
        return KVCache(self.config.num_hidden_layers)

    @torch.no_grad()
    def generate(
        self,
        input_ids: Int[Tensor, "batch seq"],
        max_new_tokens: int,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Int[Tensor, "batch total"]:
        """Extend `input_ids` by `max_new_tokens` tokens, one at a time, with a KV cache.

        **Arguments:**

        - `input_ids`: the prompt, `(batch, seq)`.
        - `max_new_tokens`: how many tokens to add.
        - `do_sample`: sample each token; otherwise take the most likely one (greedy).
        - `temperature`: divides the logits before sampling.
        - `top_k`: sample among the `top_k` most likely tokens only.
        - `generator`: the random generator for sampling, for reproducible samples.

        **Returns:**

        `(batch, seq + max_new_tokens)` token ids, the prompt first.
        """
        check_size("Llama.generate", "max_new_tokens", max_new_tokens)
        if do_sample and not temperature > 0:
            raise ValueError(f"Llama.generate(): temperature must be > 0, got {temperature}")
        if top_k is not None:
            check_size("Llama.generate", "top_k", top_k, minimum=1)
        limit = self.config.max_position_embeddings
        prompt = input_ids.shape[-1]
        if prompt + max_new_tokens > limit:
            raise ValueError(
                f"Llama.generate(): a prompt of {prompt} tokens and max_new_tokens="
                f"{max_new_tokens} go past max_position_embeddings={limit}"
            )
        cache = self.new_cache()
        tokens = [input_ids]
        step = input_ids
        for _ in range(max_new_tokens):
            logits = self(step, cache)[:, -1, :]  # (batch, vocab)
            if do_sample:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = torch.softmax(logits, dim=-1)
                step = torch.multinomial(probs, 1, generator=generator)  # (batch, 1)
            else:
                step = logits.argmax(dim=-1, keepdim=True)  # (batch, 1)
            tokens.append(step)
        return torch.cat(tokens, dim=1)

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"vocab_size={c.vocab_size}, hidden_size={c.hidden_size}, "
            f"num_hidden_layers={c.num_hidden_layers}, num_attention_heads="
            f"{c.num_attention_heads}, num_key_value_heads={c.kv_heads_or_default()}"
        )


def _layer_form(cls: Any) -> None:
    """The fast form (see `_fastpath`) of `LlamaAttention` or `LlamaDecoderLayer`: the
    input's contract by a few comparisons (a float `x` `(batch, seq, hidden)`, float tables
    `(seq, head_dim)`, no mask or a Bool `(seq, total)`, no cache or a `KVCache`, not a
    subclass, whose methods would run inside the body), children of shapesafe's own, the
    body, then the return's contract: `x`'s shape."""
    body = cls._forward
    floats = _fastpath.FLOATS
    children_plain = _fastpath.children_plain

    def fast(
        m: Any,
        x: Tensor,
        cos: Tensor,
        sin: Tensor,
        mask: Tensor | None = None,
        cache: KVCache | None = None,
    ) -> Any:
        hidden, head_dim = m.hidden_size, m.head_dim
        if (
            x.__class__ is Tensor
            and x.dtype in floats
            and hidden.__class__ is int
            and head_dim.__class__ is int
            and len(shape := x.shape) == 3
            and shape[2] == hidden
            and cos.__class__ is Tensor
            and sin.__class__ is Tensor
            and cos.dtype in floats
            and sin.dtype in floats
            and cos.shape == (seq := shape[1], head_dim)
            and sin.shape == (seq, head_dim)
            and (
                mask is None
                or (
                    mask.__class__ is Tensor
                    and mask.dtype is torch.bool
                    and mask.ndim == 2
                    and mask.shape[0] == seq
                )
            )
            and (cache is None or cache.__class__ is KVCache)
            and children_plain(m)
        ):
            out = body(m, x, cos, sin, mask, cache, inner.plain_ops())
            if out.__class__ is Tensor and out.dtype in floats and out.shape == shape:
                return out
            arguments = {"self": m, "x": x, "cos": cos, "sin": sin, "mask": mask, "cache": cache}
            return _fastpath.returned(m, arguments, out)
        return m(x, cos, sin, mask, cache)

    _fastpath.register(cls, fast)


def _fast_model(m: LlamaModel, input_ids: Tensor, cache: KVCache | None = None) -> Any:
    """`LlamaModel`'s fast form (see `_fastpath`): integer ids `(batch, seq)`, no cache or a
    `KVCache`, children of shapesafe's own; the body; then a float `(batch, seq, hidden)`."""
    hidden = m.hidden_size
    if not (
        input_ids.__class__ is Tensor
        and input_ids.dtype in _fastpath.INTS
        and input_ids.ndim == 2
        and hidden.__class__ is int
        and (cache is None or cache.__class__ is KVCache)
        and _fastpath.children_plain(m)
    ):
        return m(input_ids, cache)
    out = m._forward(input_ids, cache, inner.plain_ops())
    if (
        out.__class__ is Tensor
        and out.dtype in _fastpath.FLOATS
        and out.ndim == 3
        and out.shape[:2] == input_ids.shape
        and out.shape[2] == hidden
    ):
        return out
    return _fastpath.returned(m, {"self": m, "input_ids": input_ids, "cache": cache}, out)


_layer_form(LlamaAttention)
_layer_form(LlamaDecoderLayer)
_fastpath.same_shape(
    SwiGLU, "hidden_size", run=lambda m, x: inner.run(m, x, m._run, "x", inner.plain_ops())
)
_fastpath.register(LlamaModel, _fast_model)
_fastpath.KNOWN.add(RotaryEmbedding)
