"""AdamW with global-norm clipping over one flat buffer: the training loop's optimizer.

    opt = FlatAdamW(model, weight_decay=0.01)     # packs the parameters, attaches the grads
    opt.zero_grad(); loss.backward(); opt.clip(1.0); opt.step(lr)
    opt.release()                                 # parameters own their memory again

Why not torch.optim.AdamW: the lecture models have 30-60 small parameter tensors, so its
per-tensor work is launch-bound (2.6 ms a step for the sort model, 6 ms for dates, on this
2-core CPU; fused=True 0.5 / 1.6 ms, plus 0.3-0.8 ms for clip_grad_norm_), and the first
optimizer built in a process imports torch._dynamo (1.3-1.6 s) before the first step. Here every
parameter is a view into one buffer and every gradient a view into another (autograd adds into
an existing .grad in place), so a step is eight element-wise operations on one tensor, and
nothing is imported. The arithmetic is torch.optim.AdamW's (decoupled weight decay, bias
correction) and clip_grad_norm_'s; neither reads a value back to the host, so on CUDA a step
never waits for the device.
"""
from __future__ import annotations

import math

import torch


class FlatAdamW:
    """AdamW on every trainable parameter of `model`; weight decay only on tensors with two or
    more dimensions (matrices and embeddings), never on biases, norms or position vectors.

    Until release(), the parameters are views into one buffer: do not move the model to another
    device or call model.zero_grad(set_to_none=True) in between.
    """

    def __init__(self, model: torch.nn.Module, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        first = self.params[0]
        if any(p.dtype != first.dtype or p.device != first.device for p in self.params):
            raise ValueError("FlatAdamW needs every parameter on one device with one dtype")
        n = sum(p.numel() for p in self.params)
        kw = dict(dtype=first.dtype, device=first.device)
        self.flat = torch.empty(n, **kw)                                  # (N,) all parameters
        self.grad = torch.zeros(n, **kw)                                  # (N,) all gradients
        decay = torch.zeros(n, **kw)                                      # (N,) 1 = decayed
        start = 0
        with torch.no_grad():
            for p in self.params:
                end = start + p.numel()
                self.flat[start:end] = p.reshape(-1)
                decay[start:end] = float(p.dim() >= 2)
                p.data = self.flat[start:end].view_as(p)
                p.grad = self.grad[start:end].view_as(p)
                start = end
        self.decay = decay * weight_decay
        self.exp_avg = torch.zeros(n, **kw)
        self.exp_avg_sq = torch.zeros(n, **kw)
        self.beta1, self.beta2 = betas
        self.eps, self.steps = eps, 0

    def zero_grad(self) -> None:
        self.grad.zero_()

    def clip(self, max_norm: float) -> torch.Tensor:
        """Scale the gradients so that their global L2 norm is at most max_norm (as
        torch.nn.utils.clip_grad_norm_); returns the norm before clipping, on the device."""
        norm = torch.linalg.vector_norm(self.grad)                        # ()
        self.grad.mul_((max_norm / (norm + 1e-6)).clamp(max=1.0))
        return norm

    @torch.no_grad()
    def step(self, lr: float) -> None:
        self.steps += 1
        b1, b2 = self.beta1, self.beta2
        self.flat.addcmul_(self.flat, self.decay, value=-lr)             # p -= lr·wd·p
        self.exp_avg.lerp_(self.grad, 1 - b1)
        self.exp_avg_sq.mul_(b2).addcmul_(self.grad, self.grad, value=1 - b2)
        denom = (self.exp_avg_sq.sqrt() / math.sqrt(1 - b2 ** self.steps)).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-lr / (1 - b1 ** self.steps))

    def release(self) -> None:
        """Give every parameter its own memory again and drop the gradients (a checkpoint
        writer refuses tensors that share one buffer)."""
        with torch.no_grad():
            for p in self.params:
                p.data = p.data.clone()
                p.grad = None
