"""The monitoring files in deploy/ are valid, tested, and use only metrics and labels the code defines.

* deploy/prometheus/alerts.yml and prometheus.yml pass ``promtool check``, and the alert unit tests in
  deploy/prometheus/alerts_test.yml pass ``promtool test rules``. promtool comes with Debian's
  ``prometheus`` package (.ci/run installs it); without it these tests fail rather than skip.
* Every metric name and label in the alert rules and in the Grafana dashboard is one that the project's
  prometheus_client definitions expose: the metric objects of the modules that define metrics and the
  families that QueueCollector reads from Redis at scrape time (collected here from a real Redis), with
  a source scan that makes sure no definition escapes that collection.
* The dashboard, the Grafana provisioning files and the monitoring profile of docker-compose.yml hold
  together; docs/operations.md lists every alert.
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests import test_compose

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "acsync.json"
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = GRAFANA_DIR / "provisioning" / "dashboards" / "acsync.yml"
COMPOSE = ROOT / "docker-compose.yml"
OPERATIONS = ROOT / "docs" / "operations.md"

# Series Prometheus itself makes for every target (the only names not defined by the project).
PROMETHEUS_SERIES = {"up": frozenset({"job", "instance"})}
# Labels Prometheus attaches to every scraped series (prometheus.yml adds no others).
TARGET_LABELS = frozenset({"job", "instance"})


# --- promtool -------------------------------------------------------------------------------------------


def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(
            "promtool is not installed: apt-get install prometheus (Debian ships promtool in that package); "
            ".ci/run installs it",
            pytrace=False,
        )
    return binary


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_alert_rules_pass_promtool_check():
    done = run_promtool("check", "rules", str(ALERTS.relative_to(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_config_passes_promtool_check_and_loads_the_alert_rules():
    done = run_promtool("check", "config", str(PROMETHEUS_CONFIG.relative_to(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert yaml.safe_load(PROMETHEUS_CONFIG.read_text())["rule_files"] == ["alerts.yml"]


def test_alert_rules_unit_tests_pass():
    done = run_promtool("test", "rules", str(ALERTS_TEST.relative_to(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr
    cases = [
        case for group in yaml.safe_load(ALERTS_TEST.read_text())["tests"] for case in group.get("alert_rule_test", [])
    ]
    # the outbox, writer, spool and 429 alerts must each be seen firing and staying quiet
    for name in (
        "AcsyncOutboxBacklog",
        "AcsyncWriterStalled",
        "AcsyncWriterHeartbeatStale",
        "AcsyncNoWriters",
        "AcsyncIngestSpoolNotDraining",
        "AcsyncActiveCampaign429s",
    ):
        outcomes = {bool(case["exp_alerts"]) for case in cases if case["alertname"] == name}
        assert outcomes == {True, False}, f"{name}: test it firing and not firing in alerts_test.yml"


# --- the metrics the code defines -------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    name: str  # as given to prometheus_client (a counter's may end in _total)
    module: str
    line: int


# The series a family of each type is scraped as. No _created: prometheus-client's multiprocess mode (ingest,
# workers and writers run in it) serves none.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "unknown": ("",),
}


def scraped_series(family: str, kind: str, labels: frozenset[str]) -> dict[str, frozenset[str]]:
    """Series name -> labels of one metric family, as Prometheus scrapes it."""
    series = {}
    for suffix in SUFFIXES[kind]:
        extra = {"le"} if suffix == "_bucket" else {"quantile"} if kind == "summary" and not suffix else set()
        series[family + suffix] = labels | extra | ({family} if kind == "stateset" else set())
    return series


METRIC_CLASSES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
FAMILY_CLASSES = {
    "CounterMetricFamily",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "SummaryMetricFamily",
    "InfoMetricFamily",
    "StateSetMetricFamily",
    "GaugeHistogramMetricFamily",
    "UnknownMetricFamily",
    "Metric",
}


def project_packages() -> list[str]:
    """The top-level packages pyproject.toml ships (its setuptools include patterns)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [
        d.name
        for d in sorted(ROOT.iterdir())
        if (d / "__init__.py").exists() and any(fnmatch(d.name, p) for p in patterns)
    ]
    assert {"ingest", "workers"} <= set(packages), packages
    return packages


def project_sources() -> list[tuple[str, Path]]:
    found = []
    for package in project_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found.append((module, path))
    return found


