"""What a model run will cost in memory, estimated from sizes alone before anything runs.

    cost = config_cost(model.cfg, tokens=len(ids))        # our configs (core/config.py)
    cost = sequence_cost(n_layers=12, n_heads=12, d_model=768, tokens=1024,
                         n_params=124_000_000)            # any model, from plain numbers
    check(cost)            # BudgetError (a ValueError) with a message ready to show, if too big

The estimate, in bytes (float32, 4 bytes a number), for every stack of blocks:
- attention weights: layers × heads × Tq × Tk × 4 for self-attention (Tq = Tk = T) and for
  cross-attention (Tq = target length, Tk = source length); batch B multiplies everything;
- scores: as much again while a forward records attention — our MultiHeadAttention keeps each
  layer's scores beside its weights until the forward returns (measured: peak ≈ 2.1 × weights);
- working memory: one layer's softmax/mask scratch (2 × that layer's weights) plus activations,
  ACTIVATION_MULTIPLE × B × T × d_model × 4 per layer (the residual stream, q, k, v, the heads'
  concatenation, the norms) plus 2 × B × T × d_ff × 4 (the feed-forward hidden and its GELU);
- parameters: their count × 4.
A ViT's T is its patch count plus the CLS token. tests/test_budget.py checks the estimate is
within a factor of 2 of the measured peak of real forwards.

One limit, MEMORY_LIMIT_BYTES (2 GB), bounds a run's total; the environment variable
ATTNVIZ_MEMORY_LIMIT_MB (a number of megabytes, e.g. 8000) overrides it. torch and numpy only.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from .config import Seq2SeqConfig, TransformerConfig, ViTConfig, parameter_count

BYTES = 4                                   # float32
MEMORY_LIMIT_BYTES = 2_000_000_000
ENV_VAR = "ATTNVIZ_MEMORY_LIMIT_MB"
ACTIVATION_MULTIPLE = 10                    # × B × T × d_model per layer, see above
_log = logging.getLogger(__name__)


class BudgetError(ValueError):
    """A run (or a model) that would need more memory than the limit; str() is the message
    for the user. `.cost` (a Cost) and `.limit` (bytes) say by how much."""

    def __init__(self, message: str, cost: "Cost", limit: int):
        super().__init__(message)
        self.cost, self.limit = cost, limit


@dataclass(frozen=True)
class Stack:
    """n_layers identical blocks over `tokens` positions; with cross_tokens > 0 each block also
    attends to that many positions of another stack (a decoder's cross-attention)."""
    n_layers: int
    n_heads: int
    d_model: int
    tokens: int
    cross_tokens: int = 0
    d_ff: int = 0                           # 0 means 4 × d_model


@dataclass(frozen=True)
class Cost:
    """Bytes a run needs, by part; `total` is what the limit bounds."""
    weights_bytes: int                      # every head's attention weights, every layer
    scores_bytes: int                       # the scores kept beside them while recording
    working_bytes: int                      # one layer's attention scratch + activations
    parameter_bytes: int

    @property
    def total(self) -> int:
        return self.weights_bytes + self.scores_bytes + self.working_bytes + self.parameter_bytes


def _count(value, label: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{label} must be a whole number ≥ {low}, got {value!r}")
    return value


def estimate(stacks, *, batch: int = 1, n_params: int = 0, recorded: bool = True) -> Cost:
    """The Cost of one forward through `stacks` (Stack objects, in any order).
    recorded: the forward returns attention weights (the explorer pages always do); False
    counts only the working memory of a fused forward."""
    batch, n_params = _count(batch, "batch", 1), _count(n_params, "n_params")
    weights = largest = act = 0
    for s in stacks:
        L, H = _count(s.n_layers, "n_layers"), _count(s.n_heads, "n_heads", 1)
        T, Tc = _count(s.tokens, "tokens"), _count(s.cross_tokens, "cross_tokens")
        D = _count(s.d_model, "d_model", 1)
        ff = _count(s.d_ff, "d_ff") or 4 * D
        layer = batch * H * (T * T + T * Tc) * BYTES                 # (B, H, T, T + Tc)
        weights += L * layer
        largest = max(largest, layer if L else 0)
        act += L * batch * T * (ACTIVATION_MULTIPLE * D + 2 * ff) * BYTES
    return Cost(weights_bytes=weights if recorded else 0,
                scores_bytes=weights if recorded else 0,
                working_bytes=2 * largest + act, parameter_bytes=n_params * BYTES)


def sequence_cost(*, n_layers: int, n_heads: int, d_model: int, tokens: int, d_ff: int = 0,
                  n_params: int = 0, batch: int = 1, recorded: bool = True) -> Cost:
    """An encoder-only or decoder-only model (BERT, GPT-2, ours) on `tokens` positions."""
    return estimate([Stack(n_layers, n_heads, d_model, tokens, 0, d_ff)], batch=batch,
                    n_params=n_params, recorded=recorded)


def seq2seq_cost(*, n_layers: int, n_dec_layers: int, n_heads: int, d_model: int,
                 src_tokens: int, tgt_tokens: int, d_ff: int = 0, n_params: int = 0,
                 batch: int = 1, recorded: bool = True) -> Cost:
    """An encoder-decoder: encoder self-attention over the source, decoder self-attention
    over the target and cross-attention from target to source."""
    return estimate([Stack(n_layers, n_heads, d_model, src_tokens, 0, d_ff),
                     Stack(n_dec_layers, n_heads, d_model, tgt_tokens, src_tokens, d_ff)],
                    batch=batch, n_params=n_params, recorded=recorded)


def vit_tokens(image_size: int, patch_size: int, cls_tokens: int = 1) -> int:
    """Positions a ViT attends over: (image_size // patch_size)² patches plus the CLS token."""
    image_size, patch_size = _count(image_size, "image_size", 1), _count(patch_size, "patch_size", 1)
    return (image_size // patch_size) ** 2 + _count(cls_tokens, "cls_tokens")


def vit_cost(*, n_layers: int, n_heads: int, d_model: int, image_size: int, patch_size: int,
             d_ff: int = 0, n_params: int = 0, batch: int = 1, recorded: bool = True) -> Cost:
    """A vision transformer on one square image."""
    return sequence_cost(n_layers=n_layers, n_heads=n_heads, d_model=d_model, d_ff=d_ff,
                         tokens=vit_tokens(image_size, patch_size), n_params=n_params,
                         batch=batch, recorded=recorded)


def config_cost(cfg: TransformerConfig, tokens: int | None = None,
                target_tokens: int | None = None, *, batch: int = 1,
                recorded: bool = True) -> Cost:
    """The Cost of one forward of the model `cfg` describes. tokens: the input's length
    (default cfg.max_len); target_tokens: a seq2seq model's target length (default max_len).
    A ViT's length is fixed by its config (tokens is ignored)."""
    if getattr(cfg, "d_memory", None) is not None:     # the GRU pair (core.rnn_config): one
        src = cfg.max_len if tokens is None else tokens  # additive head, target over source
        tgt = cfg.max_len if target_tokens is None else target_tokens
        return estimate([Stack(1, 1, cfg.d_memory, tgt, src, 0)], batch=batch,
                        n_params=parameter_count(cfg), recorded=recorded)
    common = dict(n_heads=cfg.n_heads, d_model=cfg.d_model, d_ff=cfg.ff_dim,
                  n_params=parameter_count(cfg), batch=batch, recorded=recorded)
    if isinstance(cfg, ViTConfig):
        return vit_cost(n_layers=cfg.n_layers, image_size=cfg.image_size,
                        patch_size=cfg.patch_size, **common)
    tokens = cfg.max_len if tokens is None else tokens
    if isinstance(cfg, Seq2SeqConfig):
        return seq2seq_cost(n_layers=cfg.n_layers, n_dec_layers=cfg.dec_layers,
                            src_tokens=tokens, tgt_tokens=cfg.max_len if target_tokens is None
                            else target_tokens, **common)
    return sequence_cost(n_layers=cfg.n_layers, tokens=tokens, **common)


def memory_limit() -> int:
    """The limit in bytes: ATTNVIZ_MEMORY_LIMIT_MB if set to a positive number, else
    MEMORY_LIMIT_BYTES (an unusable value is logged and ignored)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw:
        try:
            mb = float(raw)
            if mb > 0 and mb < 1e12:
                return int(mb * 1e6)
        except ValueError:
            pass
        _log.warning("%s=%r is not a positive number of megabytes; using the default %s",
                     ENV_VAR, raw, human(MEMORY_LIMIT_BYTES))
    return MEMORY_LIMIT_BYTES


def human(n: float) -> str:
    """Bytes for people: '3.2 GB', '350 MB', '12 KB' (powers of 1000)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{int(n)} bytes"


def check(cost: Cost, *, limit: int | None = None, what: str = "This input",
          advice: str = "use a shorter input") -> Cost:
    """`cost` if its total is within the limit, else BudgetError with the message, e.g.
    "This input needs about 3.2 GB of memory (1.5 GB of it attention weights); the limit is
    2.0 GB — use a shorter input." """
    limit = memory_limit() if limit is None else limit
    if cost.total <= limit:
        return cost
    parts = f" ({human(cost.weights_bytes)} of it attention weights)" if cost.weights_bytes else ""
    raise BudgetError(f"{what} needs about {human(cost.total)} of memory{parts}; the limit is "
                      f"{human(limit)} — {advice}.", cost, limit)


def check_model(cfg: TransformerConfig, *, limit: int | None = None,
                what: str = "This model") -> Cost:
    """Refuse a model before it is built: its parameters, and for a ViT (whose input length
    the config fixes) a whole forward with attention recorded, must fit the limit."""
    if isinstance(cfg, ViTConfig):
        return check(config_cost(cfg), limit=limit, what=what,
                     advice="it needs fewer patches (a smaller image or larger patches), fewer "
                            "heads or fewer layers")
    cost = Cost(0, 0, 0, parameter_count(cfg) * BYTES)
    return check(cost, limit=limit, what=what, advice="it has too many parameters")
