"""Running the model for the explorer: the input parsed and its cost checked before anything
runs (core.budget), the run itself guarded (core.safe_run), and both remembered per user
(ui.widgets.memo) so widget changes that keep the input do not rerun anything.

    example = parsed(row, task, text)          # ValueError with a message: bad input / too big
    ins = inspection(row, model, task, text)   # None, with the message shown, if it cannot run
"""
from __future__ import annotations

import streamlit as st

from core import analysis
from core.budget import BudgetError, check, config_cost, sequence_cost
from core.safe_run import RunFailed, safe_run

from ..widgets import file_version, memo

MEMO_KEY = "explorer_memo"          # this page's inspections, per user (ui.widgets.memo)
PARSED_KEY = "explorer_parsed"      # parsed inputs and their token counts, per user
WHAT = "The attention explorer"


def input_tokens(model, task, example) -> int:
    """Positions the model will attend over for this example: the word pieces of a pretrained
    model's tokenizer (special tokens included); for our own models the example's length plus
    its start / end tokens, at most the model's max_len."""
    if getattr(task, "pretrained", None) is not None:
        return int(task.encode(example)["input_ids"].shape[-1])
    max_len = int(getattr(model.cfg, "max_len", 0) or 0)
    n = len(example) + 2 if hasattr(example, "__len__") else max_len
    return max(1, min(n, max_len) if max_len else n)


def cost(model, task, tokens: int):
    """core.budget's estimate of one forward with every head's weights recorded."""
    pt = getattr(task, "pretrained", None)
    if pt is not None:
        info = pt.info
        return sequence_cost(n_layers=int(info["n_layers"]), n_heads=int(info["n_heads"]),
                             d_model=int(info["d_model"]), tokens=tokens,
                             d_ff=int(getattr(model.cfg, "d_ff", 0) or 0),
                             n_params=int(info["parameters"]))
    if task.kind == "seq2seq":
        return config_cost(model.cfg, tokens=tokens, target_tokens=model.cfg.max_len)
    return config_cost(model.cfg, tokens=tokens)


def parsed(row, model, task, text: str):
    """task.parse(text), with the run's memory checked against the limit first -> (example,
    tokens). ValueError (bad input, or BudgetError: too big) with a message for the user."""
    def compute():
        example = task.parse(text)
        tokens = input_tokens(model, task, example)
        check(cost(model, task, tokens), what="This input",
              advice="use a shorter input or a smaller model")
        return example, tokens

    return memo(PARSED_KEY, (row["path"], file_version(row["path"]), text), compute)


def message(e: ValueError) -> str:
    """What to show for a refused or failed run."""
    if isinstance(e, (BudgetError, RunFailed)):
        return str(e)
    return f"The model cannot run on this input: {e}"


def inspection(row, model, task, text: str, off=()):
    """task.inspect(...) with scores, memoised per user by (checkpoint, file version, text,
    ablated heads); the cost is checked first and the run guarded. None (and a message shown)
    when the model cannot run."""
    off = tuple(sorted(off))

    def run():
        example, _ = parsed(row, model, task, text)
        mask = analysis.head_mask(model, off=off) if off else None
        return safe_run(task.inspect, model, example, head_mask=mask, return_scores=True,
                        what=WHAT)

    try:
        return memo(MEMO_KEY, memo_key(row, text, off), run)
    except ValueError as e:
        st.error(message(e), icon=":material/error:")
        return None


def memo_key(row, text: str, off=()) -> tuple:
    """The memo key of an inspection: derived results (statistics, patterns) use it too."""
    return (row["path"], file_version(row["path"]), text, tuple(sorted(off)))