def scan_definitions() -> list[Definition]:
    """Every prometheus_client metric or family the project's source constructs, found without importing it:
    calls of names imported from prometheus_client (Enum, Counter... are also names of other things)."""
    definitions = []
    for module, path in project_sources():
        source = path.read_text()
        if "prometheus_client" not in source:
            continue
        tree = ast.parse(source)
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prometheus_client")
            for alias in node.names
            if alias.name in METRIC_CLASSES | FAMILY_CLASSES
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name) and func.id in imported
                else (
                    func.attr
                    if isinstance(func, ast.Attribute)
                    and func.attr in METRIC_CLASSES | FAMILY_CLASSES
                    and isinstance(func.value, ast.Name)
                    and func.value.id.startswith("prometheus")
                    else None
                )
            )
            if called is None:
                continue
            first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "name"), None)
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"{path.relative_to(ROOT)}:{node.lineno}: a metric whose name is not a literal; teach "
                "tests/test_monitoring_files.py to find it"
            )
            definitions.append(Definition(first.value, module, node.lineno))
    return definitions


def queue_collector_families(client: Any) -> list[Any]:
    """The families QueueCollector serves at scrape time, from a Redis with one account that has a writer."""
    from workers.metrics import QueueCollector
    from workers.outbox import ACCOUNTS
    from workers.writers.account import HEARTBEATS

    account_key = "https://monitoring-test.api-us1.com"
    client.hset(ACCOUNTS, "monitoring-test-hash", account_key)
    client.hset(HEARTBEATS, account_key, orjson.dumps({"owner": "test", "at": time.time(), "stores": "mystore"}))
    families = list(QueueCollector(client).collect())
    assert families, "QueueCollector yielded nothing: it swallowed an error reading Redis"
    # `account` is the API host in every metric (as in the writers' and the limiter's counters), never a hash
    accounts = {sample.labels.get("account") for family in families for sample in family.samples} - {None}
    assert accounts == {"monitoring-test.api-us1.com"}, accounts
    return families


# Collectors whose families exist only at scrape time: how to collect each (the key is its class).
CUSTOM_COLLECTORS = {"workers.metrics.QueueCollector": queue_collector_families}


@pytest.fixture
def exposed(redis_client) -> dict[str, frozenset[str]]:
    """Every series name the project's /metrics endpoints can serve -> its labels (target labels included)."""
    from prometheus_client.metrics import MetricWrapperBase

    series: dict[str, frozenset[str]] = {}
    names = set()
    definitions = scan_definitions()
    for module_name in sorted({d.module for d in definitions}):
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                labels = frozenset(value._labelnames)  # no public accessor; stable across prometheus_client
                for family in value.describe():
                    series |= scraped_series(family.name, family.type, labels)
                    names.add(family.name)
    for collect in CUSTOM_COLLECTORS.values():
        for family in collect(redis_client):
            assert family.samples, f"{family.name}: no sample, so its labels are unknown"
            labels = frozenset().union(*(sample.labels for sample in family.samples))
            series |= scraped_series(family.name, family.type, labels - {"le", "quantile"})
            names.add(family.name)
    # the source scan and the collection agree: nothing is defined that the collection cannot see
    missing = {d for d in definitions if d.name.removesuffix("_total") not in names and d.name not in names}
    assert not missing, (
        f"defined in the code but not collected: {sorted(missing, key=str)}; add its collector "
        "to CUSTOM_COLLECTORS in tests/test_monitoring_files.py"
    )
    return {**{name: labels | TARGET_LABELS for name, labels in series.items()}, **PROMETHEUS_SERIES}


# --- PromQL, as far as these files use it ------------------------------------------------------------------

