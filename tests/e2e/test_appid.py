"""Issue 5: the App-ID stage, with real clients and servers through TAP vdevs."""

import subprocess
import time

from conftest import SERVER_IP, wait_for_listen
from test_sessions import traffic, wait_for

SHORT = """
session:
  timeouts: {{ tcp_time_wait: 1, udp: 2, tcp: 30 }}
logging:
  traffic: {{ path: {log} }}
"""

SINK = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen()
while True:
    c, _ = s.accept()
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()
"""


def app_lab(lab_factory, rules=None):
    lab = lab_factory(rules=rules)
    lab.config.write_text(lab.config.read_text() + SHORT.format(log=lab.tmp / "traffic.jsonl"))
    return lab.start()


def ended_app(lab, dport, proto="tcp"):
    recs = wait_for(lambda: [e for e in traffic(lab) if e["subtype"] == "end" and e["dport"] == dport
                             and e["proto"] == proto], timeout=20)
    assert recs, traffic(lab)
    return recs[0]


def client_py(lab, code):
    return lab.client("python3", "-c", code, timeout=30)


def test_applications_are_identified_by_content(lab_factory):
    lab = app_lab(lab_factory)
    lab.http_server(8081, "web\n")
    for port in (4443, 5000, 5001, 5002, 5003):
        lab.spawn_server("python3", "-c", SINK, str(port))
    for port in (4443, 5000, 5001, 5002, 5003):
        wait_for_listen(lab, port)
    # HTTP on a non-standard port is still web-browsing: content decides.
    assert lab.client("curl", "-sS", "--max-time", "5", f"http://{SERVER_IP}:8081/").stdout == "web\n"
    # A TLS ClientHello with a server name.
    client_py(lab, f"""
import socket, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = socket.create_connection(('{SERVER_IP}', 4443), timeout=3)
try:
    ctx.wrap_socket(s, server_hostname='secure.example.test', do_handshake_on_connect=False).do_handshake()
except Exception:
    pass
""")
    # A few bytes, then close: not enough to decide.
    client_py(lab, f"import socket; s = socket.create_connection(('{SERVER_IP}', 5000)); s.sendall(b'hi'); s.close()")
    # Kilobytes of random bytes: enough to decide, no signature.
    client_py(lab, f"import socket, os; s = socket.create_connection(('{SERVER_IP}', 5001)); s.sendall(os.urandom(4096)); s.close()")
    # A handshake with no data.
    client_py(lab, f"import socket; s = socket.create_connection(('{SERVER_IP}', 5002)); s.close()")
    # A closed port: the handshake never completes.
    client_py(lab, f"""
import socket
try:
    socket.create_connection(('{SERVER_IP}', 5999), timeout=2)
except OSError:
    pass
""")
    # Random UDP.
    client_py(lab, f"import socket, os; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(os.urandom(200), ('{SERVER_IP}', 7777)) for _ in range(3)]")
    # DNS (no server needed: the query names the application).
    lab.client("dig", "+tries=1", "+time=1", f"@{SERVER_IP}", "example.test")

    assert ended_app(lab, 8081)["app"] == "web-browsing"
    tls = ended_app(lab, 4443)
    assert tls["app"] == "ssl" and tls["sni"] == "secure.example.test", tls
    assert ended_app(lab, 5000)["app"] == "insufficient-data"
    assert ended_app(lab, 5001)["app"] == "unknown-tcp"
    assert ended_app(lab, 5002)["app"] == "incomplete"
    assert ended_app(lab, 5999)["app"] == "incomplete"
    assert ended_app(lab, 7777, "udp")["app"] == "unknown-udp"
    assert ended_app(lab, 53, "udp")["app"] == "dns"


APP_DEFAULT = """
rules:
  - { name: web-default-ports, from: [trust], to: [untrust], application: [web-browsing], service: [application-default], action: allow }
"""


def test_application_default_allows_http_on_80_and_refuses_8080(lab_factory):
    lab = app_lab(lab_factory, rules=APP_DEFAULT)
    lab.http_server(80, "eighty\n")
    lab.http_server(8080, "eighty-eighty\n")
    r = lab.client("curl", "-sS", "--max-time", "5", f"http://{SERVER_IP}/")
    assert r.returncode == 0 and r.stdout == "eighty\n", r.stderr
    r = lab.client("curl", "-sS", "--max-time", "5", f"http://{SERVER_IP}:8080/")
    assert r.returncode != 0 and "eighty-eighty" not in r.stdout
    rec = wait_for(lambda: [e for e in traffic(lab) if e["dport"] == 8080 and e["session_end_reason"] == "policy-deny"])
    assert rec and rec[0]["app"] == "web-browsing", traffic(lab)
    ok = ended_app(lab, 80)
    assert ok["app"] == "web-browsing" and ok["rule"] == "web-default-ports", ok
