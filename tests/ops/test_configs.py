"""Checks for the operations files under configs/: Grafana dashboard, Prometheus config and alert
rules, systemd units, logrotate snippet.

Run: /usr/bin/python3 -m pytest tests/ops -v -p no:cacheprovider
Needs no build and no DPDK. Uses `promtool` (Debian package `prometheus`) and `systemd-analyze` when
they are installed and work; each check that cannot run is skipped with the reason.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
DASHBOARD = CONFIGS / "grafana" / "synwall-dashboard.json"
ALERTS = CONFIGS / "synwall-alerts.yml"
PROMETHEUS = CONFIGS / "prometheus.yml"
ALERT_TESTS = Path(__file__).resolve().parent / "synwall-alerts.test.yml"
UNITS = CONFIGS / "systemd"
LOGROTATE = CONFIGS / "logrotate" / "synwall"

# The "Prometheus metrics" table of INTERFACE.md.
INTERFACE_METRICS = {
    "synwall_session_end_total",
    "synwall_sessions_active",
    "synwall_sessions_created_total",
    "synwall_session_table_capacity",
    "synwall_app_sessions_total",
    "synwall_tcp_non_syn_drop_total",
    "synwall_drops_total",
    "synwall_port_packets_total",
    "synwall_port_bytes_total",
    "synwall_worker_packets_total",
}
# Exported in addition (agreed with synwall-control); the histogram by its base name.
EXTRA_METRICS = {
    "synwall_dataplane_up",
    "synwall_log_records_dropped_total",
    "synwall_worker_heartbeat_age_seconds",
    "synwall_worker_loop_seconds",
    "synwall_handoff_total",
    "synwall_port_drops_total",
    "synwall_zone_protection_packets_total",
    "synwall_zone_protection_alarms_total",
    "synwall_zone_protection_activations_total",
    "synwall_zone_protection_rate",
    "synwall_zone_protection_alarm",
    "synwall_zone_protection_active",
}
KNOWN_METRICS = INTERFACE_METRICS | EXTRA_METRICS

SYNWALL_IDENT = re.compile(r"\bsynwall_[A-Za-z0-9_:]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr):
    """synwall_* identifiers in a PromQL expression, histogram suffixes stripped."""
    names = set()
    for ident in SYNWALL_IDENT.findall(expr):
        for suffix in HISTOGRAM_SUFFIXES:
            if ident.endswith(suffix):
                ident = ident[: -len(suffix)]
                break
        names.add(ident)
    return names


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)


def need(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed on this machine")
    return path


# ---------------------------------------------------------------- dashboard

@pytest.fixture(scope="module")
def dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def all_panels(dash):
    """Every panel, including those nested in collapsed rows."""
    for panel in dash["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dash):
    """(where, PromQL) for every panel target and every query variable."""
    for panel in all_panels(dash):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield f"panel {panel.get('id')} {panel.get('title')!r}", target["expr"]
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"]
            yield f"variable {var['name']}", query["query"] if isinstance(query, dict) else query


def test_dashboard_parses_and_is_recent_schema(dashboard):
    assert dashboard["title"]
    assert dashboard["uid"]
    assert dashboard["schemaVersion"] >= 38


def test_dashboard_datasource_is_a_prometheus_variable(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    ds = variables.get("DS_PROMETHEUS")
    assert ds is not None, "no DS_PROMETHEUS templating variable"
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for panel in all_panels(dashboard):
        if panel["type"] == "row":
            continue
        for obj in [panel] + panel.get("targets", []):
            assert obj.get("datasource") == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, (
                f"panel {panel['id']} {panel['title']!r} does not use ${{DS_PROMETHEUS}}"
            )


def test_every_panel_has_a_title_and_a_unique_id(dashboard):
    ids = []
    for panel in all_panels(dashboard):
        assert isinstance(panel.get("title"), str) and panel["title"].strip(), f"untitled panel {panel}"
        assert isinstance(panel.get("id"), int), f"panel {panel['title']!r} has no integer id"
        ids.append(panel["id"])
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate panel ids: {duplicates}"


def test_every_data_panel_has_a_query(dashboard):
    for panel in all_panels(dashboard):
        if panel["type"] != "row":
            assert [t for t in panel.get("targets", []) if t.get("expr")], panel["title"]


def test_dashboard_names_only_known_metrics(dashboard):
    unknown = {}
    for where, expr in dashboard_exprs(dashboard):
        bad = metric_names(expr) - KNOWN_METRICS
        if bad:
            unknown[where] = sorted(bad)
    assert not unknown, f"unknown metric names: {unknown}"


def test_dashboard_covers_the_required_metrics(dashboard):
    used = set()
    for _, expr in dashboard_exprs(dashboard):
        used |= metric_names(expr)
    required = INTERFACE_METRICS | {"synwall_worker_loop_seconds", "synwall_log_records_dropped_total"}
    assert required <= used, f"not on the dashboard: {sorted(required - used)}"
    exprs = " ".join(e for _, e in dashboard_exprs(dashboard))
    assert "sum by (reason) (rate(synwall_session_end_total" in exprs
    assert "histogram_quantile(0.99" in exprs and "synwall_worker_loop_seconds_bucket" in exprs


def test_dashboard_units(dashboard):
    units = {p["title"]: p["fieldConfig"]["defaults"].get("unit")
             for p in all_panels(dashboard) if p["type"] != "row"}
    assert units["Port packet rate (rx / tx)"] == "pps"
    assert units["Port byte rate (rx / tx)"] == "Bps"
    assert units["Worker packet rate"] == "pps"
    assert units["Drops by reason"] == "pps"
    assert units["Session table utilization"] == "percent"
    assert units["Worker loop time p99"] == "s"


def test_dashboard_promql_parses(dashboard, tmp_path):
    """Every dashboard query, with Grafana's variables filled in, parses as PromQL (as a recording rule)."""
    need("promtool")
    substitutions = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h", "$instance": ".*"}
    rules = []
    for i, (where, expr) in enumerate(dashboard_exprs(dashboard)):
        if expr.startswith("label_values("):
            match = re.fullmatch(r"label_values\((.*),\s*[A-Za-z_]+\)", expr)
            assert match, f"{where}: {expr}"
            expr = match.group(1)
        for var, value in substitutions.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, f"{where}: unsubstituted variable in {expr}"
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))  # JSON is YAML
    result = run(["promtool", "check", "rules", str(rule_file)])
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- Prometheus

