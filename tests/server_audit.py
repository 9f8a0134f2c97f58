"""Start the real app server as a user would, and watch what it does on the network.

    with audited_server(REPO) as srv:     # python -m streamlit run app.py --server.port N
        srv.url, srv.proc.pid, srv.log(), srv.events(), listening_sockets(srv.proc.pid)

Only the port is given on the command line: address, headless, statistics, file watcher and the
rest come from .streamlit/config.toml, which is what the tests check. A sitecustomize.py put on
PYTHONPATH installs an audit hook (sys.addaudithook) in the server, and in any Python process it
starts, that appends every socket.connect / getaddrinfo / sendto / bind, http.client.connect and
urllib.Request event to a file and BLOCKS (raises PermissionError for) every one that reaches
for another machine: outbound traffic is seen the moment it is attempted, and none leaves.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_SITECUSTOMIZE = '''
import ipaddress, os, sys
_log = os.environ.get("ATTNVIZ_AUDIT_LOG")
_events = {"socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg",
           "socket.bind", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo",
           "http.client.connect", "urllib.Request"}


def _local(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in (None, "", "localhost"):
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback) or ip.is_unspecified


def _host(event, args):
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"):
        address = args[0] if args else None
        return address[0] if isinstance(address, tuple) else None     # AF_UNIX: a path
    if event == "http.client.connect":
        return args[1]
    if event == "urllib.Request":
        from urllib.parse import urlsplit
        return urlsplit(str(args[0])).hostname
    if event == "socket.getnameinfo":
        return args[0][0]
    return args[0] if args else None


if _log:
    _fd = os.open(_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _hook(event, args):
        if event in _events:
            if event.startswith("socket.") and args and hasattr(args[0], "family"):
                args = args[1:]                       # the socket object itself says nothing
            os.write(_fd, (repr((os.getpid(), event, args)) + "\\n").encode("utf-8", "replace"))
            if event != "socket.bind" and not _local(_host(event, args)):
                raise PermissionError(f"blocked by the test: {event} {args!r}")  # nothing leaves

    sys.addaudithook(_hook)
'''


class Server:
    def __init__(self, proc, url, log_path, audit_path):
        self.proc, self.url, self.log_path, self.audit_path = proc, url, log_path, audit_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self) -> list[tuple]:
        """[(pid, event, args)] recorded so far."""
        import ast
        if not self.audit_path.exists():
            return []
        return [ast.literal_eval(line) for line in self.audit_path.read_text().splitlines()
                if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def audited_server(app_dir: Path, tmp: Path, script: str = "app.py", seconds: float = 90):
    """The app in `app_dir` served by `python -m streamlit run <script> --server.port N`."""
    hook_dir = tmp / "audit"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    audit, log_path = tmp / "audit.log", tmp / "server.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(ATTNVIZ_AUDIT_LOG=str(audit), PYTHONPATH=os.pathsep.join(
        [str(hook_dir)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script,
                                 "--server.port", str(port)], cwd=app_dir, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log_path, audit)
    try:
        _wait_healthy(server, seconds)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)


def _wait_healthy(server: Server, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"the server exited ({server.proc.returncode}):\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)                      # polling the health URL
    raise RuntimeError(f"no health 'ok' within {seconds:.0f} s:\n{server.log()[-3000:]}")


# ----------------------------------------------------------------------------- reading /proc
def _decode(hex_addr: str) -> tuple[str, int]:
    host, port = hex_addr.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:                                      # four little-endian 32-bit words
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1]
                                                        for i in range(0, 16, 4)))
    return ip, int(port, 16)


def process_sockets(pid: int) -> list[dict]:
    """The TCP sockets process `pid` holds: [{"local": (ip, port), "remote": (ip, port),
    "state": "LISTEN" | "ESTABLISHED" | hex}], read from /proc/<pid>/fd and /proc/net/tcp*."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    states = {"0A": "LISTEN", "01": "ESTABLISHED", "02": "SYN_SENT", "06": "TIME_WAIT"}
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[9] in inodes:
                    found.append({"local": _decode(parts[1]), "remote": _decode(parts[2]),
                                  "state": states.get(parts[3], parts[3])})
    return found


def is_loopback(host) -> bool:
    """True for 127.0.0.0/8, ::1, an IPv4-mapped loopback, 'localhost', or None/'' (no host)."""
    if host in (None, "", b"", "localhost", b"localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def outbound(events) -> list[tuple]:
    """The recorded events that reach for anything but this machine."""
    bad = []
    for pid, event, args in events:
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            address = args[0] if args else None
            if isinstance(address, tuple) and not is_loopback(address[0]):
                bad.append((pid, event, args))      # (str/bytes: an AF_UNIX path, local)
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                       "http.client.connect"):
            host = args[1] if event == "http.client.connect" else args[0]
            if not is_loopback(host):
                bad.append((pid, event, args))
        elif event == "socket.getnameinfo" and not is_loopback(args[0][0]):
            bad.append((pid, event, args))
        elif event == "urllib.Request":
            from urllib.parse import urlparse
            if not is_loopback(urlparse(str(args[0])).hostname):
                bad.append((pid, event, args))
    return bad
