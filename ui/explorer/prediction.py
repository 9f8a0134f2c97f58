"""The explorer's prediction line: the model's answer, checked against the right one where the
task can tell it (Inspection.expected), or a real-valued forecast drawn as a chart."""
from __future__ import annotations

import streamlit as st

from viz.decoding import forecast_figure

from ..widgets import chart


def _fmt(v) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def show_prediction(ins, label: str = "Prediction", presenter: bool = False,
                    dark: bool = False, key: str = "forecast", task=None) -> None:
    """One line: the prediction, a verdict where the task knows the answer, the lowest
    character confidence, and a warning where `task` finds the output impossible
    (Task.answer_problem: a date that does not exist); a forecast as a chart instead."""
    if ins.forecast is not None:
        forecast(ins.forecast, label, presenter, dark, key)
        return
    pred, truth = ins.prediction, ins.expected
    if pred is None:                  # a model without a head (a bare pretrained encoder)
        return
    shown = " ".join(map(_fmt, pred)) if isinstance(pred, (list, tuple)) else str(pred)
    verdict = ""
    if truth is not None:
        right = " ".join(map(str, truth)) if isinstance(truth, list) else truth
        verdict = (" :green[:material/check_circle: correct]" if pred == truth else
                   f" :red[:material/cancel: wrong, expected] `{right}`")
    if ins.confidence:
        verdict += f" · min. confidence {min(ins.confidence):.0%}"
    st.markdown(f"**{label}:** `{shown or '(empty)'}`{verdict}")
    problem = task.answer_problem(pred) if task is not None and isinstance(pred, str) else None
    if problem:
        st.warning(f"The model wrote `{pred}`: {problem}", icon=":material/warning:")
    if ins.prompt_len is not None and label == "Prediction":
        st.caption("A decoder writes its answer one token at a time; the maps show the whole "
                   f"sequence as the model saw it, prompt and answer: `{' '.join(ins.tokens)}`")


def forecast(f, label: str, presenter: bool, dark: bool, key: str) -> None:
    """A real-valued forecast (core.tasks.base.Forecast): inputs, forecast, truth, baseline."""
    pred = list(f.forecast)
    k = len(pred)
    scores = ""
    if f.truth is not None and f.baseline is not None:
        mse = sum((a - b) ** 2 for a, b in zip(pred, f.truth)) / k
        base = sum((a - b) ** 2 for a, b in zip(f.baseline, f.truth)) / k
        scores = f" · MSE against the truth {mse:.4f}, repeating the last period {base:.4f}"
    st.markdown(f"**{label}:** the next {k} values{scores}")
    period = f.period if f.period is not None else "?"
    chart(forecast_figure(f.inputs, pred, f.truth, f.baseline,
                          baseline_name=f"repeat last period ({period})", presenter=presenter,
                          dark=dark), key=key)
