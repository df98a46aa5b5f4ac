"""The control socket under abuse, end to end: a real synwall on TAP vdevs.

The socket is owner-only; an oversize request, garbage, a truncated request, a client that
vanishes or stalls mid-request, and many clients at once each get an error reply or a clean
close, and afterwards the dataplane still forwards traffic and `synwallctl show system status`
still answers. Every request loop here is bounded; the only processes started are the lab's.
"""

import json
import os
import random
import socket
import stat
import threading
import time

from conftest import SERVER_IP, sh

# dataplane/engine/src/api.rs
MAX_REQUEST_BYTES = 64 * 1024


def connect(lab, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(lab.sock))
    return s


def read_reply(s):
    """Everything the daemon sends until it closes, as JSON; None for a close without a reply."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    if not data.strip():
        return None
    assert data.endswith(b"\n") and data.count(b"\n") == 1, data[:200]
    return json.loads(data)


def ask(lab, payload, timeout=10):
    """Sends raw bytes (then ends the write side) and returns the reply."""
    with connect(lab, timeout) as s:
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may stop reading once it has refused the request
        return read_reply(s)


def assert_error(reply, what=""):
    assert reply is not None, f"no reply to {what!r}"
    assert reply["ok"] is False, reply
    assert isinstance(reply.get("error"), str) and reply["error"], reply


def healthy(lab, timeout=5.0):
    """The dataplane forwards (curl across the wire) and answers `show system status` quickly."""
    start = time.time()
    status = lab.ctl("show", "system", "status")
    took = time.time() - start
    assert status["state"] == "running", status
    assert took < timeout, f"show system status took {took:.1f}s"
    r = lab.client("curl", "-s", "--max-time", "5", f"http://{SERVER_IP}/")
    assert r.returncode == 0 and "hello" in r.stdout, r.stderr
    assert lab.proc.poll() is None, lab.output()


def test_socket_is_owner_only(lab):
    st = os.stat(lab.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == os.getuid()
    # Another user cannot connect, even where it can reach the directory.
    os.chmod(lab.tmp, 0o755)
    try:
        r = sh(["runuser", "-u", "nobody", "--", "python3", "-c",
                "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
                str(lab.sock)], check=False)
    finally:
        os.chmod(lab.tmp, 0o700)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr
    lab.http_server()
    healthy(lab)


def test_oversize_requests_are_refused_and_the_daemon_keeps_serving(lab):
    lab.http_server()
    # One line just over the limit, a line far over it, and a stream with no line end at all.
    just_over = b'{"command": "show system status", "args": ["' + b"x" * MAX_REQUEST_BYTES + b'"]}\n'
    for payload in (just_over, b"a" * (4 * MAX_REQUEST_BYTES) + b"\n", b"b" * (1 << 20)):
        reply = ask(lab, payload)
        assert_error(reply, payload[:40])
        assert "too large" in reply["error"], reply
    # Just under the limit is read (and refused only for what it says).
    args = ["x" * 1000] * 60
    reply = ask(lab, json.dumps({"command": "show system", "args": args}).encode() + b"\n")
    assert_error(reply)
    assert "unknown command" in reply["error"], reply
    healthy(lab)


def test_garbled_requests_each_get_an_error(lab):
    lab.http_server()
    rng = random.Random(8)
    garbage = [
        bytes(rng.randrange(256) for _ in range(300)) + b"\n",
        bytes(rng.randrange(32, 127) for _ in range(300)) + b"\n",
        b"\x00" * 64 + b"\n",
        b"\n",
        b"{not json\n",
        b'{"command": "show system status"\n',  # truncated
        b'{"command": "show sys',  # truncated, no line end, write side closed
        b"[1, 2, 3]\n",
        b"null\n",
        b'"show system status"\n',
        b'{"cmd": "show system status"}\n',
        b'{"command": 5}\n',
        b'{"command": "show system status", "args": "status"}\n',
        b'{"command": "show session id", "args": ["-1"]}\n',
        b'{"command": "clear session id", "args": ["99999999999999999999999"]}\n',
        b'{"command": "format disk"}\n',
        b'{"command": "\xff\xfe show"}\n',
        b'{"command": "show \\ud800 status"}\n',
        b'{"command": "' + b"[" * 5000 + b'"}\n',
        b"[" * 10000 + b"\n",
    ]
    for payload in garbage:
        assert_error(ask(lab, payload), payload[:60])
    # Nothing at all: a clean close or an error, never a hang.
    with connect(lab) as s:
        s.shutdown(socket.SHUT_WR)
        reply = read_reply(s)
        assert reply is None or reply["ok"] is False, reply
    healthy(lab)


def test_vanishing_and_stalled_clients_do_not_hold_the_daemon(lab):
    lab.http_server()
    # Clients that connect and leave at once, or leave in the middle of a request.
    for i in range(20):
        s = connect(lab)
        if i % 2:
            s.sendall(b'{"command": "show sys')
        s.close()
    # Clients that connect and say nothing, and one that drips a byte at a time: while they
    # hang on, others are served at once.
    idle = [connect(lab, timeout=15) for _ in range(10)]
    drip = connect(lab, timeout=15)
    stop = threading.Event()

    def dripping():
        for b in b'{"command": "show system status"}':
            if stop.wait(0.3):
                return
            try:
                drip.sendall(bytes([b]))
            except OSError:
                return

    t = threading.Thread(target=dripping)
    t.start()
    try:
        for _ in range(3):
            healthy(lab, timeout=2.0)
        # The silent ones are let go: an error ("timed out") or a close, within seconds.
        deadline = time.time() + 10
        for s in idle:
            s.settimeout(max(0.1, deadline - time.time()))
            reply = read_reply(s)
            assert reply is None or reply["ok"] is False, reply
        drip.settimeout(max(0.1, deadline - time.time()))
        reply = read_reply(drip)
        assert reply is None or reply["ok"] is False, reply
    finally:
        stop.set()
        t.join()
        for s in idle + [drip]:
            s.close()
    healthy(lab)


def test_many_concurrent_connections(lab):
    lab.http_server()
    results, errors = [], []

    def client(i):
        try:
            if i % 3 == 0:
                payload = b'{"command": "show system status"}\n'
            elif i % 3 == 1:
                payload = b"garbage %d\n" % i
            else:
                payload = b'{"command": "show counter global"}\n'
            results.append((i, ask(lab, payload, timeout=20)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(120)]
    for t in threads:
        t.start()
    # Traffic crosses the wire meanwhile.
    r = lab.client("curl", "-s", "--max-time", "5", f"http://{SERVER_IP}/")
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    assert len(results) == 120
    for i, reply in results:
        assert reply is not None, i
        if i % 3 == 1:
            assert reply["ok"] is False, reply
        elif not reply["ok"]:
            # Turned away while the daemon was full: said so.
            assert "busy" in reply["error"], reply
    served = sum(1 for i, reply in results if i % 3 != 1 and reply["ok"])
    assert served >= 40, f"only {served} of 80 requests served"
    assert r.returncode == 0 and "hello" in r.stdout, r.stderr
    healthy(lab)
