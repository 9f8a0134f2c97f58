"""A product repeated at every step of a recurrence with the same right operand, with a cheaper
gradient on a CPU (issue 14). Values and gradients are those of torch.bmm; tests/test_gru_scan.py
checks both.

    box = SharedOperand(); w = box.track(w)              # once per sequence
    y_t = box.product(x_t, w)              # = torch.bmm(x_t, w), at each step t

Autograd would compute the operand's gradient x_tᵀ g_t at every step, as its own small batched
product: for the RNN attention's context (α_i (B, 1, Ts) · memory (B, Ts, M)) one of inner size
1, 400 µs at batch 64, 84 characters, width 96, and 33 of them for three dates; for the GRU
encoder's recurrent weights one per character. SharedOperand keeps each step's x_t and g_t and
adds Σ_t x_tᵀ g_t to the operand's gradient in one product at the end of the backward pass
(1 ms for the 33 contexts). The gradient for x_t is computed at its step as usual.
"""
from __future__ import annotations

import torch


class _Track(torch.autograd.Function):
    """Identity on the operand; its backward adds the deferred Σ_t x_tᵀ g_t."""

    @staticmethod
    def forward(ctx, w, box):
        ctx.box = box
        return w.view_as(w)

    @staticmethod
    def backward(ctx, grad):
        return grad + ctx.box.operand_grad(grad), None


class _Product(torch.autograd.Function):
    """y = x @ w (batched); backward: x's gradient now, w's left to the box."""

    @staticmethod
    def forward(ctx, x, w, box, step):
        ctx.save_for_backward(w)
        ctx.box, ctx.step = box, step
        # Detached: x's graph leads to this node, whose ctx holds the box: keeping x itself
        # made a cycle through autograd's C++ graph that Python's collector cannot see, and
        # every training step's graph stayed in memory (~3 MB a step for dates_rnn).
        box.inputs[step] = x.detach()
        return torch.bmm(x, w)                                            # (Bt, r, N)

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        ctx.box.grads[ctx.step] = grad                                    # (Bt, r, N)
        return torch.bmm(grad, w.transpose(1, 2)), None, None, None      # (Bt, r, K)


class SharedOperand:
    """The steps of one sequence that multiply by the same operand: track() it once, then
    product() at every step."""

    def __init__(self):
        self.inputs: dict = {}       # step -> x_t (Bt, r, K), from the forward pass
        self.grads: dict = {}        # step -> dL/dy_t (Bt, r, N), filled by the backward pass

    def track(self, w: torch.Tensor) -> torch.Tensor:
        """w (Bt, K, N) -> the same values, whose gradient this box completes."""
        return _Track.apply(w, self)

    def product(self, x: torch.Tensor, tracked: torch.Tensor) -> torch.Tensor:
        """x (Bt, r, K) @ tracked (Bt, K, N) -> (Bt, r, N), as torch.bmm."""
        return _Product.apply(x, tracked, self, len(self.inputs))

    def operand_grad(self, like: torch.Tensor) -> torch.Tensor:
        """Σ_t x_tᵀ g_t (Bt, K, N) over the steps whose product received a gradient."""
        steps = sorted(self.grads)
        grads, self.grads = self.grads, {}
        if not steps:
            return torch.zeros_like(like)
        X = torch.cat([self.inputs[t] for t in steps], 1)                # (Bt, n·r, K)
        G = torch.cat([grads[t] for t in steps], 1)                       # (Bt, n·r, N)
        return torch.bmm(X.transpose(1, 2), G)                            # (Bt, K, N)
