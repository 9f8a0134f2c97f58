"""Inside a block, on a real model: the model from the shared sidebar picker (a shipped
checkpoint, one saved on the Train page, or a pretrained Hugging Face model such as the bundled
MiniLM), one of its blocks, and an input; the block is traced on the input the model's task
builds (core.residual.trace_task) and drawn as a diagram and per token (viz.block).

The cost of the run is estimated first (core.budget) and the run is wrapped in core.safe_run,
so an input too large, or a failure such as running out of memory, ends with a message.
"""
from __future__ import annotations

import streamlit as st

from core.budget import check, config_cost
from core.residual import NAMES, block_names, trace_task
from core.safe_run import safe_run
from viz.block import block_figure, contribution_figure
from viz.training import attention_title

from ..sidebar import model_picker
from ..widgets import PageInput, clamp, file_version, memo
from .layout import show, width

BLOCK = "block"                    # URL: which block (?block=encoder+layer+1). Owner: here.
PAGE = "transformer"               # the input box's memory (ui.widgets.PageInput)
MEMO = "block_traces"              # per-user memo of traced blocks (small: ratios and tokens)
MAX_EXAMPLES = 4


def block_label(name: str) -> str:
    """"encoder.blocks.1" -> "encoder layer 1" (viz.training.attention_title's words)."""
    return attention_title(f"{name}.self_attn")


def labels_for(inspection, block: str, n: int) -> list[str]:
    """The n token labels of the block's stream: its self-attention's query labels."""
    try:
        labels = list(inspection.labels[f"{block}.self_attn"][0])
    except (KeyError, TypeError, IndexError):
        labels = list(inspection.tokens or [])
    return [str(t) for t in labels] if len(labels) == n else [str(i) for i in range(n)]


def trace(row: dict, model, task, block: str, text: str) -> dict:
    """Parse, check the cost, trace: {"tokens", "subs" [(name, relative (T,))], "pre_ln",
    "gap" (pre-LN: max |input + Σ contributions − output|)}. ValueError with a message."""
    example = task.parse(text)
    tokens = None                                  # our tasks: bounded by the model's max_len
    if row.get("pretrained"):                      # a Hugging Face text model: count them
        tokens = int(task.encode(example)["input_ids"].shape[-1])
    check(config_cost(model.cfg, tokens=tokens), what="This input",
          advice="use a shorter input or a smaller model")
    inspection, tr = safe_run(trace_task, model, task, example, block,
                              what="Tracing the block")
    T = tr.stream_in.shape[0]
    gap = float((tr.sum_of_parts() - tr.output).abs().max()) if tr.pre_ln else None
    return {"tokens": labels_for(inspection, block, T), "pre_ln": tr.pre_ln, "gap": gap,
            "subs": [(s.name, s.relative) for s in tr.sublayers]}


def summary(result: dict) -> str:
    """What the figures show, in words, from the numbers."""
    parts = [f"{NAMES.get(n, n)} {float(r.mean()):.2f}×" for n, r in result["subs"]]
    text = ("On this input each sub-layer changes the residual stream, on average over the "
            f"{len(result['tokens'])} tokens, by: " + ", ".join(parts) + " its size. ")
    if result["pre_ln"]:
        return text + ("Pre-LN: the block's output is exactly its input plus every "
                       f"contribution (largest difference {result['gap']:.1e}).")
    return text + ("Post-LN: each LayerNorm rescales x + f(x) before the next sub-layer reads "
                   "it, so the contributions do not add up to the output.")


def inside_a_block(presenter: bool, dark: bool) -> None:
    picked = model_picker()
    if picked is None:
        return
    row, model, task = picked
    names = block_names(model)
    if not names:
        st.warning(f"{row['name']} has no transformer blocks to look inside.")
        return
    default = task.examples[0] if task.examples else ""
    page_input = PageInput(PAGE, task, default)
    left, right = st.columns([1, 2])
    clamp(BLOCK, names)
    block = left.selectbox("Block", names, format_func=block_label, key=BLOCK,
                           bind="query-params", help="Layers count from 0")
    text = page_input.box(right, task.input_label or f"Input for {task.title}")
    shown = [e for e in task.examples if isinstance(e, str)][:MAX_EXAMPLES]
    for col, example in zip(st.columns(max(len(shown), 1)), shown):
        col.button(example[:28] + ("…" if len(example) > 28 else ""), key=f"block_ex_{example}",
                   on_click=page_input.put, args=(example,), width="stretch")
    key = (row["path"], file_version(row["path"]), block, text)
    try:
        result = memo(MEMO, key, lambda: trace(row, model, task, block, text))
    except ValueError as e:
        st.error(f"{e}")
        return
    subs = result["subs"]
    st.subheader(f"{row['name']}: {block_label(block)}")
    show(block_figure(subs, result["pre_ln"], presenter=presenter, dark=dark,
                      width=width(presenter)), key="block_diagram")
    show(contribution_figure(subs, result["tokens"], presenter=presenter, dark=dark,
                             width=width(presenter)), key="block_tokens")
    st.caption(summary(result))
