"""Opening an entry of the model folder safely, and the temporary files a save leaves behind.

The rule for every entry (core.checkpoints calls open_entry for each file it reads):

1. The entry is examined with lstat/stat BEFORE anything is opened, so a FIFO, socket or device
   can never block or be read: only a regular file is ever opened (and then without blocking,
   and checked again on the open descriptor in case it was swapped meanwhile).
2. A symbolic link is followed only when it resolves to a regular file directly in the folder
   that holds the link (e.g. `latest.safetensors -> sort.safetensors`). A link that points
   anywhere else (another folder, a subfolder, through `..`), a broken link and a link that
   loops are refused, each with its own reason; the entry is listed as unreadable.
3. A file larger than MAX_BYTES is refused from its size alone.

Orphans: save_checkpoint writes `.<name>.safetensors.<random>.tmp` and renames it; a process
killed in between leaves that file behind. Such names never end in `.safetensors` and start
with a dot, so the listing never shows them; clean_orphans() removes those older than
ORPHAN_AGE_S (a save in progress elsewhere is younger) and never follows a link.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import stat
import time
from pathlib import Path

MAX_BYTES = 64 * 1024 * 1024          # no shipped or trained model comes near this
ORPHAN_AGE_S = 300                     # a temporary file this old is no save in progress
SUFFIX = ".safetensors"
# `.sort.safetensors.3f9c2a1b7d4e.tmp` (this module's names) or `.sort.safetensors.k2_x9qzt.tmp`
# (tempfile.mkstemp's, which older versions of save_checkpoint used).
TEMP_RE = re.compile(r"\.(?P<target>.+\.safetensors)\.(?:[0-9a-f]{12}|[a-z0-9_]{8})\.tmp")
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_BINARY", 0))
_log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says why in plain words."""


def _kind_of(mode: int) -> str | None:
    """Why a non-regular file is not a model file, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a model file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a model file; it was not opened"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a model file; it was not opened"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a model file; it was not opened"
    return "is not a regular file; it was not opened"


def _fail(name: str, why: str) -> CheckpointError:
    return CheckpointError(f"{name}: {why}")


def _os_reason(e: OSError) -> str:
    return f"cannot read the file ({e.strerror or type(e).__name__})"


def resolve_entry(path) -> tuple[str, os.stat_result]:
    """(the path to open, its stat) for an entry, by the module's rule; CheckpointError if the
    entry is missing, a broken or looping link, a link leaving its folder, or not a regular
    file. Nothing is opened."""
    path = Path(path)
    name = path.name
    try:
        st = os.lstat(path)
    except OSError as e:
        raise _fail(name, _os_reason(e)) from None
    target = str(path)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.path.realpath(path, strict=True)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise _fail(name, "is a link that loops (it points back to itself)") from None
            if isinstance(e, FileNotFoundError):
                raise _fail(name, "is a broken link (what it points to does not exist)") from None
            raise _fail(name, f"is a link that cannot be followed ({e.strerror or e})") from None
        folder = os.path.realpath(path.parent)
        if os.path.dirname(target) != folder:
            raise _fail(name, "is a link to a file outside the model folder; such links are "
                              "refused (copy the file into the folder instead)")
        try:
            st = os.stat(target, follow_symlinks=False)
        except OSError as e:
            raise _fail(name, _os_reason(e)) from None
    why = _kind_of(st.st_mode)
    if why:
        raise _fail(name, why)
    return target, st


def open_entry(path, max_bytes: int | None = None):
    """Open a model-folder entry for reading by the module's rule -> (binary file, size).

    Raises CheckpointError (a ValueError) with a message ready to show. The caller closes the
    file (use it in a `with` block)."""
    name = Path(path).name
    target, st = resolve_entry(path)
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if st.st_size > limit:
        raise _fail(name, f"{st.st_size / 2**20:.0f} MB is larger than the {limit // 2**20} MB "
                          "a checkpoint may be")
    try:
        fd = os.open(target, _OPEN_FLAGS)
    except OSError as e:
        raise _fail(name, _os_reason(e)) from None
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
            raise _fail(name, "changed while it was being opened; try again")
        if now.st_size > limit:                              # it grew since the stat above
            raise _fail(name, f"{now.st_size / 2**20:.0f} MB is larger than the "
                              f"{limit // 2**20} MB a checkpoint may be")
        return os.fdopen(fd, "rb"), now.st_size
    except BaseException:
        os.close(fd)
        raise


def read_exactly(f, n: int, name: str) -> bytes:
    """n bytes from f, or CheckpointError when the file ends first (it shrank or is cut)."""
    data = f.read(n)
    if len(data) != n:
        raise _fail(name, "the file is truncated (it ends early)")
    return data


# ----------------------------------------------------------------------------- orphans
def temp_name(target: Path) -> str:
    """The temporary file name save_checkpoint writes `target` under (matches TEMP_RE)."""
    return f".{target.name}.{os.urandom(6).hex()}.tmp"


def clean_orphans(folder, min_age_s: float = ORPHAN_AGE_S) -> list[str]:
    """Delete the temporary files an interrupted save left in `folder` -> their names.

    Only regular files whose name matches TEMP_RE and whose last change is older than
    `min_age_s` seconds are removed; links (of any kind), folders and every other name are
    left alone, and nothing outside `folder` is touched. Call it once at startup; every save
    calls it for its own folder. Errors (a file removed meanwhile, no permission) are logged
    and skipped: cleaning never fails the caller.
    """
    removed = []
    cutoff = time.time() - min_age_s
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not TEMP_RE.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or st.st_mtime > cutoff:
                continue
            os.unlink(entry.path)
            removed.append(entry.name)
        except OSError as e:
            _log.info("could not remove the orphaned temporary file %s: %s", entry.path, e)
    if removed:
        _log.info("removed %d orphaned temporary file(s) in %s: %s", len(removed), folder,
                  ", ".join(removed))
    return removed
