"""synwall-control: the Prometheus exporter over the dataplane's stats segment, end to end.

A real synwall on TAP vdevs, synwall-control mapping its stats segment, promtool checking the
exposition, a real Prometheus scraping it, and synwall-control killed and restarted while traffic
flows. Every process started here is stopped by PID.
"""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import json
from pathlib import Path

import pytest

from conftest import BIN, SERVER_IP, ns_exec

EXTRA = """
session:
  timeouts: {{ tcp_time_wait: 1 }}
logging:
  traffic: {{ path: {log} }}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=3):
    """(status, body); (None, error text) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


def wait_for(pred, timeout=20, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def parse(text):
    """Series (name plus labels, as written) -> value."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


class Procs:
    """Background processes of one test, killed by PID at teardown."""

    def __init__(self):
        self.procs = []
        self.dirs = []

    def spawn(self, cmd, log):
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()  # SIGKILL to this PID
                p.wait()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.close()


class Control:
    def __init__(self, lab, procs, port=None):
        self.lab, self.procs = lab, procs
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(lab.tmp / f"control-{self.port}.log", "a+")
        self.proc = None

    def start(self, wait_up=True):
        self.proc = self.procs.spawn(
            [str(BIN / "synwall-control"), "--config", str(self.lab.config),
             "--listen", f"127.0.0.1:{self.port}"], self.log)
        ok = wait_for(lambda: http_get(self.url + "/healthz")[0] == (200 if wait_up else 503))
        assert ok, self.output()
        return self

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def metrics(self):
        status, body = http_get(self.url + "/metrics")
        assert status == 200, body
        return body


def make_lab(lab_factory):
    lab = lab_factory()
    lab.config.write_text(lab.config.read_text() + EXTRA.format(log=lab.tmp / "traffic.jsonl"))
    return lab


def tcp_fin_sessions(lab, n=3):
    lab.http_server(80, "metrics test\n" * 100)
    for _ in range(n):
        r = lab.client("curl", "-sS", "--max-time", "10", f"http://{SERVER_IP}/")
        assert r.returncode == 0, r.stderr


def test_control_waits_for_the_dataplane_and_exits_0_on_sigterm(lab_factory, procs):
    lab = make_lab(lab_factory)
    ctl = Control(lab, procs).start(wait_up=False)
    status, body = http_get(ctl.url + "/healthz")
    assert status == 503 and "dataplane not up" in body
    assert parse(ctl.metrics()) == {"synwall_dataplane_up": 0.0}
    status, body = http_get(ctl.url + "/")
    assert status == 200 and "/metrics" in body
    assert http_get(ctl.url + "/nope")[0] == 404

    lab.start()
    assert wait_for(lambda: http_get(ctl.url + "/healthz") == (200, "ok\n")), ctl.output()
    m = parse(ctl.metrics())
    assert m["synwall_dataplane_up"] == 1.0
    assert m["synwall_session_table_capacity"] > 0
    assert 'synwall_session_end_total{reason="tcp-fin"}' in m
    assert 'synwall_session_end_total{reason="n/a"}' not in m

    # The dataplane stops: down, and only synwall_dataplane_up is left.
    assert lab.stop() == 0
    assert wait_for(lambda: http_get(ctl.url + "/healthz")[0] == 503)
    assert parse(ctl.metrics()) == {"synwall_dataplane_up": 0.0}

    ctl.proc.send_signal(signal.SIGTERM)
    assert ctl.proc.wait(10) == 0, ctl.output()


def test_metrics_pass_promtool_and_prometheus_scrapes_them(lab_factory, procs):
    lab = make_lab(lab_factory).start()
    ctl = Control(lab, procs).start()
    tcp_fin_sessions(lab)
    fin = 'synwall_session_end_total{reason="tcp-fin"}'
    assert wait_for(lambda: parse(ctl.metrics()).get(fin, 0) >= 1), ctl.metrics()

    text = ctl.metrics()
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", \
        f"promtool: rc={r.returncode}\n{r.stdout}\n{r.stderr}"

    m = parse(text)
    assert m["synwall_dataplane_up"] == 1.0
    assert m['synwall_port_packets_total{port="ethernet1/1",direction="rx"}'] > 0
    assert m['synwall_port_bytes_total{port="ethernet1/2",direction="rx"}'] > 0
    assert m['synwall_worker_packets_total{worker="0"}'] > 0
    assert m["synwall_sessions_created_total"] >= 3
    for flags in ("A", "PA", "FA", "R", "SA"):
        assert f'synwall_tcp_non_syn_drop_total{{flags="{flags}"}}' in m
    assert m['synwall_worker_loop_seconds_count{worker="0"}'] > 0
    assert m['synwall_worker_heartbeat_age_seconds{worker="0"}'] < 10
    assert "# TYPE synwall_worker_loop_seconds histogram" in text

    tsdb = Path(tempfile.mkdtemp(prefix="synwall-prom-"))
    procs.dirs.append(tsdb)
    (tsdb / "prometheus.yml").write_text(f"""
global: {{ scrape_interval: 1s, evaluation_interval: 1s }}
scrape_configs:
  - job_name: synwall
    scrape_interval: 1s
    static_configs: [{{ targets: ["127.0.0.1:{ctl.port}"] }}]
""")
    prom_port = free_port()
    prom_log = open(tsdb / "prometheus.log", "w+")
    prom = procs.spawn(["/usr/bin/prometheus", f"--config.file={tsdb / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tsdb / 'data'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}"], prom_log)
    query = urllib.parse.quote(fin)

    def scraped():
        status, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}")
        if status != 200:
            return None
        result = json.loads(body)["data"]["result"]
        return result and float(result[0]["value"][1]) >= 1

    try:
        ok = wait_for(scraped, timeout=60, step=0.5)
        prom_log.seek(0)
        assert ok, prom_log.read()[-3000:]
        up = http_get(f"http://127.0.0.1:{prom_port}/api/v1/query?query=up")[1]
        assert json.loads(up)["data"]["result"][0]["value"][1] == "1"
    finally:
        prom.kill()
        prom.wait()
        prom_log.close()


def test_killing_control_does_not_disturb_the_dataplane(lab_factory, procs):
    lab = make_lab(lab_factory).start()
    ctl = Control(lab, procs).start()
    ping_log = open(lab.tmp / "ping.log", "w+")
    procs.spawn(ns_exec(lab.ns_client, "ping", "-i", "0.2", "-n", SERVER_IP), ping_log)

    def replies():
        ping_log.flush()
        return Path(ping_log.name).read_text().count("bytes from")

    def port_packets():
        return {k: v for k, v in parse(ctl.metrics()).items()
                if k.startswith("synwall_port_packets_total")}

    def status_packets():
        s = lab.ctl("show", "system", "status")
        return sum(p["rx_packets"] + p["tx_packets"] for p in s["ports"])

    assert wait_for(lambda: replies() >= 3), Path(ping_log.name).read_text()
    before = port_packets()
    assert sum(before.values()) > 0

    ctl.proc.send_signal(signal.SIGKILL)
    ctl.proc.wait(10)
    assert http_get(ctl.url + "/healthz")[0] is None
    n, packets = replies(), status_packets()
    time.sleep(2)
    assert replies() >= n + 5, "ping stopped answering once synwall-control died"
    assert status_packets() > packets
    assert lab.proc.poll() is None

    # Restarted on the same address: it carries on from the dataplane's counters.
    ctl.start()
    after = port_packets()
    assert after.keys() == before.keys()
    for series, v in before.items():
        assert after[series] >= v, (series, v, after[series])
    assert sum(after.values()) > sum(before.values())
