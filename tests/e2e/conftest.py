"""End-to-end harness: a real synwall on DPDK TAP vdevs between two network namespaces.

Each test gets its own TAP names, namespaces, EAL file prefix and socket (unique per test), so runs
never collide, and everything is removed afterwards. Processes are stopped by PID, never by name.
Traffic stays inside the namespaces (10.77.0.0/24 on the virtual wire).
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SYNWALL_BIN_DIR", ROOT / "target" / "release"))

CLIENT_IP = "10.77.0.1"
SERVER_IP = "10.77.0.2"
CLIENT_IP6 = "fd77::1"
SERVER_IP6 = "fd77::2"


def sh(cmd, check=True, timeout=60, **kw):
    """Runs a command (a list) and returns the CompletedProcess."""
    return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True, text=True, **kw)


def ns_exec(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def default_config(tap_a, tap_b, prefix, sock, stats, extra=""):
    return f"""
dataplane:
  eal: ["--no-huge", "-m", "1024", "--no-shconf", "--no-pci", "--file-prefix={prefix}",
        "--vdev=net_tap0,iface={tap_a}", "--vdev=net_tap1,iface={tap_b}"]
  workers: [1]
  mbufs: 16383
  ports:
    - {{ name: ethernet1/1, device: net_tap0, zone: trust }}
    - {{ name: ethernet1/2, device: net_tap1, zone: untrust }}
  vwires:
    - [ethernet1/1, ethernet1/2]
control:
  socket: {sock}
  stats: {stats}
{extra}
"""


ALLOW_BOTH_WAYS = """
rules:
  - { name: trust-to-untrust, from: [trust], to: [untrust], action: allow }
  - { name: untrust-to-trust, from: [untrust], to: [trust], action: allow }
"""


class Lab:
    """synwall between a client namespace and a server namespace."""

    def __init__(self, tmp: Path, config_extra: str = "", config_text: str | None = None,
                 rules: str | None = None):
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        self.tmp = tmp
        self.tap_a, self.tap_b = f"swa{tag}", f"swb{tag}"
        self.ns_client, self.ns_server = f"swc{tag}", f"sws{tag}"
        self.sock = tmp / "synwall.sock"
        self.stats = Path(f"/dev/shm/synwall-test-{tag}.stats")
        self.config = tmp / "synwall.yaml"
        if rules is None:
            rules = ALLOW_BOTH_WAYS
        text = config_text or default_config(
            self.tap_a, self.tap_b, f"sw{tag}", self.sock, self.stats, config_extra + rules
        )
        self.config.write_text(text)
        self.log = open(tmp / "synwall.log", "w+")
        self.proc = None
        self.servers = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout=30):
        self.proc = subprocess.Popen(
            [str(BIN / "synwall"), "--config", str(self.config)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"synwall exited {self.proc.returncode}: {self.output()}")
            r = sh([str(BIN / "synwallctl"), "--socket", str(self.sock), "--json",
                    "show", "system", "status"], check=False)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"synwall not ready in {timeout}s: {self.output()}")
        # The TAP PMD sets link flags by name in its own namespace: move the interfaces only now.
        for ns, tap, ip4, ip6 in ((self.ns_client, self.tap_a, CLIENT_IP, CLIENT_IP6),
                                  (self.ns_server, self.tap_b, SERVER_IP, SERVER_IP6)):
            sh(["ip", "netns", "add", ns])
            sh(["ip", "link", "set", tap, "netns", ns])
            sh(ns_exec(ns, "ip", "link", "set", "lo", "up"))
            sh(ns_exec(ns, "ip", "link", "set", tap, "up"))
            sh(ns_exec(ns, "ip", "addr", "add", f"{ip4}/24", "dev", tap))
            sh(ns_exec(ns, "ip", "-6", "addr", "add", f"{ip6}/64", "dev", tap, "nodad"))
        return self

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns synwall's exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def close(self):
        for p in self.servers:
            if p.poll() is None:
                p.kill()
                p.wait()
        try:
            self.stop()
        finally:
            for ns in (self.ns_client, self.ns_server):
                sh(["ip", "netns", "del", ns], check=False)
            self.stats.unlink(missing_ok=True)
            self.log.close()

    # -- helpers ---------------------------------------------------------------------------
    def ctl(self, *words, json_out=True, check=True):
        cmd = [str(BIN / "synwallctl"), "--socket", str(self.sock)]
        if json_out:
            cmd.append("--json")
        r = sh(cmd + list(words), check=False)
        if check and r.returncode != 0:
            raise RuntimeError(f"synwallctl {' '.join(words)} failed: {r.stderr}")
        return json.loads(r.stdout) if json_out and r.returncode == 0 else r

    def client(self, *cmd, timeout=60, check=False):
        return sh(ns_exec(self.ns_client, *cmd), check=check, timeout=timeout)

    def server(self, *cmd, timeout=60, check=False):
        return sh(ns_exec(self.ns_server, *cmd), check=check, timeout=timeout)

    def spawn_server(self, *cmd, cwd=None):
        p = subprocess.Popen(ns_exec(self.ns_server, *cmd), cwd=cwd,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.servers.append(p)
        return p

    def http_server(self, port=80, body="hello from the server side\n"):
        root = self.tmp / f"www{port}"
        root.mkdir(exist_ok=True)
        (root / "index.html").write_text(body)
        p = self.spawn_server("python3", "-m", "http.server", str(port), "--bind", "::", cwd=root)
        wait_for_listen(self, port)
        return p


def wait_for_listen(lab, port, proto="tcp", timeout=10):
    deadline = time.time() + timeout
    flag = "-ltn" if proto == "tcp" else "-lun"
    while time.time() < deadline:
        r = lab.server("ss", flag)
        if f":{port} " in r.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def interface_exists(name):
    return sh(["ip", "link", "show", name], check=False).returncode == 0


@pytest.fixture
def lab_factory():
    labs = []

    def make(**kw):
        tmp = Path(tempfile.mkdtemp(prefix="synwall-e2e-"))
        lab = Lab(tmp, **kw)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.close()


@pytest.fixture
def lab(lab_factory):
    return lab_factory().start()
