"""The session-state contract: every st.session_state key that more than one module reads, named
once, with the one module that owns (writes) it and who else may touch it.

Per-user state lives in st.session_state (never on a cached object). A key used by one module only
is a named constant in that module. Keys that are also widget keys bound to the URL query string
(marked URL) are public API: links such as ?model=sort&input=3 1 2&layer=1&head=0 depend on them.
"""
from __future__ import annotations

# -- the shared sidebar (ui.sidebar) ----------------------------------------------------------
PRESENTER = "presenter"        # URL. Owner: ui.sidebar.render_common (the toggle).
#                                Read: ui.theme.presenting (every page, through presenter()).
THEME = "theme"                # URL (?theme=dark). Owner: ui.theme.theme_control (the sidebar's
#                                Theme control). Read: ui.theme.dark (every page's figures).
MODEL = "model"                # URL. Owner: ui.sidebar.model_picker (its selectbox).
CHOSEN_MODEL = "chosen_model"  # The user's model choice, kept for the pages that cannot offer it.
#                                Owner: ui.sidebar.model_picker. Also written by
#                                ui.train.views.save_form: a model just saved becomes the choice.

USER_FOLDERS = "pretrained_folders"  # Hugging Face folders this user opened by path.
#                                Owner: ui.pretrained.open_folder_box. Read: ui.pretrained.rows.

# -- the input box of the explorer and the decoding page ---------------------------------------
INPUT = "input"                # URL. Owner: ui.widgets.page_input, which puts the page's own
#                                remembered text (per page and task) in it before the page draws
#                                its box; the box, its example buttons and the explorer's sample
#                                picker write it through callbacks that page_input hands out.

# -- which head is shown (explorer, decoding, ViT) ---------------------------------------------
LAYER = "layer"                # URL. Owner: ui.widgets.layer_head_pickers (clamped, then drawn).
HEAD = "head"                  # URL. Same owner. Also written by ui.explorer.controls.select,
#                                the callback of the explorer's grid pick and statistics table.
#                                And by ui.head_switch (its component's callback) when a head is
#                                picked on the explorer's one-head map in the browser.
MODULE = "module"              # URL. Owner: ui.explorer.controls.pick_head; also select().
AUTO_SCALE = "auto_scale"      # Owner: ui.explorer.controls.pick_head (a toggle).
#                                Read: ui.explorer.views.heatmap.
ABLATE = "ablate"              # Owner: ui.explorer.ablation (its multiselect). Cleared by
#                                ui.explorer.controls.input_box when the task changes.
# The explorer's own URL keys, each with one owner (named there): "show_special" (the special-
# token toggle, ui.explorer.shown), "pattern" (the ranking's pattern, ui.explorer.stats),
# "view" (the tabs, pages/explorer.py).
QUERY = "query"                # URL. Owner: ui.vit.controls.pick_head (its selectbox). Also
#                                written by ui.vit.views (a click on a patch makes it the query).
FUSION = "fusion"              # Owner: pages/vit.py (rollout's fusion control). Kept across
DISCARD = "discard"            # runs that stop early by ui.vit.controls.keep_state.

# -- the Train page ----------------------------------------------------------------------------
JOB = "train_job"              # This session's training job (a core.jobs.TrainingJob).
#                                Owner: ui.train.controls.start_button. Read: pages/train.py.
TRAIN_TASK = "task"            # URL parameter (?task=dates_rnn), not a widget key. Written by
#                                ui.train.controls.task_picker (the task shown), read there.
