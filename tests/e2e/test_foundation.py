"""Issue 2: a poll-mode virtual wire on DPDK TAP vdevs, between two network namespaces."""

import os
import signal
import subprocess
import time

from conftest import BIN, SERVER_IP, SERVER_IP6, interface_exists, sh


def port(status, name):
    return next(p for p in status["ports"] if p["name"] == name)


def test_curl_through_the_virtual_wire(lab):
    body = "synwall foundation test page\n"
    lab.http_server(80, body)
    before = lab.ctl("show", "system", "status")
    r = lab.client("curl", "-sS", "--max-time", "10", f"http://{SERVER_IP}/index.html")
    assert r.returncode == 0, r.stderr
    assert r.stdout == body
    r6 = lab.client("curl", "-sS", "--max-time", "10", f"http://[{SERVER_IP6}]/index.html")
    assert r6.returncode == 0, r6.stderr
    assert r6.stdout == body
    after = lab.ctl("show", "system", "status")
    trust, untrust = port(after, "ethernet1/1"), port(after, "ethernet1/2")
    # Requests enter on the trust port and leave by the untrust port; answers the other way.
    assert trust["rx_packets"] - port(before, "ethernet1/1")["rx_packets"] >= 10
    assert untrust["rx_packets"] - port(before, "ethernet1/2")["rx_packets"] >= 10
    assert trust["tx_packets"] >= untrust["rx_packets"] - 2
    assert untrust["tx_packets"] >= trust["rx_packets"] - 2
    assert untrust["tx_bytes"] > len(body)
    # (A TAP interface drops writes while it is being moved into its namespace: compare deltas.)
    for name in ("ethernet1/1", "ethernet1/2"):
        assert port(after, name)["tx_drops"] == port(before, name)["tx_drops"]
    assert sum(w["packets"] for w in after["workers"]) == trust["rx_packets"] + untrust["rx_packets"]


def test_sigterm_exits_zero_and_removes_taps(lab):
    assert lab.client("ping", "-c", "1", "-W", "5", SERVER_IP).returncode == 0
    code = lab.stop()
    assert code == 0, lab.output()
    for ns, tap in ((lab.ns_client, lab.tap_a), (lab.ns_server, lab.tap_b)):
        r = sh(["ip", "netns", "exec", ns, "ip", "link", "show", tap], check=False)
        assert r.returncode != 0, f"{tap} still exists in {ns}"
    assert not interface_exists(lab.tap_a) and not interface_exists(lab.tap_b)
    assert "synwall: stopped" in lab.output()
    assert not lab.sock.exists()


def test_sigint_before_namespaces_also_cleans_up(lab_factory):
    lab = lab_factory()
    lab.proc = subprocess.Popen([str(BIN / "synwall"), "--config", str(lab.config)],
                                stdout=lab.log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while not interface_exists(lab.tap_a) and time.time() < deadline:
        time.sleep(0.1)
    while time.time() < deadline:
        if isinstance(lab.ctl("show", "system", "status", check=False), dict):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    lab.proc.send_signal(signal.SIGINT)
    assert lab.proc.wait(20) == 0, lab.output()
    assert not interface_exists(lab.tap_a) and not interface_exists(lab.tap_b)


def run_synwall(config_path, *extra, user=None):
    cmd = [str(BIN / "synwall"), "--config", str(config_path), *extra]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid=nogroup", "--clear-groups"] + cmd
    return sh(cmd, check=False, timeout=60)


def test_check_accepts_the_quickstart_config():
    r = run_synwall(BIN.parents[1] / "configs" / "quickstart.yaml", "--check")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "config ok"


def test_clear_errors_for_common_mistakes(lab_factory, tmp_path):
    lab = lab_factory()
    base = lab.config.read_text()

    def fails_with(text, *needles, user=None):
        cfg = tmp_path / f"c{abs(hash(text))}.yaml"
        cfg.write_text(text)
        r = run_synwall(cfg, user=user)
        assert r.returncode != 0
        assert "panicked" not in r.stderr
        for n in needles:
            assert n in r.stderr, r.stderr
        return r

    # A device that does not exist: names it, lists what exists.
    fails_with(base.replace("device: net_tap1", "device: net_tap9"), "net_tap9", "net_tap0")
    # Bad EAL arguments.
    fails_with(base.replace('"--no-pci",', '"--no-pci", "--bogus-eal-flag",'), "EAL")
    # A pool too small for the ports' descriptors.
    fails_with(base.replace("mbufs: 16383", "mbufs: 1100"), "dataplane.mbufs", "raise")
    # A worker lcore the EAL does not have.
    fails_with(base.replace("workers: [1]", "workers: [1, 7]").replace('"--no-pci",', '"--no-pci", "-l", "0,1",'), "lcore 7")
    # Not root.
    fails_with(base, "root", user="nobody")
    # No interfaces were left behind by any of these.
    assert not interface_exists(lab.tap_a) and not interface_exists(lab.tap_b)


def test_check_lists_every_error_with_its_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("""dataplane:
  eal: ["--no-huge"]
  workers: [1]
  ports:
    - { name: ethernet1/1, device: net_tap0, zone: trust }
    - { name: ethernet1/2, device: net_tap1, zone: untrust }
  vwires:
    - [ethernet1/1, ethernet1/3]
session:
  timeouts: { tcp: 0, udp: 30 }
rules:
  - { name: r1, from: [trust], to: [dmz], destination: [10.0.0.1/24], action: allow }
""")
    r = run_synwall(cfg, "--check")
    assert r.returncode != 0
    assert "line 8: dataplane.vwires[0][1]" in r.stderr
    assert "line 10: session.timeouts.tcp" in r.stderr
    assert "line 12: rules[0].to[0]: unknown zone \"dmz\"" in r.stderr
    assert "line 12: rules[0].destination[0]" in r.stderr
    assert "config ok" not in r.stdout