KEYWORDS = {"and", "or", "unless", "offset", "bool", "inf", "nan"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
AGGREGATIONS = {
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
}  # may be followed by by/without before their "("
TOKENS = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
      |(?P<matchers>\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})
      |(?P<range>\[[^\]]*\])
      |(?P<variable>\$\{?\w+\}?)
      |(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z]*)
      |(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
      |(?P<space>\s+)
      |(?P<other>.)""",
    re.VERBOSE,
)
MATCHER = re.compile(r"""\s*([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*,?""")


@dataclass
class Query:
    selectors: list[tuple[str, set[str]]]  # metric name, labels of its matchers
    grouping: set[str]  # labels named in by/without/on/ignoring/group_left/group_right

    @property
    def metrics(self) -> set[str]:
        return {name for name, _ in self.selectors}


def parse_promql(expr: str) -> Query:
    tokens = [(m.lastgroup, m.group()) for m in TOKENS.finditer(expr) if m.lastgroup != "space"]
    selectors: list[tuple[str, set[str]]] = []
    grouping: set[str] = set()
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else (None, "")
        if kind == "matchers":
            raise AssertionError(f"a selector without a metric name in {expr!r}")
        if kind == "name" and text in GROUPING:
            if following[1] == "(":
                i += 2
                while tokens[i][1] != ")":
                    if tokens[i][0] == "name":
                        grouping.add(tokens[i][1])
                    i += 1
        elif kind == "name" and text in AGGREGATIONS and following[1] in GROUPING:
            pass
        elif kind == "name" and text.lower() not in KEYWORDS and following[1] != "(":
            labels: set[str] = set()
            if following[0] == "matchers":
                body = following[1][1:-1]
                matched = MATCHER.findall(body)
                assert MATCHER.sub("", body).strip() == "", f"cannot read the matchers {following[1]!r}"
                labels = set(matched)
                i += 1
            selectors.append((text, labels))
        i += 1
    assert selectors, f"no metric in {expr!r}"
    return Query(selectors, grouping)


def test_the_promql_reader_finds_metrics_and_labels():
    query = parse_promql(
        'sum by (account) (rate(a_total{result=~"x|y", job="j"}[$__rate_interval])) / '
        "on (account) group_left (lane) max(b offset 30m) > bool 0.5 or vector(0) and c_1h"
    )
    assert query.metrics == {"a_total", "b", "c_1h"}
    assert query.selectors[0] == ("a_total", {"result", "job"})
    assert query.grouping == {"account", "lane"}


def check_query(expr: str, exposed: dict[str, frozenset[str]], where: str, templated: Iterable[str] = ()) -> list[str]:
    """What is wrong with expr: unknown metrics, unknown labels in matchers, grouping or templates."""
    problems = []
    query = parse_promql(expr)
    available: set[str] = set()
    for name, labels in query.selectors:
        if name not in exposed:
            problems.append(f"{where}: unknown metric {name}")
            continue
        available |= exposed[name]
        if labels - exposed[name]:
            problems.append(f"{where}: {name} has no label {sorted(labels - exposed[name])}")
    unknown = (query.grouping | set(templated)) - available
    if unknown and not any(p.startswith(f"{where}: unknown metric") for p in problems):
        problems.append(f"{where}: labels {sorted(unknown)} belong to none of {sorted(query.metrics)}")
    return problems


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def template_labels(text: str) -> set[str]:
    return set(re.findall(r"\$labels\.(\w+)", text))


def test_alert_rules_use_only_metrics_and_labels_the_code_defines(exposed):
    problems = []
    for rule in alert_rules():
        used = set().union(*(template_labels(v) for v in rule.get("annotations", {}).values()))
        problems += check_query(rule["expr"], exposed, rule["alert"], used)
    assert not problems, "\n".join(problems)


def dashboard_panels() -> list[dict[str, Any]]:
    panels = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        panels.append(panel)
        panels += panel.get("panels", [])  # a collapsed row holds its panels
    return panels


def test_dashboard_uses_only_metrics_and_labels_the_code_defines(exposed):
    problems = []
    for panel in dashboard_panels():
        for target in panel.get("targets", []):
            legend = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
            problems += check_query(target["expr"], exposed, f"panel {panel['title']!r}", legend)
    assert not problems, "\n".join(problems)


def test_job_labels_in_rules_and_dashboard_are_scrape_jobs():
    jobs = {job["job_name"] for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    exprs = [rule["expr"] for rule in alert_rules()]
    exprs += [target["expr"] for panel in dashboard_panels() for target in panel.get("targets", [])]
    for expr in exprs:
        for operator, value in re.findall(r'\bjob\s*(=~|=)\s*"([^"]*)"', expr):
            matching = {job for job in jobs if (re.fullmatch(value, job) if operator == "=~" else job == value)}
            assert matching, f"{expr!r}: no scrape job {value!r} in prometheus.yml ({sorted(jobs)})"


# --- alert rules and the docs ------------------------------------------------------------------------------


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", heading.lower())))
    return anchors


def test_every_alert_has_a_delay_a_severity_and_tells_ops_what_to_do():
    anchors = heading_anchors(OPERATIONS.read_text())
    rules = alert_rules()
    assert len({rule["alert"] for rule in rules}) == len(rules), "duplicate alert names"
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), f"{name}: for: is missing"
        assert rule.get("labels", {}).get("severity") in {"critical", "warning"}, name
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), name
        links = re.findall(r"docs/operations\.md#([\w-]+)", annotations["description"])
        assert links, f"{name}: the description points to no section of docs/operations.md"
        assert set(links) <= anchors, f"{name}: no such section in docs/operations.md: {set(links) - anchors}"
    assert {"AcsyncOutboxBacklog", "AcsyncWriterStalled"} <= {rule["alert"] for rule in rules}


def test_operations_doc_lists_every_alert_and_holds_no_copy_of_the_rules():
    text = OPERATIONS.read_text()
    section = text[text.index("### Alert rules (Prometheus)") :]
    section = section[: section.index("\n## ")]
    listed = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert sorted(listed) == sorted(rule["alert"] for rule in alert_rules())
    assert "deploy/prometheus/alerts.yml" in section
    assert "expr:" not in text, "docs/operations.md copies rules: deploy/prometheus/alerts.yml is the source"


# --- Grafana -----------------------------------------------------------------------------------------------


def test_dashboard_parses_and_every_panel_queries_the_datasource():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and 36 <= dashboard["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    provisioned = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert variables["datasource"]["current"]["value"] in {source["uid"] for source in provisioned}
    uids = {"${datasource}", "$datasource", *(source["uid"] for source in provisioned)}
    panels = dashboard_panels()
    assert len({panel["id"] for panel in panels}) == len(panels), "panel ids repeat"
    data_panels = [panel for panel in panels if panel["type"] != "row"]
    assert len(data_panels) >= 10
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        title = panel.get("title")
        assert title and panel.get("gridPos"), panel
        grid = panel["gridPos"]
        for cell in (
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        ):
            assert cell not in cells, f"panels {cells[cell]!r} and {title!r} overlap"
            cells[cell] = title
        if panel["type"] == "row":
            assert not panel.get("targets"), f"row {title!r} has queries"
            continue
        assert panel.get("datasource", {}).get("uid") in uids, f"panel {title!r}: no Prometheus datasource"
        assert panel.get("targets"), f"panel {title!r}: no query"
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"panel {title!r}: a target without expr"
            assert target.get("datasource", panel["datasource"])["uid"] in uids, title


def test_grafana_provisioning_points_at_prometheus_and_the_mounted_dashboards():
    (source,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090" and source["uid"]
    (provider,) = yaml.safe_load(DASHBOARD_PROVIDERS.read_text())["providers"]
    grafana = compose_file()["services"]["grafana"]
    mounts = {target: Path(host) for host, target, *_ in (v.split(":") for v in grafana["volumes"] if ":" in v)}
    assert (ROOT / mounts[provider["options"]["path"]]).resolve() == DASHBOARD.parent
    assert (ROOT / mounts["/etc/grafana/provisioning"]).resolve() == GRAFANA_DIR / "provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == provider["options"]["path"] + "/" + DASHBOARD.name


# --- docker-compose ----------------------------------------------------------------------------------------


@functools.cache
def compose_file() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not installed (apt-get install docker-compose); .ci/run installs it", pytrace=False
        )
    return binary


def compose_env(tmp_path: Path, **extra: str) -> tuple[list[str], dict[str, str]]:
    """tests/test_compose.py's environment (an empty --env-file, the console's test key and users, no
    Flower login unless given), also without Grafana's login unless given."""
    options, env = test_compose.compose_env(tmp_path)
    env = {k: v for k, v in env.items() if k not in ("GRAFANA_ADMIN_PASSWORD", "GRAFANA_ADMIN_USER")}
    return options, {**env, **extra}


def compose_config(tmp_path: Path, *profile: str, **extra: str) -> subprocess.CompletedProcess[str]:
    options, env = compose_env(tmp_path, **extra)
    return subprocess.run(
        [docker_compose(), *options, *profile, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )


def test_compose_monitoring_profile_is_valid(tmp_path):
    done = compose_config(
        tmp_path,
        "--profile",
        "monitoring",
        FLOWER_BASIC_AUTH="ci:not-a-real-password",
        GRAFANA_ADMIN_PASSWORD="not-a-real-password",
    )
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert {"prometheus", "grafana", "ingest", "worker", "writer"} <= set(services)
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "not-a-real-password"


def test_compose_needs_no_grafana_password_unless_grafana_starts(tmp_path):
    # compose interpolates every service whatever the profile: a ${GRAFANA_ADMIN_PASSWORD:?} would stop the
    # whole stack for everyone without monitoring, so Grafana's own start checks it (next test)
    for profile in ([], ["--profile", "monitoring"]):
        done = compose_config(tmp_path, *profile, FLOWER_BASIC_AUTH="ci:not-a-real-password")
        assert done.returncode == 0, done.stderr


def grafana_entrypoint() -> list[str]:
    # compose turns $$ into a literal $ for the container
    return [part.replace("$$", "$") for part in compose_file()["services"]["grafana"]["entrypoint"]]


def test_grafana_refuses_to_start_without_an_admin_password(tmp_path):
    grafana = compose_file()["services"]["grafana"]
    # no default: the variable and nothing after ":-"
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:?-?\}", grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"])
    shell, flag, script, *args = grafana_entrypoint()
    assert (shell, flag) == ("/bin/sh", "-c") and "exec /run.sh" in script  # the image's own entrypoint
    run_sh = tmp_path / "run.sh"  # stands in for it
    run_sh.write_text('#!/bin/sh\necho "grafana started"\n')
    run_sh.chmod(0o755)
    script = script.replace("exec /run.sh", f"exec {run_sh}")

    def start(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-c", script, *args],
            capture_output=True,
            text=True,
            timeout=10,
            env={"PATH": os.environ["PATH"], **env},
        )

    for env in ({}, {"GF_SECURITY_ADMIN_PASSWORD": ""}):
        done = start(**env)
        assert done.returncode == 1 and "set GRAFANA_ADMIN_PASSWORD" in done.stderr, done
        assert "grafana started" not in done.stdout
    done = start(GF_SECURITY_ADMIN_PASSWORD="not-a-real-password")
    assert done.returncode == 0 and done.stdout == "grafana started\n", done