def test_alert_rules_name_only_known_metrics():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(ALERTS.read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    names = {r["alert"] for r in rules}
    assert {
        "SynwallSessionTableNearlyFull", "SynwallLogRecordsDropped", "SynwallWorkerStalled",
        "SynwallDown", "SynwallDataplaneDown", "SynwallNonSynDropSurge", "SynwallSessionTableFullDrops",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert metric_names(rule["expr"]) <= KNOWN_METRICS, rule["alert"]


def test_promtool_check_rules():
    need("promtool")
    result = run(["promtool", "check", "rules", str(ALERTS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config():
    need("promtool")
    # promtool resolves rule_files relative to the config file's directory.
    result = run(["promtool", "check", "config", str(PROMETHEUS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_promtool_alert_unit_tests():
    """The alerts fire on their conditions (and not before): tests/ops/synwall-alerts.test.yml."""
    need("promtool")
    result = run(["promtool", "test", "rules", str(ALERT_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_synwall_control():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(PROMETHEUS.read_text())
    (job,) = [j for j in doc["scrape_configs"] if j["job_name"] == "synwall"]
    assert job["scrape_interval"] == "5s"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:9650"]
    assert (PROMETHEUS.parent / doc["rule_files"][0]).resolve() == ALERTS.resolve()


# ---------------------------------------------------------------- systemd

def unit_settings(path):
    """{(section, key): [values]} of a unit file (keys may repeat)."""
    settings, section = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


def test_dataplane_unit_settings():
    s = unit_settings(UNITS / "synwall.service")
    assert s[("Service", "Type")] == ["simple"]
    assert s[("Service", "ExecStart")] == ["/usr/local/bin/synwall --config /etc/synwall/synwall.yaml"]
    assert s[("Service", "Restart")] == ["on-failure"]
    assert s[("Service", "LimitMEMLOCK")] == ["infinity"]
    assert s[("Service", "KillSignal")] == ["SIGTERM"]
    assert s[("Service", "TimeoutStopSec")] == ["30"]
    assert s[("Service", "ExecReload")] == ["/bin/kill -HUP $MAINPID"]
    assert s.get(("Service", "User"), ["root"]) == ["root"]


def test_control_unit_settings():
    s = unit_settings(UNITS / "synwall-control.service")
    assert s[("Service", "ExecStart")] == ["/usr/local/bin/synwall-control --config /etc/synwall/synwall.yaml"]
    assert s[("Service", "Restart")] == ["always"]
    assert "synwall.service" in " ".join(s[("Unit", "After")]).split()
    for key in ("Requires", "BindsTo", "PartOf", "Requisite"):
        assert "synwall.service" not in " ".join(s.get(("Unit", key), [])), f"{key}= ties it to the dataplane"
    assert s[("Service", "ProtectSystem")] == ["strict"]
    writable = " ".join(s[("Service", "ReadWritePaths")]).split()
    assert {"/var/log/synwall", "/run/synwall"} <= {p.lstrip("-") for p in writable}
    # /dev/shm must stay the host's: PrivateDevices= or InaccessiblePaths= would hide the stats segment.
    assert s.get(("Service", "PrivateDevices"), ["no"]) == ["no"]
    assert "/dev/shm" not in " ".join(s.get(("Service", "InaccessiblePaths"), []))


def systemd_analyze_works(tmp_path):
    """None if `systemd-analyze verify` works here, else the reason it does not."""
    if shutil.which("systemd-analyze") is None:
        return "systemd-analyze is not installed"
    probe = tmp_path / "probe" / "synwall-probe.service"
    probe.parent.mkdir()
    probe.write_text("[Unit]\nDescription=probe\n[Service]\nType=oneshot\nExecStart=/bin/true\n")
    try:
        result = run(["systemd-analyze", "verify", str(probe)])
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"systemd-analyze verify cannot run here: {e}"
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or output:
        return f"systemd-analyze verify fails on a trivial unit here (rc {result.returncode}): {output[:300]}"
    return None


def test_units_pass_systemd_analyze_verify(tmp_path):
    """`systemd-analyze verify` on both units. It reports problems as messages (often with exit status 0),
    so any output fails the test. The binaries are not installed on a test machine, and verify
    checks that ExecStart= commands exist, so copies of the units point at stub executables; everything
    else is verified as written."""
    reason = systemd_analyze_works(tmp_path)
    if reason:
        pytest.skip(reason)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("synwall", "synwall-control"):
        stub = stubs / name
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for unit in ("synwall.service", "synwall-control.service"):
        text = (UNITS / unit).read_text().replace("/usr/local/bin/", f"{stubs}/")
        (units / unit).write_text(text)
    result = run(["systemd-analyze", "verify", str(units / "synwall.service"),
                  str(units / "synwall-control.service")])
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, output


def test_logrotate_snippet_sends_sighup_to_the_log_writer(tmp_path):
    # The traffic log is written by synwall's management thread: it is the one to reopen it.
    text = LOGROTATE.read_text()
    assert "/var/log/synwall/" in text
    assert re.search(r"kill .*HUP.*synwall\.service", text), "postrotate does not signal synwall"
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate is not installed: snippet content checked, syntax not")
    result = run(["logrotate", "--debug", "--state", str(tmp_path / "state"), str(LOGROTATE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr


def test_known_metric_list_matches_interface_md():
    """The INTERFACE_METRICS list above is the design doc's table (when the doc is at hand)."""
    doc = Path(os.environ.get("SYNWALL_INTERFACE_MD", "/work/shared/design/INTERFACE.md"))
    if not doc.is_file():
        pytest.skip(f"{doc} not present (set SYNWALL_INTERFACE_MD)")
    text = doc.read_text()
    section = text.split("## Prometheus metrics", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(synwall_[a-z0-9_]+)`", section))
    assert listed == INTERFACE_METRICS
