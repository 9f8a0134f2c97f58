"""The ViT page against hostile input (issue 13), table-driven: every URL parameter it binds or
reads with junk (empty, whitespace, very long, NaN/inf, 1e309, negative, huge, non-numeric,
control characters, non-ASCII, markup), the number inputs past their bounds, the sidebar's
folder box, bad uploads of every kind for a grey task and a colour (pretrained) model, a model
too big for the memory limit, and runs that fail with a non-ValueError. Each must end with no
traceback and, where the input is refused, a clear message; a junk link shows the defaults."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ui.models
from core.budget import config_cost
from core.tasks import TASKS
from ui.vit import controls, inputs

from app_helpers import ok
from vit_page_helpers import TABS, open_page, png, pretrained_vit, titled

JUNK = ["", "   ", "x" * 5000, "inf", "-inf", "1e309", "nan", "-1", "-4",
        "99999999999999999999", "3.5", "\x00\x07\x1b[31m", "ü∞🙂", "<script>alert(1)</script>",
        "../../etc/passwd"]
PARAMS = ("image", "layer", "head", "query", "fusion", "discard", "vit_class", "vit_hard",
          "vit_seed", "vit_heads", "presenter")
DEFAULTS = {"image": 0, "layer": 0, "head": 0, "query": "CLS", "fusion": "mean",
            "discard": 0.0, "vit_class": "the predicted class", "vit_hard": "argmax",
            "vit_seed": 0}


@pytest.fixture(scope="module")
def digits():
    rows = [r for r in ui.models.checkpoints(("vit",)) if r["task"] == "digits"]
    if not rows:
        pytest.skip("no digits checkpoint")
    return rows[0]["name"]


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A pretrained ViT with 8 heads (the soft-vs-hard tab then has its heads picker)."""
    return pretrained_vit(tmp_path_factory.mktemp("hostile") / "wide-vit",
                          num_attention_heads=8)


def value(at, key):
    for kind in ("number_input", "selectbox", "slider", "button_group", "multiselect"):
        found = [w for w in getattr(at, kind) if w.key == key]
        if found:
            return found[0].value
    return None


@pytest.mark.parametrize("junk", JUNK, ids=[repr(j)[:14] for j in JUNK])
@pytest.mark.parametrize("view", ["One head", "Rollout", "Soft vs hard"])
def test_junk_in_every_url_parameter_shows_the_defaults(digits, wide, view, junk):
    soft = view == "Soft vs hard"
    at = open_page("wide-vit" if soft else digits, [wide] if soft else (), view=view,
                   params={p: junk for p in PARAMS} | {"vit_view": view})
    assert not at.error, [e.value for e in at.error]
    for key, default in DEFAULTS.items():
        shown = value(at, key)
        assert shown is None or shown == default, (key, shown)
    if view == "One head":
        assert titled(at, "layer 0 · head 0 · query CLS")
    elif view == "Rollout":
        assert titled(at, "rollout from CLS · mean over heads · discard 0%")
    else:
        assert value(at, "vit_heads") == [0, 1, 2, 3]


@pytest.mark.parametrize("junk", JUNK + ["One  head", "rollout"], ids=lambda j: repr(j)[:14])
def test_junk_view_or_model_falls_back(digits, junk):
    at = open_page(digits, params={"vit_view": junk, "model": junk})
    assert titled(at, "layer 0 · head 0 · query CLS")                   # the first tab
    at = open_page(None, params={"model": junk}, check=True)
    assert at.sidebar.selectbox(key="model").value == at.sidebar.selectbox(key="model").options[0]


@pytest.mark.parametrize("key, bad", [("image", 10 ** 12), ("image", -5), ("vit_seed", 10 ** 9),
                                      ("vit_seed", -1)])
def test_numbers_past_their_bounds(digits, key, bad):
    at = open_page(digits, view="Soft vs hard" if key == "vit_seed" else None)
    if key == "vit_seed":
        at.button_group(key="vit_hard").set_value("sample").run()
    at.number_input(key=key).set_value(bad).run()
    ok(at)
    assert 0 <= at.number_input(key=key).value <= 10 ** 6


@pytest.mark.parametrize("path, message", [
    ("/nonexistent/model", "There is no folder at"), ("/etc", "has no config.json"),
    ("\x00\x07", ""), ("../../../../", "is a relative path"), ("x" * 1000, ""), ("ü∞🙂", "")])
def test_the_folder_box_refuses_bad_paths(digits, path, message):
    at = open_page(digits)
    at.sidebar.text_input(key="pretrained_folder").input(path).run()
    at.sidebar.button(key="pretrained_open").click().run()
    ok(at)
    assert at.sidebar.error and message in at.sidebar.error[0].value.replace("\\", "")
    assert titled(at, "layer 0 · head 0")                               # the page goes on


def _bomb() -> bytes:
    """A 1-bit PNG that says 30,000 × 30,000 pixels (900 M): a few hundred kB on disk."""
    import io
    buf = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(buf, format="PNG")
    return buf.getvalue()


