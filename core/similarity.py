"""Similarity of positions and the positional-encoding demos: cosine and dot-product similarity
matrices, a model's position similarity (learned table or RoPE), why order matters (a shuffled
attention head with and without positions) and RoPE's rotation of one q/k pair.

Pure functions on tensors (torch only), used by the Positional encodings and ViT pages.
"""
from __future__ import annotations

import math

import torch

from .attention import scaled_dot_product_attention
from .positional import apply_rope, rope_angles, sinusoidal_encoding


def cosine_similarity(x: torch.Tensor) -> torch.Tensor:
    """(N, N) cosine similarity of the rows of x (N, D); a zero row gives 0, never NaN."""
    if x.dim() != 2:
        raise ValueError(f"expected (N, D), got {tuple(x.shape)}")
    x = x.detach().float() if not x.is_floating_point() else x.detach()
    norms = x.norm(dim=-1, keepdim=True)                                 # (N, 1)
    unit = torch.where(norms > 0, x / norms.clamp(min=1e-30), torch.zeros_like(x))  # (N, D)
    return unit @ unit.T                                                 # (N, N)


def dot_similarity(x: torch.Tensor) -> torch.Tensor:
    """(N, N) dot products of the rows of x (N, D)."""
    if x.dim() != 2:
        raise ValueError(f"expected (N, D), got {tuple(x.shape)}")
    return x.detach() @ x.detach().T                                     # (N, N)


def position_similarity(model) -> torch.Tensor:
    """(N, N) cosine similarity between the rows of model.positional_encoding().

    For a RoPE model (whose table holds angles, not vectors) each position is turned into its
    [cos, sin] features first, so entry (i, j) is the mean of cos((i - j)·θ) over the pairs.
    """
    pe = model.positional_encoding().detach()                            # (N, D)
    if getattr(model, "rope", None) is not None:
        pe = torch.cat([pe.cos(), pe.sin()], dim=-1)                     # (N, d_head)
    return cosine_similarity(pe.float())


# ----------------------------------------------------------------------------- demos
def permutation_demo(n_tokens: int = 6, d_model: int = 8, seed: int = 0,
                     positional: bool = True) -> dict:
    """Why order matters: one random self-attention head on tokens X and on shuffled tokens.

    Without positions, attention is permutation-equivariant: shuffling the inputs only shuffles
    the outputs, so out_unshuffled == out (max_diff ~ 0). With sinusoidal positions added (the
    positions stay in place while the tokens move) the outputs genuinely change.
    Returns perm (T,), tokens (T, D), out, out_shuffled, out_unshuffled (T, D), max_diff (float),
    weights, weights_shuffled (T, T), positional (bool).
    """
    for label, v, low, high in (("n_tokens", n_tokens, 2, 256), ("d_model", d_model, 1, 512)):
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise ValueError(f"{label} must be an integer in {low}..{high}, got {v!r}")
    g = torch.Generator().manual_seed(int(seed))
    T, D = n_tokens, d_model
    X = torch.randn(T, D, generator=g)                                   # (T, D)
    wq, wk, wv = (torch.randn(D, D, generator=g) / math.sqrt(D) for _ in range(3))  # (D, D)
    perm = torch.randperm(T, generator=g)                                # (T,)
    if torch.equal(perm, torch.arange(T)):
        perm = torch.roll(perm, 1)                                       # never the identity
    pe = sinusoidal_encoding(T, D) if positional else torch.zeros(T, D)  # (T, D)

    def head(h):
        return scaled_dot_product_attention(h @ wq, h @ wk, h @ wv)     # (T, D), (T, T)

    out, weights = head(X + pe)
    out_shuf, weights_shuf = head(X[perm] + pe)                          # (T, D), (T, T)
    inverse = torch.argsort(perm)                                        # (T,)
    out_unshuf = out_shuf[inverse]                                       # (T, D)
    return {"perm": perm, "tokens": X, "out": out, "out_shuffled": out_shuf,
            "out_unshuffled": out_unshuf, "max_diff": float((out - out_unshuf).abs().max()),
            "weights": weights, "weights_shuffled": weights_shuf, "positional": positional}


def rope_pair_track(position_count: int = 16, d_head: int = 8, pair: int = 0, vector=None,
                    base: float = 10000.0) -> torch.Tensor:
    """(P, 2): the (x_2i, x_2i+1) pair `pair` of a fixed vector after RoPE at positions 0..P-1.

    The point turns by θ_pair = base^(-2·pair/d_head) radians per position on a circle (its
    norm is constant). vector (d_head,) defaults to 1 in every even dimension, 0 in every odd
    one, so every pair starts at (1, 0).
    """
    if isinstance(d_head, bool) or not isinstance(d_head, int) or d_head < 2 or d_head % 2:
        raise ValueError(f"d_head must be an even integer >= 2, got {d_head!r}")
    if isinstance(position_count, bool) or not isinstance(position_count, int) \
            or not 1 <= position_count <= 100_000:
        raise ValueError(f"position_count must be in 1..100000, got {position_count!r}")
    if isinstance(pair, bool) or not isinstance(pair, int) or not 0 <= pair < d_head // 2:
        raise ValueError(f"pair must be in 0..{d_head // 2 - 1}, got {pair!r}")
    if not base > 1.0:
        raise ValueError(f"base must be > 1, got {base!r}")
    if vector is None:
        vector = torch.zeros(d_head)
        vector[0::2] = 1.0                                               # (d,)
    vector = torch.as_tensor(vector, dtype=torch.float32).detach()
    if vector.shape != (d_head,):
        raise ValueError(f"vector must have shape ({d_head},), got {tuple(vector.shape)}")
    angles = rope_angles(position_count, d_head, base)                   # (P, d/2)
    rotated = apply_rope(vector.expand(position_count, d_head), angles)  # (P, d)
    return rotated[:, 2 * pair: 2 * pair + 2].clone()                    # (P, 2)
