"""Published sizes of well-known transformers (core/data/model_sizes.csv, each with its paper)
next to ours, for the lecture's "how big are these models" table and figure."""
from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "model_sizes.csv"
FIELDS = ("model", "parameters", "family", "source", "note")


def published_sizes(path=DATA) -> list[dict]:
    """Rows of the CSV: {"model", "parameters" (int), "family", "source", "note"}, in file
    order. ValueError naming the line when a row is malformed."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise ValueError(f"{path}: expected columns {FIELDS}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                n = int(row["parameters"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{line}: parameters must be an integer, got "
                                 f"{row['parameters']!r}") from None
            if n <= 0 or not row["model"] or not row["source"]:
                raise ValueError(f"{path}:{line}: needs a model, a positive size and a source")
            rows.append({**row, "parameters": n})
    return rows


def size_table(ours: dict | None = None, path=DATA) -> list[dict]:
    """Our models ({name: parameter count}, e.g. from model.num_parameters()) and the published
    ones, smallest first. Each row adds "ours": True/False and "size" (human(parameters));
    ours have family "ours", source "this app" and an empty note."""
    rows = [{**r, "ours": False} for r in published_sizes(path)]
    for name, n in (ours or {}).items():
        n = int(n)
        if n <= 0:
            raise ValueError(f"{name}: a parameter count must be positive, got {n}")
        rows.append({"model": str(name), "parameters": n, "family": "ours",
                     "source": "this app", "note": "", "ours": True})
    for r in rows:
        r["size"] = human(r["parameters"])
    return sorted(rows, key=lambda r: (r["parameters"], r["model"]))


def human(n: int) -> str:
    """12,345 -> "12.3 k", 65e6 -> "65 M", 1.542e9 -> "1.5 B", 175e9 -> "175 B"."""
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            v = n / scale
            return f"{v:.0f} {unit}" if v >= 100 or v == int(v) else f"{v:.3g} {unit}"
    return str(int(n))
