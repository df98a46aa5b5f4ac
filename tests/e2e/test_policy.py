"""Issue 4: the security policy and its actions, with real clients and servers through TAP vdevs."""

import subprocess
import time

from conftest import SERVER_IP, wait_for_listen
from test_sessions import traffic, wait_for, counters

SHORT = """
session:
  timeouts: {{ tcp_time_wait: 1, discard_tcp: 20, discard_udp: 20 }}
logging:
  traffic: {{ path: {log} }}
"""


def rules(action, port=80, extra_rules=""):
    return f"""
services:
  web: {{ protocol: tcp, ports: ["{port}"] }}
  dns-udp: {{ protocol: udp, ports: ["53"] }}
rules:{extra_rules}
  - {{ name: refuse-web, from: [trust], to: [untrust], service: [web, dns-udp], action: {action} }}
  - {{ name: trust-to-untrust, from: [trust], to: [untrust], action: allow }}
  - {{ name: untrust-to-trust, from: [untrust], to: [trust], action: allow }}
"""


def policy_lab(lab_factory, action, extra_rules=""):
    lab = lab_factory(rules=rules(action, extra_rules=extra_rules))
    lab.config.write_text(lab.config.read_text() + SHORT.format(log=lab.tmp / "traffic.jsonl"))
    return lab.start()


def curl(lab, port=80, max_time=3):
    start = time.time()
    r = lab.client("curl", "-sS", "--max-time", str(max_time), f"http://{SERVER_IP}:{port}/")
    return r, time.time() - start


def deny_record(lab, action):
    recs = wait_for(lambda: [e for e in traffic(lab) if e["subtype"] in ("deny", "drop") and e["dport"] == 80])
    assert recs, traffic(lab)
    r = recs[0]
    assert r["action"] == action and r["session_end_reason"] == "policy-deny" and r["rule"] == "refuse-web", r
    flows = [e["sport"] for e in recs]
    assert len(flows) == len(set(flows)), "a refused flow is logged once, retransmissions included"
    return r


def tcpdump(lab, ns_attr, filt):
    ns = getattr(lab, ns_attr)
    iface = lab.tap_b if ns_attr == "ns_server" else lab.tap_a
    p = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-n", "-l", "-i", iface, filt],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.servers.append(p)
    # Wait until it captures ("listening on ..." on stderr).
    for _ in range(5):
        if "listening on" in p.stderr.readline():
            break
    time.sleep(0.2)
    return p


def stop_dump(p):
    time.sleep(0.5)  # let the last packets reach tcpdump's output
    p.terminate()
    out, _ = p.communicate(timeout=5)
    return out


def test_allowed_service_passes_and_other_ports_do_not_hit_the_rule(lab_factory):
    lab = policy_lab(lab_factory, "drop")
    lab.http_server(8080, "eight\n")
    r, _ = curl(lab, 8080)
    assert r.returncode == 0 and r.stdout == "eight\n", r.stderr


def test_reset_client_fails_curl_at_once(lab_factory):
    lab = policy_lab(lab_factory, "reset-client")
    lab.http_server(80)
    r, took = curl(lab, 80, max_time=10)
    assert r.returncode == 7 and took < 2, (r.returncode, took, r.stderr)  # refused, not a time-out
    deny_record(lab, "reset-client")


def test_reset_server_reaches_the_server(lab_factory):
    lab = policy_lab(lab_factory, "reset-server")
    lab.http_server(80)
    dump = tcpdump(lab, "ns_server", "tcp[tcpflags] & tcp-rst != 0")
    r, _ = curl(lab, 80, max_time=2)
    assert r.returncode != 0
    out = stop_dump(dump)
    assert "10.77.0.1" in out and "> 10.77.0.2.80" in out, out  # a RST from the client's address
    deny_record(lab, "reset-server")


def test_reset_both(lab_factory):
    lab = policy_lab(lab_factory, "reset-both")
    lab.http_server(80)
    dump = tcpdump(lab, "ns_server", "tcp[tcpflags] & tcp-rst != 0")
    r, took = curl(lab, 80, max_time=10)
    assert r.returncode == 7 and took < 2, (r.returncode, took)
    assert "> 10.77.0.2.80" in stop_dump(dump)
    deny_record(lab, "reset-both")


def test_drop_times_out(lab_factory):
    lab = policy_lab(lab_factory, "drop")
    lab.http_server(80)
    r, took = curl(lab, 80, max_time=3)
    assert r.returncode == 28 and took >= 2.5, (r.returncode, took)  # timed out
    deny_record(lab, "drop")
    assert counters(lab)["drops"]["policy"] >= 2  # the SYN and its retransmissions


