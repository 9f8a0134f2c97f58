"""Inside one block: the residual stream before it, what each sub-layer adds to it, and how big
each contribution is next to the stream, per token. Read from a real forward pass with forward
hooks on the block's norms and sub-layers (core/blocks.py is not changed).

Pre-LN (x + f(LN(x)) per sub-layer): the block's output is exactly its input plus the sum of
the sub-layers' outputs. Post-LN (LN(x + f(x))): each sub-layer's sum x + f(x) is normalised
before the next sub-layer reads it, so the contributions do not add up to the output; what
holds is that each norm's input is the stream it was given plus that sub-layer's output.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

SUBLAYERS = (("self_attn", "norm1"), ("cross_attn", "norm_cross"), ("ff", "norm2"))
NAMES = {"self_attn": "self-attention", "cross_attn": "cross-attention", "ff": "feed-forward"}


@dataclass
class SubLayer:
    name: str                  # "self_attn", "cross_attn" or "ff"
    stream: torch.Tensor       # (T, D) the residual stream this sub-layer reads
    out: torch.Tensor          # (T, D) what it adds (before a post-LN norm)
    after: torch.Tensor        # (T, D) the stream after it (post-LN: after the norm)

    @property
    def relative(self) -> torch.Tensor:
        """(T,) |out| / |stream| per token: how much this sub-layer changes the stream."""
        return self.out.norm(dim=-1) / self.stream.norm(dim=-1).clamp_min(1e-12)


@dataclass
class BlockTrace:
    block: str                 # dotted name, e.g. "encoder.blocks.1"
    pre_ln: bool
    stream_in: torch.Tensor    # (T, D) the block's input
    sublayers: list            # [SubLayer] in the order they ran
    output: torch.Tensor       # (T, D) the block's output

    def sum_of_parts(self) -> torch.Tensor:
        """(T, D) input + every sub-layer's output: equals `output` for a pre-LN block."""
        return self.stream_in + sum(s.out for s in self.sublayers)


def block_names(model) -> list[str]:
    """Dotted names of the model's transformer blocks, e.g. ["encoder.blocks.0", ...]."""
    from .blocks import Block
    return [n for n, m in model.named_modules() if isinstance(m, Block)]


@torch.no_grad()
def trace_block(model, block: str, *inputs, example: int = 0, **kwargs) -> BlockTrace:
    """Run model(*inputs, **kwargs) once (eval mode, no grad) and read block `block` (a name
    from block_names) for batch element `example`: its input, each sub-layer's stream, output
    and the stream after it, and its output. The model's training flag is restored."""
    names = block_names(model)
    if block not in names:
        raise ValueError(f"no block named {block!r}; the model has {', '.join(names)}")
    blk = model.get_submodule(block)
    seen: dict = {}
    hooks = [blk.register_forward_hook(
        lambda m, a, kw, out: seen.update(block_in=a[0], block_out=out), with_kwargs=True)]
    for sub, norm in SUBLAYERS:
        if getattr(blk, sub, None) is None:
            continue
        hooks.append(getattr(blk, sub).register_forward_hook(
            lambda m, a, out, sub=sub: seen.update({f"{sub}_in": a[0], f"{sub}_out":
                                                   out[0] if isinstance(out, tuple) else out})))
        hooks.append(getattr(blk, norm).register_forward_hook(
            lambda m, a, out, norm=norm: seen.update({f"{norm}_in": a[0],
                                                      f"{norm}_out": out})))
    was_training = model.training
    model.eval()
    try:
        model(*inputs, **kwargs)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    if "block_in" not in seen:
        raise ValueError(f"the forward pass did not run {block}")
    pick = lambda t: t[example].detach().float().cpu()                  # (B, T, D) -> (T, D)  # noqa: E731
    subs, stream = [], pick(seen["block_in"])
    for sub, norm in SUBLAYERS:
        if f"{sub}_out" not in seen:
            continue
        out = pick(seen[f"{sub}_out"])                                   # (T, D)
        if blk.pre:                       # x -> x + f(LN(x)): the stream is the norm's input
            reads, after = pick(seen[f"{norm}_in"]), pick(seen[f"{norm}_in"]) + out
        else:                             # x -> LN(x + f(x)): f reads the stream itself
            reads, after = pick(seen[f"{sub}_in"]), pick(seen[f"{norm}_out"])
        subs.append(SubLayer(sub, reads, out, after))
        stream = after
    return BlockTrace(block, bool(blk.pre), pick(seen["block_in"]), subs,
                      pick(seen["block_out"]))


def trace_task(model, task, example, block: str):
    """Trace block `block` on the input a task builds for `example` (parsed by task.parse),
    with no per-task code: the model's inputs are those of the last forward that
    task.inspect(model, example) makes with return_attention=True (every task's inspect ends
    with that one full pass; a generating task's earlier, shorter steps are skipped). That call
    is run again with the block's hooks. -> (Inspection, BlockTrace)."""
    calls: list = []

    def record(module, args, kwargs):
        if kwargs.get("return_attention"):
            calls.append((args, dict(kwargs)))

    hook = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        inspection = task.inspect(model, example)
    finally:
        hook.remove()
    if not calls:
        raise ValueError(f"the {task.name} task's inspect made no forward pass with "
                         "return_attention=True to trace")
    args, kwargs = calls[-1]
    for k in ("return_attention", "return_scores", "example"):
        kwargs.pop(k, None)
    return inspection, trace_block(model, block, *args, **kwargs)
