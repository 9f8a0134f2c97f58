"""Inside a block (core/residual.py): the residual stream and each sub-layer's contribution,
checked against the block's own modules run by hand."""
import pytest
import torch

from core.config import EncoderConfig, Seq2SeqConfig
from core.models import build_model
from core.residual import block_names, trace_block


def model_of(cfg):
    torch.manual_seed(0)
    return build_model(cfg).eval()


def test_pre_ln_contributions_add_up_to_the_output_exactly():
    model = model_of(EncoderConfig(vocab_size=12, n_classes=12, d_model=32, n_heads=4,
                                   n_layers=3, max_len=16, norm="pre"))
    idx = torch.randint(3, 12, (2, 9), generator=torch.Generator().manual_seed(1))
    assert block_names(model) == [f"encoder.blocks.{i}" for i in range(3)]
    tr = trace_block(model, "encoder.blocks.1", idx, example=1)
    assert tr.pre_ln and [s.name for s in tr.sublayers] == ["self_attn", "ff"]
    torch.testing.assert_close(tr.sum_of_parts(), tr.output, atol=1e-5, rtol=1e-5)
    # by hand, from the block's input: x + attn(LN1 x), then + ff(LN2 ·)
    blk = model.encoder.blocks[1]
    x = tr.stream_in[None]                                              # (1, T, D)
    with torch.no_grad():
        a = blk.self_attn(blk.norm1(x))[0]
        f = blk.ff(blk.norm2(x + a))
    torch.testing.assert_close(tr.sublayers[0].out, a[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tr.sublayers[1].out, f[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tr.sublayers[1].stream, (x + a)[0], atol=1e-5, rtol=1e-5)
    rel = tr.sublayers[0].relative
    torch.testing.assert_close(rel, a[0].norm(dim=-1) / x[0].norm(dim=-1))
    assert rel.shape == (9,) and (rel > 0).all()
    assert not model.training


def test_post_ln_each_norm_reads_stream_plus_contribution_not_a_sum():
    model = model_of(EncoderConfig(vocab_size=12, n_classes=12, d_model=32, n_heads=4,
                                   n_layers=2, max_len=16, norm="post"))
    idx = torch.randint(3, 12, (1, 7), generator=torch.Generator().manual_seed(2))
    tr = trace_block(model, "encoder.blocks.0", idx)
    assert not tr.pre_ln
    blk = model.encoder.blocks[0]
    x = tr.stream_in[None]
    with torch.no_grad():
        a = blk.self_attn(x)[0]
        h = blk.norm1(x + a)
        f = blk.ff(h)
        out = blk.norm2(h + f)
    torch.testing.assert_close(tr.sublayers[0].out, a[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tr.sublayers[0].after, h[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tr.sublayers[1].stream, h[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tr.output, out[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tr.sublayers[-1].after, tr.output, atol=1e-5, rtol=1e-5)
    assert (tr.sum_of_parts() - tr.output).abs().max() > 1e-2         # no longer adds up


def test_decoder_block_of_a_seq2seq_has_cross_attention():
    cfg = Seq2SeqConfig(src_vocab_size=10, tgt_vocab_size=11, d_model=32, n_heads=4,
                        n_layers=1, n_dec_layers=2, max_len=16)
    model = model_of(cfg)
    g = torch.Generator().manual_seed(3)
    src, tgt = torch.randint(3, 10, (1, 6), generator=g), torch.randint(3, 11, (1, 4), generator=g)
    tr = trace_block(model, "decoder.blocks.1", src, tgt)
    assert [s.name for s in tr.sublayers] == ["self_attn", "cross_attn", "ff"]
    assert tr.stream_in.shape == (4, 32)
    if tr.pre_ln:
        torch.testing.assert_close(tr.sum_of_parts(), tr.output, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        trace_block(model, "decoder.blocks.7", src, tgt)


def test_a_shipped_checkpoint_can_be_traced():
    from pathlib import Path
    from core.checkpoints import load_checkpoint
    path = Path(__file__).resolve().parents[1] / "checkpoints" / "sort.safetensors"
    if not path.exists():
        pytest.skip("no shipped sort checkpoint")
    loaded = load_checkpoint(path)
    model = loaded[0] if isinstance(loaded, tuple) else loaded
    idx = torch.tensor([[9, 5, 7, 3, 4]])
    tr = trace_block(model, block_names(model)[-1], idx)
    assert torch.isfinite(tr.output).all() and len(tr.sublayers) == 2
