"""How long the attention explorer takes to answer a user, per shipped text checkpoint.

    python bench/page_rerun.py [--repeats 10]

For each encoder / decoder / encoder-decoder checkpoint: open the explorer in AppTest, then time
(median of --repeats) a rerun after picking another head (the model is not rerun: the inspection
is memoised), a rerun after a new input (the model runs; the memo is cleared first), the
slowest of the other tabs after a head change, and task.inspect alone. Then the figure builders at 256 tokens. Target: well under a second.
ATTNVIZ_TEST_CHECKPOINTS=folder measures another checkpoint folder.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import ui.models  # noqa: E402
from core.checkpoints import load_checkpoint  # noqa: E402
from core.tasks import TASKS  # noqa: E402
from ui.explorer.run import MEMO_KEY  # noqa: E402
from ui.explorer.views import GRID_LABEL_CELLS  # noqa: E402
from viz import attention as va  # noqa: E402
from viz.head_mosaic import head_mosaic  # noqa: E402

if os.environ.get("ATTNVIZ_TEST_CHECKPOINTS"):
    ui.models.CHECKPOINT_DIR = Path(os.environ["ATTNVIZ_TEST_CHECKPOINTS"])


VIEWS = ["One head", "All heads", "Head view", "Stages", "Statistics", "Ablation"]


def median_ms(fn, repeats: int) -> float:
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def page(row, repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key="model").set_value(row["name"]).run()
    task = TASKS[row["task"]]
    heads = at.selectbox(key="head").options
    at.run()                                           # warm

    def head_change(i):
        at.selectbox(key="head").set_value(int(heads[(i + 1) % len(heads)])).run()

    def input_change(i):
        at.session_state[MEMO_KEY] = OrderedDict()
        at.text_input(key="input").input(task.examples[(i + 1) % len(task.examples)]).run()

    out = {"head": median_ms(head_change, repeats), "input": median_ms(input_change, repeats)}
    views = {}
    for view in VIEWS[1:]:
        at.session_state["view"] = view
        at.run()
        views[view] = median_ms(head_change, max(3, repeats // 2))
    out["slowest"] = max(views.items(), key=lambda kv: kv[1])
    at.session_state["view"] = VIEWS[0]
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    model, _ = load_checkpoint(row["path"], "cpu")
    example = task.parse(max(task.examples, key=len))              # the longest example
    task.inspect(model, example, return_scores=True)
    out["inspect"] = median_ms(lambda i: task.inspect(model, example, return_scores=True),
                               repeats)
    out["tokens"] = max(max(w.shape[-2:]) for w in
                        task.inspect(model, example).attention.values())
    return out


def figures_at(T: int, L: int = 2, H: int = 4, repeats: int = 5) -> dict:
    w = torch.softmax(torch.randn(L, H, T, T), -1)                       # (L, H, T, T)
    labels = [f"t{i}" for i in range(T)]
    mask = torch.ones(T, T, dtype=torch.bool).tril()                      # (T, T)
    big = w.numel() > GRID_LABEL_CELLS                   # as the page does: no grid hover labels
    grid_labels = (None, None) if big else (labels, labels)
    return {
        "heatmap": median_ms(lambda i: va.attention_heatmap(w[0, 0], labels, labels,
                                                            mask=mask).to_json(), repeats),
        "grid": median_ms(lambda i: head_mosaic(w, ["L0", "L1"], selected=(0, 0),
                                                q_labels=grid_labels[0], k_labels=grid_labels[1],
                                                max_labels_cells=GRID_LABEL_CELLS).to_json(),
                          repeats),
        "head view": median_ms(lambda i: va.head_view(w[0], labels, labels).to_json(),
                               repeats),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = [r for r in ui.models.checkpoints(("encoder", "decoder", "seq2seq")) if r["shipped"]]
    if not rows:
        sys.exit(f"no shipped checkpoint in {ui.models.CHECKPOINT_DIR}")
    print(f"median of {args.repeats}, ms  (AppTest reruns include AppTest's own overhead)")
    print("inspect: task.inspect alone on the longest example (tokens = its longest axis)")
    print("head / input change: with the One head tab open; slowest: a head change with the "
          "slowest other tab open")
    print(f"{'checkpoint':<12}{'kind':<9}{'tokens':>7}{'head change':>13}{'input change':>14}"
          f"{'inspect':>9}   slowest tab")
    for row in rows:
        r = page(row, args.repeats)
        print(f"{row['name']:<12}{row['kind']:<9}{r['tokens']:>7}{r['head']:>13.0f}"
              f"{r['input']:>14.0f}{r['inspect']:>9.1f}   {r['slowest'][0]} "
              f"{r['slowest'][1]:.0f}")
    for T in (64, 256):
        f = figures_at(T)
        print(f"figures at {T} tokens (build + JSON): " +
              ", ".join(f"{k} {v:.0f} ms" for k, v in f.items()))


if __name__ == "__main__":
    main()
