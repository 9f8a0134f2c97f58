"""Every model kind: the attention contract, causality, cached decoding, configs, parameter counts."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from conftest import KINDS, SEQ_POS, VIT_POS, tiny_config, tiny_inputs, tiny_model
from core import (MODELS, Decoder, DecoderConfig, Encoder, EncoderConfig, MultiHeadAttention,
                  Seq2Seq, Seq2SeqConfig, TransformerConfig, ViT, ViTConfig, build_model,
                  config_from_dict)
from core.attention import stages_from_scores
from core.models import patchify

CONTRACT_CASES = [(kind, pos, norm)
                  for kind in KINDS
                  for pos in (VIT_POS if kind == "vit" else SEQ_POS)
                  for norm in ("pre", "post")]


def _expected_shape(kind, name, cfg, inputs):
    """(Tq, Tk) of the attention called `name`, worked out from the inputs alone."""
    if kind == "vit":
        n = 1 + (cfg.image_size // cfg.patch_size) ** 2
        return n, n
    if kind == "seq2seq":
        Ts, Tt = inputs[0].shape[1], inputs[1].shape[1]
        if name.startswith("encoder."):
            return Ts, Ts
        return (Tt, Ts) if name.endswith("cross_attn") else (Tt, Tt)
    T = inputs[0].shape[1]
    return T, T


def _pad_keys(kind, name, inputs):
    """(B, Tk) bool: which keys of `name` are padding (their columns must be exactly 0)."""
    if kind.startswith("encoder") or (kind == "seq2seq" and (name.startswith("encoder.")
                                                              or name.endswith("cross_attn"))):
        return inputs[0] == 0
    return None


@pytest.mark.parametrize("kind,pos,norm", CONTRACT_CASES)
def test_attention_contract(device, kind, pos, norm):
    model = tiny_model(kind, device, pos=pos, norm=norm)
    cfg = model.cfg
    inputs = tiny_inputs(kind, device)
    with torch.no_grad():
        out = model(*inputs, return_attention=True)
        plain = model(*inputs)
        scored = model(*inputs, return_scores=True)
    names = {n for n, m in model.named_modules() if isinstance(m, MultiHeadAttention)}
    assert names and set(out.attention) == names
    assert set(model.attention_names()) == names
    assert plain.attention is None and plain.scores is None
    torch.testing.assert_close(plain.logits, out.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(scored.logits, out.logits, atol=1e-5, rtol=1e-5)
    assert set(scored.scores) == names and set(scored.masks) == names
    B = inputs[0].shape[0]
    for name, w in out.attention.items():
        Tq, Tk = _expected_shape(kind, name, cfg, inputs)
        assert w.shape == (B, cfg.n_heads, Tq, Tk), name
        assert not torch.isnan(w).any()
        torch.testing.assert_close(w.sum(-1), torch.ones(B, cfg.n_heads, Tq, device=device),
                                   msg=name)
        pad = _pad_keys(kind, name, inputs)
        if pad is not None:
            assert pad.any()
            assert (w.permute(0, 3, 1, 2)[pad] == 0).all(), name     # pad columns exactly 0
        if name.startswith("decoder.") and name.endswith("self_attn"):
            upper = torch.ones(Tq, Tk, dtype=torch.bool, device=device).triu(1)
            assert (w[..., upper] == 0).all(), name                  # nothing from the future
        s = scored.scores[name]
        assert s.shape == w.shape
        rebuilt = stages_from_scores(s, scored.masks[name], cfg.d_head)["softmax"]
        torch.testing.assert_close(rebuilt, w, atol=1e-6, rtol=1e-5)


def test_logits_shapes(device):
    shapes = {"encoder-tagger": (2, 6, 7), "encoder-classifier": (2, 3),
              "decoder-tokens": (2, 6, 13), "decoder-real": (2, 6, 2), "seq2seq": (2, 5, 9),
              "vit": (2, 5)}
    for kind, shape in shapes.items():
        with torch.no_grad():
            assert tiny_model(kind, device)(*tiny_inputs(kind, device)).logits.shape == shape


# ----------------------------------------------------------------------------- blocks vs torch
def _copy_attn(ref, ours):
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight,
                                            ours.v_proj.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        ref.out_proj.bias.copy_(ours.out_proj.bias)


def _copy_norm(ref, ours):
    with torch.no_grad():
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)


def _copy_ff(ref, ours):
    with torch.no_grad():
        for a, b in ((ref.linear1, ours.ff.fc1), (ref.linear2, ours.ff.fc2)):
            a.weight.copy_(b.weight)
            a.bias.copy_(b.bias)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_encoder_block_matches_torch_transformer_encoder_layer(device, norm):
    from core.blocks import Block
    cfg = tiny_config("encoder-tagger", norm=norm)
    block = Block(cfg).to(device).eval()
    with torch.no_grad():                   # LayerNorm starts as the identity: make it count
        for ln in (block.norm1, block.norm2):
            ln.weight.uniform_(0.5, 1.5)
            ln.bias.normal_()
    ref = torch.nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.ff_dim, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=norm == "pre").to(device).eval()
    _copy_attn(ref.self_attn, block.self_attn)
    _copy_norm(ref.norm1, block.norm1)
    _copy_norm(ref.norm2, block.norm2)
    _copy_ff(ref, block)
    x = torch.randn(2, 6, cfg.d_model, device=device)
    mask = torch.ones(2, 1, 1, 6, dtype=torch.bool, device=device)
    mask[0, ..., -2:] = False
    with torch.no_grad():
        ours = block(x, mask)
        theirs = ref(x, src_key_padding_mask=~mask[:, 0, 0])
    torch.testing.assert_close(ours[1], theirs[1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours[0, :4], theirs[0, :4], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_decoder_block_matches_torch_transformer_decoder_layer(device, norm):
    from core.attention import causal_mask
    from core.blocks import Block
    cfg = tiny_config("seq2seq", norm=norm)
    block = Block(cfg, cross=True).to(device).eval()
    with torch.no_grad():
        for ln in (block.norm1, block.norm_cross, block.norm2):
            ln.weight.uniform_(0.5, 1.5)
            ln.bias.normal_()
    ref = torch.nn.TransformerDecoderLayer(cfg.d_model, cfg.n_heads, cfg.ff_dim, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=norm == "pre").to(device).eval()
    _copy_attn(ref.self_attn, block.self_attn)
    _copy_attn(ref.multihead_attn, block.cross_attn)
    _copy_norm(ref.norm1, block.norm1)
    _copy_norm(ref.norm2, block.norm_cross)
    _copy_norm(ref.norm3, block.norm2)
    _copy_ff(ref, block)
    x, memory = torch.randn(2, 5, cfg.d_model, device=device), torch.randn(2, 7, cfg.d_model,
                                                                           device=device)
    keep = torch.ones(2, 7, dtype=torch.bool, device=device)
    keep[1, -3:] = False
    causal = causal_mask(5, device=device)
    with torch.no_grad():
        ours = block(x, causal, memory, keep[:, None, None, :])
        theirs = ref(x, memory, tgt_mask=~causal, memory_key_padding_mask=~keep)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- causality
CAUSAL_CASES = [(kind, pos) for kind in ("decoder-tokens", "decoder-real", "seq2seq")
                for pos in SEQ_POS]


@pytest.mark.parametrize("kind,pos", CAUSAL_CASES)
def test_future_tokens_change_nothing_earlier(device, kind, pos):
    model = tiny_model(kind, device, pos=pos)
    inputs = list(tiny_inputs(kind, device, T=7, Tt=7))
    seq = 1 if kind == "seq2seq" else 0
    t = 4                                               # change the token at position t
    changed = inputs[seq].clone()
    if kind == "decoder-real":
        changed[:, t:] += 3.0
    else:
        vocab = model.cfg.tgt_vocab_size if kind == "seq2seq" else model.cfg.vocab_size
        changed[:, t:] = (changed[:, t:] + 1) % vocab
    other = list(inputs)
    other[seq] = changed
    with torch.no_grad():
        a = model(*inputs, return_attention=True)
        b = model(*other, return_attention=True)
    torch.testing.assert_close(a.logits[:, :t], b.logits[:, :t], atol=1e-5, rtol=1e-5)
    assert (a.logits[:, t:] - b.logits[:, t:]).abs().max() > 1e-4   # the change did matter
    for name, w in a.attention.items():
        if name.startswith("decoder."):
            torch.testing.assert_close(w[:, :, :t], b.attention[name][:, :, :t], atol=1e-6,
                                       rtol=1e-5, msg=name)
        else:                                           # the source is unchanged
            torch.testing.assert_close(w, b.attention[name], msg=name)


# ----------------------------------------------------------------------------- cached decoding
def _assert_same_generation(a, b):
    assert torch.equal(a.tokens, b.tokens)
    assert a.stopped == b.stopped and len(a.probs) == len(b.probs)
    assert len(a.steps) == len(b.steps) and len(a.steps) in (0, len(a.probs))
    for pa, pb in zip(a.probs, b.probs):
        torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4)
    for sa, sb in zip(a.steps, b.steps):
        assert set(sa) == set(sb)
        for name in sa:
            torch.testing.assert_close(sa[name], sb[name], atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "rope"])
@pytest.mark.parametrize("greedy", [True, False])
def test_decoder_cached_generation_equals_uncached(device, pos, greedy):
    model = tiny_model("decoder-tokens", device, pos=pos)
    prompt = tiny_inputs("decoder-tokens", device, T=3)[0]
    kw = dict(max_new_tokens=8, greedy=greedy, seed=5, return_attention=True)
    fast = model.generate(prompt, use_cache=True, **kw)
    slow = model.generate(prompt, use_cache=False, **kw)
    _assert_same_generation(fast, slow)
    assert fast.tokens.shape == (2, 11) and torch.equal(fast.tokens[:, :3], prompt)
    assert len(fast.probs) == len(fast.steps) == 8
    names = {n for n, m in model.named_modules() if isinstance(m, MultiHeadAttention)}
    for i, step in enumerate(fast.steps):
        assert set(step) == names
        for w in step.values():
            assert w.shape == (2, model.cfg.n_heads, 1, 3 + i)
    if greedy:   # each token is the argmax of a plain forward pass over everything before it
        with torch.no_grad():
            for t in range(3, 11):
                logits = model(fast.tokens[:, :t]).logits[:, -1]
                assert torch.equal(logits.argmax(-1), fast.tokens[:, t])


def test_decoder_generation_stops_at_max_len_and_eos(device):
    model = tiny_model("decoder-tokens", device, max_len=8)
    prompt = tiny_inputs("decoder-tokens", device, T=3)[0]
    gen = model.generate(prompt, max_new_tokens=20)
    assert gen.tokens.shape[1] == 8 and gen.stopped == "length"
    one = prompt[:1]
    first = int(model.generate(one, max_new_tokens=1).tokens[0, -1])
    stop = model.generate(one, max_new_tokens=5, eos_id=first)
    assert stop.stopped == "eos" and stop.tokens.shape == (1, 4) and len(stop.probs) == 1
    with pytest.raises(ValueError):
        tiny_model("decoder-real", device).generate(prompt, 3)


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "rope"])
@pytest.mark.parametrize("greedy", [True, False])
def test_seq2seq_cached_generation_equals_uncached(device, pos, greedy):
    model = tiny_model("seq2seq", device, pos=pos)
    src = tiny_inputs("seq2seq", device)[0]
    kw = dict(bos_id=1, max_new_tokens=7, greedy=greedy, seed=9, return_attention=True)
    fast = model.generate(src, use_cache=True, **kw)
    slow = model.generate(src, use_cache=False, **kw)
    _assert_same_generation(fast, slow)
    assert fast.tokens.shape == (2, 8) and (fast.tokens[:, 0] == 1).all()
    assert len(fast.probs) == len(fast.steps) == 7
    for i, step in enumerate(fast.steps):
        assert set(step) == {n for n in model.attention_names() if n.startswith("decoder.")}
        for name, w in step.items():
            Tk = src.shape[1] if name.endswith("cross_attn") else i + 1
            assert w.shape == (2, model.cfg.n_heads, 1, Tk)
    if greedy:
        with torch.no_grad():
            for t in range(1, 8):
                logits = model(src, fast.tokens[:, :t]).logits[:, -1]
                assert torch.equal(logits.argmax(-1), fast.tokens[:, t])


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "rope", "none"])
def test_forecast_equals_uncached_forward_on_growing_sequence(device, pos):
    model = tiny_model("decoder-real", device, pos=pos)
    x = tiny_inputs("decoder-real", device, T=4)[0]                       # (B, 4, n_in)
    preds = model.forecast(x, 6)
    assert preds.shape == (2, 6, model.cfg.out_dim)
    seq = x
    with torch.no_grad():
        for i in range(6):
            nxt = model(seq).logits[:, -1:]                                # no cache
            torch.testing.assert_close(preds[:, i:i + 1], nxt, atol=1e-5, rtol=1e-5)
            seq = torch.cat([seq, nxt[..., : model.cfg.n_in]], dim=1)
    with pytest.raises(ValueError):
        model.forecast(x, model.cfg.max_len)


def test_zero_layer_models_decode_with_the_right_positions(device):
    """With no layers there is no KV cache to carry the position offset; cached decoding must
    still equal the uncached run (learned positions make any offset mistake visible)."""
    dec = tiny_model("decoder-tokens", device, n_layers=0)
    with torch.no_grad():
        dec.pos.weight.mul_(50)                   # make positions dominate the logits
    prompt = tiny_inputs("decoder-tokens", device, T=3)[0]
    _assert_same_generation(dec.generate(prompt, 6, use_cache=True),
                            dec.generate(prompt, 6, use_cache=False))
    s2s = tiny_model("seq2seq", device, n_layers=0, n_dec_layers=0)
    with torch.no_grad():
        s2s.tgt_pos.weight.mul_(50)
    src = tiny_inputs("seq2seq", device)[0]
    _assert_same_generation(s2s.generate(src, 1, 6, use_cache=True),
                            s2s.generate(src, 1, 6, use_cache=False))
    real = tiny_model("decoder-real", device, n_layers=0)
    x = tiny_inputs("decoder-real", device, T=4)[0]
    preds, seq = real.forecast(x, 3), x
    with torch.no_grad():
        for i in range(3):
            nxt = real(seq).logits[:, -1:]
            torch.testing.assert_close(preds[:, i:i + 1], nxt)
            seq = torch.cat([seq, nxt], 1)


def test_forecast_zero_steps_is_empty(device):
    model = tiny_model("decoder-real", device)
    x = tiny_inputs("decoder-real", device, T=4)[0]
    assert model.forecast(x, 0).shape == (2, 0, model.cfg.out_dim)
    assert model.forecast(x[..., 0:1].expand(2, 4, 2), 1).shape == (2, 1, 2)


# ----------------------------------------------------------------------------- padding
@pytest.mark.parametrize("head", ["tagger", "classifier"])
def test_encoder_padding_at_the_end_changes_nothing(device, head):
    model = tiny_model(f"encoder-{head}", device)
    idx = tiny_inputs(f"encoder-{head}", device, B=1, T=5, pad=False)[0]
    padded = torch.cat([idx, torch.zeros(1, 3, dtype=idx.dtype, device=device)], 1)
    with torch.no_grad():
        a, b = model(idx, return_attention=True), model(padded, return_attention=True)
    if head == "tagger":
        torch.testing.assert_close(b.logits[:, :5], a.logits, atol=1e-5, rtol=1e-5)
    else:
        torch.testing.assert_close(b.logits, a.logits, atol=1e-5, rtol=1e-5)
    for name, w in a.attention.items():
        torch.testing.assert_close(b.attention[name][:, :, :5, :5], w, atol=1e-6, rtol=1e-5)


def test_seq2seq_source_padding_changes_nothing(device):
    model = tiny_model("seq2seq", device)
    src, tgt = tiny_inputs("seq2seq", device, B=1, pad=False)
    padded = torch.cat([src, torch.zeros(1, 3, dtype=src.dtype, device=device)], 1)
    with torch.no_grad():
        torch.testing.assert_close(model(padded, tgt).logits, model(src, tgt).logits,
                                   atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- order blindness
def _permutation_gap(device, pos):
    model = tiny_model("encoder-tagger", device, pos=pos)
    idx = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]], device=device)
    perm = torch.tensor([3, 0, 7, 5, 1, 6, 2, 4], device=device)
    with torch.no_grad():
        a = model(idx, return_attention=True)
        b = model(idx[:, perm], return_attention=True)
    gap = (b.logits - a.logits[:, perm]).abs().max().item()
    return gap, a, b, perm


def test_attention_alone_is_blind_to_order(device):
    gap, a, b, perm = _permutation_gap(device, "none")
    assert gap < 1e-5
    for name, w in a.attention.items():      # attention permutes with the tokens, both ways
        torch.testing.assert_close(b.attention[name], w[:, :, perm][:, :, :, perm], atol=1e-6,
                                   rtol=1e-5)


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "rope"])
def test_position_information_breaks_permutation_equivariance(device, pos):
    gap, *_ = _permutation_gap(device, pos)
    assert gap > 1e-3


# ----------------------------------------------------------------------------- head masks
def test_model_head_mask_by_module_name(device):
    model = tiny_model("decoder-tokens", device)
    idx = tiny_inputs("decoder-tokens", device)[0]
    name = "decoder.blocks.1.self_attn"
    with torch.no_grad():
        base = model(idx).logits
        same = model(idx, head_mask={name: torch.ones(2, device=device)}).logits
        off = model(idx, head_mask={name: torch.tensor([0.0, 1.0], device=device)}).logits
        # the same ablation done by hand: zero head 0's value projection in that layer
        attn = model.get_submodule(name)
        d = model.cfg.d_head
        attn.v_proj.weight[:d] = 0
        attn.v_proj.bias[:d] = 0
        by_hand = model(idx).logits
    torch.testing.assert_close(same, base)
    assert (off - base).abs().max() > 1e-4
    torch.testing.assert_close(off, by_hand, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_head_mask_name_the_model_lacks_is_an_error(device, kind):
    model = tiny_model(kind, device)
    inputs = tiny_inputs(kind, device)
    names = model.attention_names()
    H = model.cfg.n_heads
    good = {names[-1]: torch.zeros(H, device=device)}
    with torch.no_grad():
        model(*inputs, head_mask=good)                          # every real name is accepted
        typo = names[-1].replace("attn", "atn")
        with pytest.raises(ValueError, match="atn") as e:
            model(*inputs, head_mask={**good, typo: torch.zeros(H, device=device)})
        assert names[0] in str(e.value)                          # the message lists the real ones


# ----------------------------------------------------------------------------- ViT
def test_patchify_is_row_major():
    img = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    patches = patchify(img, 4)
    assert patches.shape == (2, 4, 3 * 16)
    for r in range(2):
        for c in range(2):
            expected = img[:, :, 4 * r:4 * r + 4, 4 * c:4 * c + 4].reshape(2, -1)
            assert torch.equal(patches[:, 2 * r + c], expected)


def test_vit_rejects_wrong_image_shape(device):
    model = tiny_model("vit", device)
    with pytest.raises(ValueError):
        model(torch.zeros(1, 2, 12, 12, device=device))


def test_vit_sincos_table(device):
    from core import sincos_2d
    model = tiny_model("vit", device, pos="sincos2d")
    torch.testing.assert_close(model.positional_encoding().cpu(), sincos_2d(4, 4, 16))


# ----------------------------------------------------------------------------- configs
CONFIG_CLASSES = [EncoderConfig, DecoderConfig, Seq2SeqConfig, ViTConfig]


@pytest.mark.parametrize("cls", CONFIG_CLASSES)
@pytest.mark.parametrize("preset", ["nano", "micro"])
def test_presets_build_working_models(device, cls, preset):
    cfg = cls.preset(preset)
    assert cfg.d_model == {"nano": 32, "micro": 64}[preset]
    assert cls.preset(preset, n_layers=1).n_layers == 1
    model = build_model(cfg.replace(n_layers=1)).to(device).eval()
    assert type(model) is MODELS[model.kind] and model.cfg.d_model == cfg.d_model


@pytest.mark.parametrize("cls", CONFIG_CLASSES)
def test_unknown_preset_raises(cls):
    with pytest.raises(ValueError, match="preset"):
        cls.preset("gigantic")


@pytest.mark.parametrize("cls", CONFIG_CLASSES)
def test_configs_are_frozen(cls):
    cfg = cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.d_model = 8
    assert cfg.replace(d_model=8, n_heads=2).d_model == 8 and cfg.d_model != 8


BAD_CONFIGS = [
    (EncoderConfig, dict(d_model=30, n_heads=4)),          # not divisible
    (DecoderConfig, dict(pos="alibi")),
    (EncoderConfig, dict(norm="sandwich")),
    (Seq2SeqConfig, dict(pos="sincos2d")),
    (ViTConfig, dict(pos="rope")),
    (EncoderConfig, dict(head="pooler")),
    (DecoderConfig, dict(d_model=10 ** 6, n_heads=1)),     # huge
    (DecoderConfig, dict(n_layers=1000)),
    (EncoderConfig, dict(vocab_size=10 ** 9)),
    (DecoderConfig, dict(max_len=10 ** 7)),
    (Seq2SeqConfig, dict(tgt_vocab_size=10 ** 9)),
    (Seq2SeqConfig, dict(n_dec_layers=500)),
    (ViTConfig, dict(image_size=10 ** 5)),
    (ViTConfig, dict(image_size=16, patch_size=5)),
    (ViTConfig, dict(image_size=256, patch_size=1)),       # 65536 patches
    (DecoderConfig, dict(d_model=0)),
    (DecoderConfig, dict(d_model=32.0)),
    (DecoderConfig, dict(n_heads=True)),
    (DecoderConfig, dict(dropout=1.5)),
    (DecoderConfig, dict(d_model=6, n_heads=2, pos="rope")),    # odd head size
    (DecoderConfig, dict(n_out=-3)),
    (DecoderConfig, dict(n_out=10 ** 9)),
    (DecoderConfig, dict(vocab_size=0, n_in=0)),
    (EncoderConfig, dict(dropout="0.1")),
    (EncoderConfig, dict(bias="yes")),
    (EncoderConfig, dict(pad_id="0")),
    (ViTConfig, dict(patch_size=4.0)),
    (ViTConfig, dict(patch_size=0)),
    (ViTConfig, dict(d_model=18, n_heads=2, pos="sincos2d")),  # 2-D sin-cos needs d % 4 == 0
]


@pytest.mark.parametrize("cls,values", BAD_CONFIGS)
def test_bad_config_values_raise(cls, values):
    with pytest.raises(ValueError):
        cls(**values)


@pytest.mark.parametrize("kind", ["encoder", "decoder", "seq2seq", "vit"])
def test_config_from_dict_round_trip(kind):
    cls = {"encoder": EncoderConfig, "decoder": DecoderConfig, "seq2seq": Seq2SeqConfig,
           "vit": ViTConfig}[kind]
    cfg = cls.preset("nano", n_layers=1)
    assert config_from_dict(kind, cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown config fields"):
        config_from_dict(kind, {**cfg.to_dict(), "n_experts": 8})
    with pytest.raises(ValueError, match="unknown model kind"):
        config_from_dict("mamba", cfg.to_dict())


def test_build_model_rejects_other_configs():
    with pytest.raises(ValueError):
        build_model(TransformerConfig())


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("kind", list(KINDS))
def test_num_parameters_is_sum_of_numel(device, kind):
    model = tiny_model(kind, device)
    total = sum(p.numel() for p in model.parameters())
    assert model.num_parameters() == total
    model.head.weight.requires_grad_(False)
    assert model.num_parameters(trainable_only=True) == total - model.head.weight.numel()
    assert model.num_parameters() == total


def _block_params(d, f, cross=False):
    attn = 4 * (d * d + d)                   # q, k, v, out projections with bias
    ln = 2 * d
    n = attn + ln + (d * f + f) + (f * d + d) + ln
    return n + (attn + ln if cross else 0)


def test_num_parameters_by_hand(device):
    V, C, d, f, L, T = 11, 7, 16, 32, 2, 16
    enc = Encoder(EncoderConfig(vocab_size=V, n_classes=C, d_model=d, n_heads=2, n_layers=L,
                                d_ff=f, max_len=T, pos="learned", norm="pre"))
    assert enc.num_parameters() == V * d + T * d + L * _block_params(d, f) + 2 * d + d * C + C
    # post-norm: no final LayerNorm; sinusoidal: no position parameters; d_ff=0 means 4·d
    dec = Decoder(DecoderConfig(vocab_size=V, d_model=d, n_heads=4, n_layers=1, max_len=T,
                                pos="sinusoidal", norm="post"))
    assert dec.num_parameters() == V * d + _block_params(d, 4 * d) + d * V + V
    s2s = Seq2Seq(Seq2SeqConfig(src_vocab_size=V, tgt_vocab_size=C, d_model=d, n_heads=2,
                                n_layers=2, n_dec_layers=1, d_ff=f, max_len=T, pos="rope"))
    assert s2s.num_parameters() == (V * d + C * d + 2 * _block_params(d, f) + 2 * d
                                    + _block_params(d, f, cross=True) + 2 * d + d * C + C)
    vit = ViT(ViTConfig(image_size=8, patch_size=4, channels=3, n_classes=C, d_model=d,
                        n_heads=2, n_layers=1, d_ff=f, pos="learned"))
    assert vit.num_parameters() == ((3 * 16 * d + d) + d + 5 * d + _block_params(d, f) + 2 * d
                                    + d * C + C)