def test_drop_icmp_is_reported_by_the_client_stack(lab_factory):
    lab = policy_lab(lab_factory, "drop-icmp")
    lab.http_server(80)
    r, took = curl(lab, 80, max_time=10)
    assert r.returncode == 7 and took < 3, (r.returncode, took, r.stderr)
    # The kernel turned the ICMP "administratively prohibited" into EHOSTUNREACH.
    r = lab.client("python3", "-c", f"""
import socket, errno
try:
    socket.create_connection(('{SERVER_IP}', 80), timeout=5)
    print('connected')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
""")
    assert r.stdout.strip() == "EHOSTUNREACH", r.stdout + r.stderr
    deny_record(lab, "drop-icmp")


def test_deny_udp_is_silent_and_logged(lab_factory):
    lab = policy_lab(lab_factory, "deny")
    r = lab.client("dig", "+tries=1", "+time=1", f"@{SERVER_IP}", "example.test")
    assert r.returncode != 0
    recs = wait_for(lambda: [e for e in traffic(lab) if e["subtype"] == "deny" and e["dport"] == 53])
    assert recs and recs[0]["action"] == "deny" and recs[0]["proto"] == "udp", traffic(lab)


def test_stateless_rule_lets_ack_probes_through(lab_factory):
    stateless = """
  - { name: probes, from: [trust], to: [untrust], service: [probe], action: allow, connection_tracking: false }
  - { name: probe-answers, from: [untrust], to: [trust], source: [10.77.0.2], destination: [10.77.0.1], action: allow, connection_tracking: false }"""
    lab = lab_factory(rules=rules("drop", extra_rules=stateless).replace(
        "services:\n", "services:\n  probe: { protocol: tcp, ports: [\"9\"] }\n"))
    lab.config.write_text(lab.config.read_text() + SHORT.format(log=lab.tmp / "traffic.jsonl"))
    lab.start()
    # Port 9 matches the stateless rule: the server's stack answers the bare ACK with a RST.
    r = lab.client("hping3", "-c", "2", "-i", "u200000", "-A", "-p", "9", SERVER_IP, timeout=30)
    assert "2 packets received" in r.stdout + r.stderr, r.stdout + r.stderr
    # Port 22 goes the stateful way: a bare ACK with no session is dropped (non-SYN).
    r = lab.client("hping3", "-c", "2", "-i", "u200000", "-A", "-p", "22", SERVER_IP, timeout=30)
    assert "0 packets received" in r.stdout + r.stderr, r.stdout + r.stderr
    c = counters(lab)
    assert c["tcp_non_syn_drop"].get("A", 0) >= 2


def test_reload_keeps_a_transfer_then_a_denying_reload_ends_it(lab_factory):
    lab = policy_lab(lab_factory, "drop")
    lab.spawn_server("python3", "-c", """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 7070)); s.listen()
c, _ = s.accept()
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
    c.sendall(b'%d\\n' % n)
""")
    wait_for_listen(lab, 7070)
    client = subprocess.Popen(["ip", "netns", "exec", lab.ns_client, "python3", "-u", "-c", f"""
import socket, time, sys
c = socket.create_connection(('{SERVER_IP}', 7070), timeout=3)
sent = 0
try:
    for i in range(200):
        c.sendall(b'x' * 1000); sent += 1000
        line = c.recv(100)
        assert int(line.split()[-1]) == sent, (line, sent)
        time.sleep(0.05)
    print('complete', sent)
except Exception as e:
    print('broken after', sent, type(e).__name__)
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.servers.append(client)
    time.sleep(2)
    # A reload that still allows the flow: nothing lost.
    r = lab.ctl("reload")
    assert r["reloaded"] and r["sessions_ended"] == 0, r
    # An invalid config is refused and the running one stays.
    good = lab.config.read_text()
    lab.config.write_text(good.replace("action: drop", "action: explode"))
    bad = lab.ctl("reload", check=False)
    assert bad.returncode != 0 and "running config kept" in bad.stderr, bad.stderr
    lab.config.write_text(good)
    time.sleep(1)
    assert client.poll() is None, "the transfer is still running"
    # Now deny it: the session ends policy-deny, the client's next exchange fails.
    lab.config.write_text(good.replace('ports: ["80"]', 'ports: ["7070"]'))
    r = lab.ctl("reload")
    assert r["sessions_ended"] == 1, r
    out, _ = client.communicate(timeout=30)
    assert "broken after" in out, out
    recs = wait_for(lambda: [e for e in traffic(lab) if e["dport"] == 7070 and e["session_end_reason"] == "policy-deny"])
    assert recs and recs[0]["rule"] == "refuse-web", traffic(lab)
