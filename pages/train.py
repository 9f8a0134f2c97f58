"""Train a model live: task, architecture, schedule; watch the loss, the metrics and a head form."""
import streamlit as st

from ui.models import CHECKPOINT_DIR
from ui.navigation import ensure_router
from ui.state import JOB
from ui.train import controls as tc
from ui.train import views as tv

ensure_router()
st.title("Train a model")
if not tc.trainable():
    st.error("No task with training data is available.")
    st.stop()
job = st.session_state.get(JOB)            # this session's run, if any

task = tc.task_picker()
cfg, run = tc.settings(task)
est = tc.estimate(task, cfg, run)
tc.start_button(task, cfg, run, est, job)

if job is not None:
    st.divider()
    tv.progress(job)
    if not job.running and job.model is not None:
        tv.save_form(job, CHECKPOINT_DIR)
