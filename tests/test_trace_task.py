"""core.residual.trace_task: a block traced on the input a task builds, with no per-task code,
and core.saturation.saturation_example (the √d page's side-by-side weights)."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoints import load_checkpoint
from core.residual import block_names, trace_block, trace_task
from core.saturation import saturation_example
from core.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]


def built(name: str):
    torch.manual_seed(0)
    return TASKS[name].build_model().eval()


def test_an_encoder_task_traces_the_same_input_as_by_hand():
    task, model = TASKS["sort"], built("sort")
    example = task.parse("5 3 8 1")
    inspection, tr = trace_task(model, task, example, "encoder.blocks.1")
    by_hand = trace_block(model, "encoder.blocks.1", torch.tensor([task.encode(example)]))
    torch.testing.assert_close(tr.stream_in, by_hand.stream_in)
    for a, b in zip(tr.sublayers, by_hand.sublayers):
        torch.testing.assert_close(a.out, b.out)
    assert inspection.tokens and len(inspection.tokens) == tr.stream_in.shape[0] == 4
    assert not model._forward_pre_hooks and not model._forward_hooks      # hooks removed


def test_a_generating_seq2seq_task_traces_the_full_pass_not_a_decoding_step():
    # the shipped model writes the whole date (an untrained one may stop at once with <eos>)
    task = TASKS["dates"]
    model, _ = load_checkpoint(ROOT / "checkpoints" / "dates.safetensors", "cpu")
    inspection, tr = trace_task(model, task, task.parse("22 November 2026"),
                                "decoder.blocks.0")
    assert [s.name for s in tr.sublayers] == ["self_attn", "cross_attn", "ff"]
    # the decoder stream has one row per decoder input (<bos> + every written character)
    assert tr.stream_in.shape[0] == len(inspection.decoder_inputs) > 1
    _, enc = trace_task(model, task, task.parse("22 November 2026"), "encoder.blocks.0")
    assert enc.stream_in.shape[0] == len(inspection.tokens)


def test_a_generating_decoder_task_traces_prompt_and_answer():
    task, model = TASKS["reverse"], built("reverse")
    inspection, tr = trace_task(model, task, task.parse("31415"), block_names(model)[0])
    assert tr.stream_in.shape[0] == len(inspection.tokens) > 5


def test_a_task_without_a_recorded_pass_is_refused():
    class Silent:
        name = "silent"

        def inspect(self, model, example):
            return model(torch.tensor([[3, 4]]))          # no return_attention
    model = built("sort")
    with pytest.raises(ValueError, match="no forward pass"):
        trace_task(model, Silent(), None, "encoder.blocks.0")
    assert not model._forward_pre_hooks


def test_saturation_example_is_the_softmax_of_the_scaled_and_raw_scores():
    e = saturation_example(256, n_queries=3, n_keys=5, seed=4)
    g = torch.Generator().manual_seed(4)
    q = torch.randn(3, 256, generator=g, dtype=torch.float64)
    k = torch.randn(5, 256, generator=g, dtype=torch.float64)
    s = (q.numpy() @ k.numpy().T)                                        # float64 NumPy
    for name, z in (("raw", s), ("scaled", s / math.sqrt(256))):
        w = np.exp(z - z.max(1, keepdims=True))
        np.testing.assert_allclose(e[name].numpy(), w / w.sum(1, keepdims=True), rtol=1e-10)
    # raw scores at d = 256 spread ~16 wide: nearly one-hot rows; scaled ones far less peaked
    raw, scaled = e["raw"].max(-1).values.mean(), e["scaled"].max(-1).values.mean()
    assert raw > 0.9 and scaled < raw - 0.2


@pytest.mark.parametrize("bad", [dict(d=0), dict(d=70000), dict(d=8, n_keys=1),
                                 dict(d=8, n_queries=0)])
def test_saturation_example_refuses_bad_sizes(bad):
    with pytest.raises(ValueError):
        saturation_example(**bad)
