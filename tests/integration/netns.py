"""Hosts as Linux network namespaces on one private LAN, for tests that need several machines.

A namespace "<prefix>-lan" holds a bridge (the switch, 10.214.0.1, also where the
API client runs); each host is a namespace with an eth0 on that bridge through a
veth pair, so all traffic between hosts stays inside the namespaces. Each process
also gets its own UTS namespace with the host's name, so ``%h`` in a Celery
hostname names the host as on a real machine. Needs root and iproute2.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SUBNET = "10.214.0"
LAN_IP = f"{SUBNET}.1"


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs iproute2 (`ip netns`) and util-linux (`unshare`)"
    probe = f"probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False)
    return None


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True  # gone


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Hosts:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def _add_namespace(self, host: str) -> str:
        ns = self.ns(host)
        _ip("netns", "add", ns)
        self.namespaces.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def create(self, hosts: dict[str, str]) -> None:
        """The switch namespace and one namespace per host name -> IPv4 address."""
        lan = self._add_namespace("lan")
        _ip("-n", lan, "link", "add", "br0", "type", "bridge")
        _ip("-n", lan, "addr", "add", f"{LAN_IP}/24", "dev", "br0")
        _ip("-n", lan, "link", "set", "br0", "up")
        for i, (host, address) in enumerate(hosts.items()):
            ns = self._add_namespace(host)
            port = f"port{i}"
            _ip("-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("-n", lan, "link", "set", port, "master", "br0", "up")
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def command(self, host: str, argv: list[str]) -> list[str]:
        """``argv`` on ``host``: in its network namespace, with its host name."""
        name_it = 'hostname "$0" && exec "$@"'
        return [
            "ip",
            "netns",
            "exec",
            self.ns(host),
            "unshare",
            "--uts",
            "sh",
            "-c",
            name_it,
            host,
            *argv,
        ]

    def start(self, host: str, argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                self.command(host, argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def run(self, host: str, argv: list[str], env: dict[str, str], timeout: float = 120):
        return subprocess.run(
            self.command(host, argv), env=env, capture_output=True, text=True, timeout=timeout
        )

    def pids(self, host: str) -> list[int]:
        """The host's live processes (a killed one may linger as a zombie until reaped)."""
        out = subprocess.run(
            ["ip", "netns", "pids", self.ns(host)], capture_output=True, text=True, check=False
        ).stdout
        for proc in self.procs:
            proc.poll()  # reap ours
        return [int(p) for p in out.split() if not _zombie(int(p))]

    def kill_host(self, host: str) -> list[int]:
        """SIGKILL every process of the host (as if it lost power); the pids killed."""
        pids = self.pids(host)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in self.procs:
            if proc.pid in pids or proc.poll() is not None:
                proc.poll()
        return pids

    def cleanup(self) -> None:
        """Kill every process in every namespace, reap them, delete the namespaces."""
        for ns in self.namespaces:
            self.kill_host(ns.removeprefix(f"{self.prefix}-"))
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        self.namespaces.clear()


def wait_until(check, timeout: float, what: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f}s")
