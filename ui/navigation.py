"""The page table: one place for the sections, files, titles, icons and what each page shows."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# section -> [(file in views/, title, icon, one line on what it shows)]
PAGES = {
    "Learn": [
        ("home.py", "Home", ":material/home:", ""),
        ("attention_math.py", "Attention math", ":material/calculate:",
         "Scaled dot-product attention on a tiny editable example: Q, K, V, scores, mask, "
         "softmax, output; multi-head; the quadratic cost measured live."),
        ("positional.py", "Positional encodings", ":material/timeline:",
         "Sinusoidal values, periods and similarity; learned embeddings; RoPE; why order "
         "matters."),
    ],
    "Train": [
        ("train.py", "Train a model", ":material/model_training:",
         "Train a small model live in seconds, watch the loss fall and a head form, save it."),
    ],
    "Explore": [
        ("explorer.py", "Attention explorer", ":material/grid_on:",
         "Heatmaps per layer and head on your own input, head view, stages, statistics, "
         "ablation."),
        ("decoding.py", "Masked decoding", ":material/keyboard_tab:",
         "Step through causal decoding token by token: the mask, each head's new row, the "
         "next-token probabilities."),
        ("vit.py", "ViT patch attention", ":material/image:",
         "Which patches a vision transformer looks at, per head, with attention rollout."),
    ],
}

LECTURE_PATH = ["attention_math.py", "positional.py", "explorer.py", "decoding.py", "vit.py"]


def existing(section_entries):
    return [e for e in section_entries if (ROOT / "views" / e[0]).exists()]


def entry(file: str):
    for entries in PAGES.values():
        for e in entries:
            if e[0] == file:
                return e
    raise KeyError(file)
