"""What the app's server does once, when it starts: stay on this machine, tidy the model folder.

`start()` is called by app.py as the server imports it at start-up (before the server accepts
a connection; see app.py), and again at the top of every script run, where it returns at once
(AppTest and other hosts that never import app.py as a module still get it on the first run).

* Offline: Streamlit 1.67 checks the Origin of a cross-origin websocket (a page of another
  site reaching for this server) against this machine's addresses, found by a UDP "connect" to
  8.8.8.8 and an HTTP request to checkip.amazonaws.com (streamlit.web.server.server_util.
  is_url_from_allowed_origins, through streamlit.net_util); no config option turns that off.
  Both lookups are replaced by functions that find nothing, so such an origin is refused
  without a packet leaving the machine (loopback and same-origin connections are unaffected;
  `browser.serverAddress` and `server.corsAllowedOrigins` still allow what they name).
* Orphans: temporary files an interrupted save left in the checkpoint folder are removed
  (core.checkpoints.clean_orphans: only old ones, only regular files, nothing outside).

Nothing here imports torch.
"""
from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_started = False
log = logging.getLogger(__name__)


def _nothing() -> None:
    """In place of Streamlit's address lookups: no address found, nothing sent."""
    return None


def keep_offline() -> None:
    """Make Streamlit's internal- and external-IP lookups find nothing, without any traffic."""
    from streamlit import net_util
    net_util.get_internal_ip = _nothing
    net_util.get_external_ip = _nothing


def start(folder=None) -> bool:
    """Once per process: keep_offline() and clean the checkpoint folder (ui.models'
    CHECKPOINT_DIR unless `folder` is given). True on the call that did it."""
    global _started
    if _started:
        return False
    with _lock:
        if _started:
            return False
        keep_offline()
        if folder is None:
            from .models import CHECKPOINT_DIR as folder
        from core.checkpoint_files import clean_orphans
        removed = clean_orphans(folder)
        if removed:
            log.info("removed %d orphaned temporary file(s) from %s", len(removed), folder)
        _started = True
        return True