def test_compose_monitoring_services_are_pinned_profiled_and_mount_deploy_read_only():
    services = compose_file()["services"]
    for name in ("prometheus", "grafana"):
        service = services[name]
        assert service["profiles"] == ["monitoring"], name
        image, _, tag = service["image"].rpartition(":")
        assert image and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: pin the image version ({tag})"
        binds = [v for v in service["volumes"] if v.startswith("./")]
        assert binds, name
        for volume in binds:
            host, _, mode = volume.split(":")
            assert mode == "ro" and (ROOT / host).exists(), volume
            assert (ROOT / host).resolve().is_relative_to(ROOT / "deploy"), volume
    prometheus = services["prometheus"]
    mounted = {target: ROOT / host for host, target, _ in (v.split(":") for v in prometheus["volumes"] if ":" in v)}
    assert (mounted["/etc/prometheus"] / "prometheus.yml").resolve() == PROMETHEUS_CONFIG
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert all(port.startswith("127.0.0.1:") for port in prometheus["ports"]), "Prometheus has no login: loopback"


def test_scrape_targets_match_the_compose_services_and_ports():
    services = compose_file()["services"]
    ports = {
        "ingest": services["ingest"]["environment"]["ACSYNC_INGEST_BIND"].rpartition(":")[2],
        "worker": services["worker"]["environment"]["ACSYNC_WORKER_METRICS_PORT"],
        "writer": services["writer"]["environment"]["ACSYNC_WRITER_METRICS_PORT"],
    }
    jobs = {job["job_name"]: job for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    targets = {}
    for job in jobs.values():
        for static in job.get("static_configs", []):
            targets |= {host: (job["job_name"], port) for host, port in (t.split(":") for t in static["targets"])}
        for dns in job.get("dns_sd_configs", []):
            targets |= {host: (job["job_name"], str(dns["port"])) for host in dns["names"]}
    for service, port in ports.items():
        job, scraped = targets[service]
        assert scraped == port, f"{service}: compose serves metrics on {port}, prometheus.yml scrapes {scraped}"
        assert job == f"acsync-{service}" and jobs[job].get("metrics_path", "/metrics") == "/metrics"