GOOD = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
BAD_FILES = {
    "text": (b"hello, I am a text file\n", "not a PNG or JPEG"),
    "truncated": (png(GOOD)[:300], "damaged or truncated"),
    "empty": (b"", "empty"),
    "too big": (b"\x89PNG" + b"\x00" * 2_100_000, "at most 2.0 MB"),
    "long side": (png(np.zeros((3, 5000, 3), dtype=np.uint8)), "5000×3 pixels"),
    "one pixel": (png(np.full((1, 1, 3), 90, dtype=np.uint8)), "1×1 pixels; each side must be 2"),
    "one row": (png(GOOD[:1]), "40×1 pixels; each side must be 2"),
    "bomb": (_bomb(), "pixels"),
    "gif": (png(GOOD, "GIF"), "not a PNG or JPEG"),
    "svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a PNG or JPEG"),
}


@pytest.mark.parametrize("model", ["digits", "pretrained"])
@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_uploads_get_a_message_and_no_result(digits, wide, model, kind):
    data, message = BAD_FILES[kind]
    at = open_page(digits) if model == "digits" else open_page("wide-vit", [wide])
    at.button_group(key="vit_source").set_value("upload").run()
    # (a NUL byte in the name never reaches the page: Streamlit refuses it before any script)
    at.file_uploader(key="vit_upload").upload("../../\x07evil`name`.png", data, "image/png").run()
    ok(at)
    assert at.error and at.error[0].value.startswith("Cannot use this file")
    assert message in at.error[0].value, at.error[0].value
    assert not titled(at, "layer 0")                                    # no stale result


def test_a_flat_image_is_refused_for_a_grey_task_only(wide):
    flat = png(np.full((32, 32, 3), 200, dtype=np.uint8))
    assert "one flat colour" in inputs.read_upload(TASKS["digits"], flat)[1]
    from core.pretrained import load_pretrained
    from core.pretrained.tasks import task_for
    example, message = inputs.read_upload(task_for(load_pretrained(wide, device="cpu")), flat)
    assert message is None and example.shape == (32, 32, 3)             # a grey photo is fine


def test_a_good_upload_with_a_hostile_name_is_shown_safely(digits):
    at = open_page(digits)
    at.button_group(key="vit_source").set_value("upload").run()
    at.file_uploader(key="vit_upload").upload("`x`\\y\x07z" + "n" * 100 + ".png", png(GOOD),
                                              "image/png").run()
    ok(at)
    line = next(m.value for m in at.markdown if m.value.startswith("**Prediction"))
    assert "upload `xyz" in line and "\\" not in line and "\x07" not in line
    assert "n" * 41 not in line                                         # the name is cut


def test_a_vit_over_the_memory_limit_is_refused_before_it_runs(tmp_path):
    """Issue 13's example: 4,096 patches, 64 heads, 24 layers ask for about 100 GB."""
    huge = pretrained_vit(tmp_path / "huge-vit", hidden_size=64, num_attention_heads=64,
                          num_hidden_layers=24, intermediate_size=64, image_size=1024,
                          patch_size=16)
    at = open_page("huge-vit", [huge])
    assert any("One image through this model needs about" in e.value and "GB" in e.value
               and "the limit is" in e.value for e in at.error), [e.value for e in at.error]
    assert not titled(at, "what the model sees")


def test_the_class_map_has_its_own_budget(digits, monkeypatch):
    cfg = ui.models.load(next(r for r in ui.models.checkpoints(("vit",))
                              if r["name"] == digits))[0].cfg
    cost = config_cost(cfg)
    backward = cost.total + cost.working_bytes + 2 * cost.weights_bytes
    monkeypatch.setenv("ATTNVIZ_MEMORY_LIMIT_MB", str((cost.total + backward) / 2 / 1e6))
    at = open_page(digits, view="Rollout")
    assert titled(at, "rollout from CLS") and not titled(at, "class map")
    assert any(e.value.startswith("No class map: The class map of this model needs about")
               for e in at.error)


@pytest.mark.parametrize("error, words", [
    (RuntimeError("CUDA error: an illegal memory access was encountered"), "compute device"),
    (MemoryError(), "ran out of memory"), (KeyError("bug"), "failed unexpectedly")])
def test_a_failed_run_ends_with_a_message_and_the_page_goes_on(digits, monkeypatch, error,
                                                               words):
    def boom(*args, **kwargs):
        raise error
    monkeypatch.setattr(TASKS["digits"], "inspect", boom)
    at = open_page(digits)
    assert any(words in e.value and "reference" in e.value for e in at.error)
    assert at.sidebar.selectbox(key="model").value == digits            # the page went on
    monkeypatch.undo()
    at.number_input(key="image").set_value(1).run()                     # and the next run works
    ok(at)
    assert titled(at, "layer 0 · head 0")


def test_a_failed_class_map_leaves_the_rollout(digits, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
    monkeypatch.setattr(controls, "grad_rollout", boom)
    at = open_page(digits, view="Rollout")
    assert titled(at, "rollout from CLS") and not titled(at, "class map")
    assert any("ran out of memory" in e.value for e in at.error)


def test_every_tab_opens_on_every_model_kind(digits, wide, tmp_path):
    bare = pretrained_vit(tmp_path / "bare-vit", classifier=False)
    for model, folders in ((digits, ()), ("wide-vit", [wide]), ("bare-vit", [bare])):
        for view in TABS:
            open_page(model, folders, view=view)
