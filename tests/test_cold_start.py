"""Cold start (issue 14): the home page's path imports neither torch nor a model, in a fresh
process, so the first page a user opens draws without waiting for them; and the server's own
start-up import of app.py (ui.server.start) is as light and makes no address lookups.

Each check runs in a subprocess: this test process has long imported torch."""
from __future__ import annotations

import json
import subprocess
import sys

from app_helpers import APP

# (plotly is not here: `import streamlit` itself imports plotly.graph_objects, in the server
# process before it is healthy.)
HEAVY = ("torch", "core.tasks", "core.models", "core.attention", "transformers", "viz",
         "sklearn", "safetensors")


def run_python(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=APP.parent, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def heavy_in(modules) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_the_home_page_imports_no_torch_and_no_model():
    seen = run_python(f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()
print(json.dumps({{"errors": [str(e.value) for e in at.exception],
                  "title": [t.value for t in at.title],
                  "captions": [c.value for c in at.sidebar.caption],
                  "modules": sorted(sys.modules)}}))
""")
    assert seen["errors"] == [] and seen["title"] == ["Attention Visualizer"]
    assert heavy_in(seen["modules"]) == []
    assert not any(c.startswith("Device:") for c in seen["captions"])   # that needs torch
    assert "ui.server" in seen["modules"] and "ui.theme" in seen["modules"]   # it did run


def test_a_model_page_still_gets_torch_and_the_device():
    """The control: the same measure sees torch once a page that runs models is opened."""
    seen = run_python(f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()
at.switch_page("pages/explorer.py").run()
print(json.dumps({{"errors": [str(e.value) for e in at.exception],
                  "captions": [c.value for c in at.sidebar.caption],
                  "modules": sorted(sys.modules)}}))
""")
    assert seen["errors"] == []
    assert "torch" in seen["modules"]
    assert any(c.startswith("Device:") for c in seen["captions"])


def test_the_servers_start_up_import_is_light_and_offline():
    """What `streamlit run app.py` does first: import app.py as a module (no script run
    context), which must give Streamlit its st.App, patch the address lookups and import no
    torch."""
    seen = run_python("""
import json, sys
import streamlit as st
import app
from streamlit import net_util
print(json.dumps({"is_app": isinstance(app.app, st.App),
                  "internal": net_util.get_internal_ip(), "external": net_util.get_external_ip(),
                  "modules": sorted(sys.modules)}))
""")
    assert seen["is_app"] and seen["internal"] is None and seen["external"] is None
    assert heavy_in(seen["modules"]) == []
