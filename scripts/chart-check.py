#!/usr/bin/env python3
"""Renders and validates the Talk Helm chart offline.

1. Renders k8s/talk with Helm's own template engine (helm-python-sdk, Helm v4
   SDK) for the default values and for k8s/values-production.yaml, and writes
   the manifests to build/chart/<case>.yaml.
2. Validates every rendered document against the Kubernetes 1.31 OpenAPI
   schemas in strict mode (kubernetes-validate: unknown fields fail).
3. Checks what the schemas cannot: every TALK_* variable the chart sets is a
   field of talk-config's Config (it refuses unknown TALK_* variables), pods are
   hardened, probes hit /healthz and /readyz on the ops port and never the API
   port, no Ingress routes the ops port, only Prometheus's namespace reaches it,
   the ingress routes the WebSocket paths to the push-gateway with long
   timeouts, mutual TLS (grpcTls) mounts its Secret and makes the service URLs
   https://, the migration Job is a hook.
4. Checks that broken values (a string where a number belongs, a typo, a bad
   enum, a missing required URL) FAIL with a clear message.

Exit status 0 only when every check gives the expected result.
Run it through scripts/chart-check.sh, which prepares the virtualenv.
"""

from __future__ import annotations

import base64
import copy
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

import helm_python as helm
import yaml
from kubernetes_validate import utils as kv

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "k8s" / "talk"
OUT = ROOT / "build" / "chart"
CONFIG_RS = ROOT / "crates" / "talk-config" / "src" / "lib.rs"
KUBE_VERSION = "1.31"
RELEASE, NAMESPACE = "talk", "talk"

# Kinds from CRDs have no schema in kubernetes-validate; they are reported, not validated.
CRD_GROUPS = ("monitoring.coreos.com/",)
# Environment variables the chart may set besides TALK_*.
OTHER_ENV = {"POD_NAME", "POD_NAMESPACE", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT", "RUST_LOG"}
SERVICES = ["edge", "push-gateway", "agent-service", "talk-service", "message-service", "webhook-service",
            "file-service"]
# Where the pods mount grpcTls.secretName (TALK_GRPC_TLS_* point into it).
TLS_DIR = "/etc/talk/grpc-tls"
WS_PATHS = ["/v1.0/ws", "/v1.0/service_agents/ws"]
# Who calls each gRPC service (the *_service_url each one is configured with).
CALLERS = {
    "agent-service": ["edge", "talk-service", "message-service", "push-gateway"],
    "talk-service": ["edge", "message-service", "push-gateway"],
    "message-service": ["edge", "push-gateway"],
    "webhook-service": ["edge"],
    "file-service": ["edge", "message-service"],
}
COMPOSE = ROOT / "deploy" / "compose.yaml"
# Variables that hold a secret: compose must require them (${VAR:?…}), never default them.
SECRET_VARS = ("TALK_JWT_SECRET", "TALK_ADMIN_PASSWORD", "TALK_POSTGRES_PASSWORD")


def port_of(ports: list[dict[str, Any]], port: Any, number: str, name: str = "name") -> Any:
    """The number a port reference (a name or a number) resolves to among `ports`."""
    if isinstance(port, int):
        return port
    return next((p.get(number) for p in ports if p.get(name) == port), None)


def ops_problems(docs: list[tuple[str, dict[str, Any]]], ops_port: int, monitoring: bool) -> list[str]:
    """Everything that exposes the ops port (/healthz, /readyz, /metrics) beyond probes and Prometheus, or
    probes anything else: each pod has a port `ops` at `ops_port` apart from its API port, every probe uses
    it, no Ingress backend reaches it, and NetworkPolicies open it to Prometheus's namespace only."""
    found = []
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for _, doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    for name, dep in by_kind.get("Deployment", {}).items():
        container = dep["spec"]["template"]["spec"]["containers"][0]
        ports = container.get("ports", [])
        if port_of(ports, "ops", "containerPort") != ops_port:
            found.append(f"{name}: no container port `ops` at {ops_port}")
        api = [p["containerPort"] for p in ports if p.get("name") != "ops"]
        if ops_port in api:
            found.append(f"{name}: the API port is the ops port {ops_port}")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = port_of(ports, container.get(probe, {}).get("httpGet", {}).get("port"), "containerPort")
            if port != ops_port:
                found.append(f"{name}: {probe} uses port {port}, not the ops port {ops_port} (an API port?)")
        annotations = dep["spec"]["template"]["metadata"].get("annotations", {})
        if "prometheus.io/port" in annotations and annotations["prometheus.io/port"] != str(ops_port):
            found.append(f"{name}: prometheus.io/port is {annotations['prometheus.io/port']}, not the ops port")
    services = by_kind.get("Service", {})
    for name, svc in services.items():
        exposed = [p for p in svc["spec"]["ports"] if p.get("targetPort") in ("ops", ops_port)]
        if bool(exposed) != monitoring:
            found.append(f"Service {name}: the ops port must be on it {'only ' if not monitoring else ''}"
                         f"for a ServiceMonitor (serviceMonitor.enabled={monitoring})")
    for ing in by_kind.get("Ingress", {}).values():
        for rule in ing["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                port = backend.get("port", {})
                ref = port.get("name", port.get("number"))
                svc = services.get(backend["name"])
                target = None
                if svc is not None:
                    target = next((p.get("targetPort") for p in svc["spec"]["ports"]
                                   if p.get("name") == ref or p.get("port") == ref), None)
                if ref in ("ops", ops_port) or target in ("ops", ops_port):
                    found.append(f"Ingress {ing['metadata']['name']} routes {path['path']} to the ops port of {backend['name']}")
    for name, policy in by_kind.get("NetworkPolicy", {}).items():
        for rule in policy["spec"].get("ingress", []):
            if not any(p.get("port") in ("ops", ops_port) for p in rule.get("ports", [])):
                continue
            sources = rule.get("from", [])
            if not sources or any("podSelector" in f or not f.get("namespaceSelector", {}).get("matchLabels")
                                  for f in sources):
                found.append(f"NetworkPolicy {name} opens the ops port to more than Prometheus's namespace: {sources}")
            if any(p.get("port") not in ("ops", ops_port) for p in rule["ports"]):
                found.append(f"NetworkPolicy {name} opens an API port together with the ops port")
    return found


def secret_defaults(values: dict[str, Any], compose: str) -> list[str]:
    """Every default secret: a non-empty auth secret or a password in a database URL in the chart's
    values, a secret variable compose does not require, or a literal password in compose."""
    found = []
    for key in ("jwtSecret", "adminPassword"):
        if values.get("auth", {}).get(key):
            found.append(f"values auth.{key} has a default")
    for key, url in values.get("database", {}).items():
        if isinstance(url, str) and re.match(r"^\w+://[^/@]*:[^/@]*@", url):
            found.append(f"values database.{key} carries a password")
    for var in SECRET_VARS:
        uses = re.findall(r"\$\{" + var + r"(:?[?-])?", compose)
        if not uses:
            found.append(f"compose never reads {var}")
        found += [f"compose ${{{var}}} is not required (${{{var}:?…}})" for u in uses if u != ":?"]
    if re.search(r"^\s*(POSTGRES_PASSWORD|TALK_\w*(SECRET|PASSWORD)):\s*[^$\s]", compose, re.M):
        found.append("compose sets a literal secret")
    if re.search(r"postgres://[^:/@]+:[^$/@]+@", compose):
        found.append("compose has a literal database password")
    return found


class Report:
    """Counts checks; prints one line per failure."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, ok: bool, what: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            print(f"  FAIL {what}")
        return ok


def talk_env_names() -> set[str]:
    """TALK_* names of talk-config's Config fields (field `x` is read from `TALK_X`)."""
    source = CONFIG_RS.read_text()
    match = re.search(r"pub struct Config \{(.*?)\n\}", source, re.S)
    if not match:
        sys.exit(f"chart-check: cannot find `pub struct Config` in {CONFIG_RS}")
    fields = re.findall(r"^\s*pub (\w+):", match.group(1), re.M)
    return {f"TALK_{f.upper()}" for f in fields}


def load_values(path: Path | None) -> dict[str, Any]:
    return helm.values_from_yaml(path.read_text()) if path else {}


def render(chart: helm.Chart, values: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Schema-validates and renders; returns (template, document) pairs."""
    chart.validate_schema(values)
    files = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = []
    for template, text in sorted(files.items()):
        if not template.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append((template, doc))
    return docs


def write(case: str, docs: list[tuple[str, dict[str, Any]]]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{case}.yaml"
    parts = [f"# Source: {t}\n" + yaml.safe_dump(d, sort_keys=False) for t, d in docs]
    path.write_text("---\n".join(parts))
    return path


def kname(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def validate_k8s(report: Report, case: str, docs: list[tuple[str, dict[str, Any]]]) -> None:
    for template, doc in docs:
        try:
            kv.validate(doc, KUBE_VERSION, strict=True)
            report.check(True, "")
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            report.check(False, f"[{case}] {kname(doc)} ({template}) invalid for Kubernetes {e.version}: {path}: {e.message}")
        except kv.SchemaNotFoundError as e:
            if doc.get("apiVersion", "").startswith(CRD_GROUPS):
                print(f"  note: [{case}] {kname(doc)} is a CRD kind, not schema-validated")
            else:
                report.check(False, f"[{case}] {kname(doc)}: {e.message}")


def pod_checks(report: Report, case: str, doc: dict[str, Any], known_env: set[str]) -> None:
    name = kname(doc)
    pod = doc["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    report.check(psc.get("runAsNonRoot") is True, f"[{case}] {name}: pod runAsNonRoot")
    report.check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"[{case}] {name}: seccomp RuntimeDefault")
    report.check(pod.get("enableServiceLinks") is False,
                 f"[{case}] {name}: enableServiceLinks must be false (service links inject unknown TALK_* variables)")
    report.check(pod.get("automountServiceAccountToken") is False, f"[{case}] {name}: no service account token")
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        report.check(sc.get("readOnlyRootFilesystem") is True, f"[{case}] {name}: readOnlyRootFilesystem")
        report.check(sc.get("allowPrivilegeEscalation") is False, f"[{case}] {name}: allowPrivilegeEscalation false")
        report.check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"[{case}] {name}: drop ALL capabilities")
        report.check(bool(c.get("resources", {}).get("requests")), f"[{case}] {name}: resource requests")
        for var in c.get("env", []):
            report.check(var["name"] in known_env or var["name"] in OTHER_ENV,
                         f"[{case}] {name}: env {var['name']} is not a talk-config field")


def chart_checks(report: Report, case: str, docs: list[tuple[str, dict[str, Any]]], merged: dict[str, Any],
                 known_env: set[str]) -> None:
    """Checks on the rendered documents; `merged` is the chart's values coalesced with the case's."""
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for _, doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    names = [f"{RELEASE}-{s}" for s in SERVICES]
    autoscaled = {f"{RELEASE}-{s}": merged["services"][k]["autoscaling"]["enabled"]
                  for s, k in zip(SERVICES, ["edge", "pushGateway", "agentService", "talkService", "messageService", "webhookService",
                                        "fileService"])}

    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        report.check(sorted(by_kind.get(kind, {})) == sorted(names),
                     f"[{case}] one {kind} per service, got {sorted(by_kind.get(kind, {}))}")
    report.check(sorted(by_kind.get("HorizontalPodAutoscaler", {})) == sorted(n for n, on in autoscaled.items() if on),
                 f"[{case}] one HorizontalPodAutoscaler per autoscaled service")

    # Configuration: only TALK_* variables talk-config knows, through a ConfigMap and a Secret.
    cm = by_kind.get("ConfigMap", {}).get(RELEASE)
    if report.check(cm is not None, f"[{case}] ConfigMap {RELEASE}"):
        for key in cm["data"]:
            report.check(key in known_env or key in OTHER_ENV, f"[{case}] ConfigMap key {key} is not a talk-config field")
        report.check(cm["data"].get("TALK_BUS") == "nats", f"[{case}] TALK_BUS=nats")
        data = cm["data"]
        report.check(data.get("TALK_OPS_ADDR") == f"0.0.0.0:{merged['opsPort']}", f"[{case}] TALK_OPS_ADDR on opsPort")
        tls = merged["grpcTls"]["enabled"]
        scheme = "https://" if tls else "http://"
        for var in ("TALK_AGENT_SERVICE_URL", "TALK_TALK_SERVICE_URL", "TALK_MESSAGE_SERVICE_URL"):
            report.check(data.get(var, "").startswith(scheme), f"[{case}] {var} starts with {scheme} (grpcTls.enabled={tls})")
        for var, file in (("TALK_GRPC_TLS_CERT", "tls.crt"), ("TALK_GRPC_TLS_KEY", "tls.key"), ("TALK_GRPC_TLS_CA", "ca.crt")):
            want = f"{TLS_DIR}/{file}" if tls else None
            report.check(data.get(var) == want, f"[{case}] {var} = {want}")
    secrets = by_kind.get("Secret", {})
    if merged["existingSecret"]:
        report.check(RELEASE not in secrets, f"[{case}] existingSecret: the chart must not create Secret {RELEASE}")
    elif report.check(RELEASE in secrets, f"[{case}] Secret {RELEASE}"):
        for key in secrets[RELEASE]["data"]:
            report.check(key in known_env, f"[{case}] Secret key {key} is not a talk-config field")
        jwt = base64.b64decode(secrets[RELEASE]["data"].get("TALK_JWT_SECRET", "")).decode()
        report.check(len(jwt) >= 32, f"[{case}] TALK_JWT_SECRET has at least 32 bytes")

    secret_name = merged["existingSecret"] or RELEASE
    for name, dep in by_kind.get("Deployment", {}).items():
        pod_checks(report, case, dep, known_env)
        container = dep["spec"]["template"]["spec"]["containers"][0]
        service = name.removeprefix(f"{RELEASE}-")
        report.check(container.get("args") == ["serve", service], f"[{case}] {name}: runs `talk serve {service}`")
        env_from = container.get("envFrom", [])
        report.check({"configMapRef": {"name": RELEASE}} in env_from and {"secretRef": {"name": secret_name}} in env_from,
                     f"[{case}] {name}: envFrom ConfigMap {RELEASE} and Secret {secret_name}")
        report.check(container["startupProbe"]["httpGet"]["path"] == "/healthz", f"[{case}] {name}: startup /healthz")
        report.check(container["livenessProbe"]["httpGet"]["path"] == "/healthz", f"[{case}] {name}: liveness /healthz")
        report.check(container["readinessProbe"]["httpGet"]["path"] == "/readyz", f"[{case}] {name}: readiness /readyz")
        pod = dep["spec"]["template"]["spec"]
        mounted = [m for m in container.get("volumeMounts", []) if m["name"] == "grpc-tls"]
        if merged["grpcTls"]["enabled"]:
            volume = next((v for v in pod["volumes"] if v["name"] == "grpc-tls"), {})
            report.check(volume.get("secret", {}).get("secretName") == merged["grpcTls"]["secretName"],
                         f"[{case}] {name}: grpcTls Secret {merged['grpcTls']['secretName']} as volume grpc-tls")
            report.check(len(mounted) == 1 and mounted[0].get("readOnly") is True
                         and mounted[0]["mountPath"] == TLS_DIR, f"[{case}] {name}: grpc-tls mounted read-only at {TLS_DIR}")
        else:
            report.check(not mounted, f"[{case}] {name}: no grpc-tls mount without grpcTls.enabled")
        if autoscaled[name]:
            report.check("replicas" not in dep["spec"], f"[{case}] {name}: replicas left to the HPA")

    # The ops port: probes and Prometheus only.
    problems = ops_problems(docs, merged["opsPort"], merged["metrics"]["serviceMonitor"]["enabled"])
    for problem in problems:
        report.check(False, f"[{case}] {problem}")
    report.check(True, "")
    for monitor in by_kind.get("ServiceMonitor", {}).values():
        ports = [e.get("port") for e in monitor["spec"]["endpoints"]]
        report.check(ports == ["ops"], f"[{case}] ServiceMonitor {monitor['metadata']['name']} scrapes the ops port, got {ports}")

    # Ingress: WebSocket paths to the push-gateway with long timeouts, the rest to the edge.
    routes: dict[str, tuple[str, dict[str, str]]] = {}
    for ing in by_kind.get("Ingress", {}).values():
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                routes[p["path"]] = (p["backend"]["service"]["name"], ing["metadata"].get("annotations", {}))
    report.check(routes.get("/", ("",))[0] == f"{RELEASE}-edge", f"[{case}] ingress / -> edge")
    for path in WS_PATHS:
        backend, annotations = routes.get(path, ("", {}))
        report.check(backend == f"{RELEASE}-push-gateway", f"[{case}] ingress {path} -> push-gateway")
        for a in ("proxy-read-timeout", "proxy-send-timeout"):
            report.check(annotations.get(f"nginx.ingress.kubernetes.io/{a}") == "3600", f"[{case}] ingress {path}: {a} 3600")
    if merged["ingress"]["tls"]:
        tls = [i["spec"].get("tls") for i in by_kind.get("Ingress", {}).values()]
        report.check(all(tls), f"[{case}] ingress TLS on every Ingress")

    # NetworkPolicies: the edge and the gateway from the ingress side, each gRPC port from its callers only.
    policies = by_kind.get("NetworkPolicy", {})
    if merged["networkPolicy"]["enabled"]:
        report.check(sorted(policies) == sorted(names), f"[{case}] one NetworkPolicy per service, got {sorted(policies)}")
        for service in SERVICES:
            policy = policies.get(f"{RELEASE}-{service}")
            if policy is None:
                continue
            spec = policy["spec"]
            selected = spec["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
            report.check(selected == service, f"[{case}] NetworkPolicy {service} selects its pods")
            report.check(spec.get("policyTypes") == ["Ingress"], f"[{case}] NetworkPolicy {service}: Ingress")
            first = spec["ingress"][0]
            sources = first["from"]
            if service in CALLERS:
                got = sorted(f["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for f in sources)
                report.check(got == sorted(CALLERS[service]), f"[{case}] NetworkPolicy {service}: only {CALLERS[service]} call it, got {got}")
                report.check(all("namespaceSelector" not in f for f in sources), f"[{case}] NetworkPolicy {service}: no namespace-wide source")
            else:
                report.check(all("namespaceSelector" in f for f in sources), f"[{case}] NetworkPolicy {service}: reachable from the ingress side")
    else:
        report.check(not policies, f"[{case}] networkPolicy.enabled=false renders no NetworkPolicy")

    # Migrations: `talk migrate` as a pre-install,pre-upgrade hook.
    job = by_kind.get("Job", {}).get(f"{RELEASE}-migrate")
    if report.check(job is not None, f"[{case}] migration Job"):
        hook = job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
        report.check(set(hook.split(",")) == {"pre-install", "pre-upgrade"}, f"[{case}] migration Job is a pre-install,pre-upgrade hook")
        report.check(job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"], f"[{case}] Job runs `talk migrate`")
        pod_checks(report, case, job, known_env)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def expect_failure(report: Report, chart: helm.Chart, label: str, values: dict[str, Any],
                   expected: list[str], steps: list[tuple[str, Callable[[], Any]]]) -> None:
    """Each step must raise a Helm error whose message contains every `expected` fragment."""
    for step, action in steps:
        try:
            action()
        except helm.HelmError as e:
            message = str(e)
            ok = all(fragment in message for fragment in expected)
            report.check(ok, f"broken values ({label}): {step} failed, but the message lacks {expected}: {message}")
            if ok:
                print(f"  ok   {label}: {step} refused it: {' '.join(message.split())[:240]}")
        else:
            report.check(False, f"broken values ({label}): {step} ACCEPTED values it must refuse")


def main() -> int:
    started = time.monotonic()
    report = Report()
    known_env = talk_env_names()
    print(f"chart-check: Helm SDK {helm.helm_sdk_version()}, Kubernetes schemas {KUBE_VERSION} (strict), "
          f"{len(known_env)} TALK_* fields in talk-config")

    lint = helm.lint(CHART, strict=True)
    problems = [m for m in lint.get("messages", []) if m.get("severity", 0) >= 2] + lint.get("errors", [])
    report.check(not problems, f"helm lint --strict: {problems}")

    with helm.Chart.load(CHART) as chart:
        cases: list[tuple[str, dict[str, Any]]] = [
            ("default", {}),
            ("production", load_values(ROOT / "k8s" / "values-production.yaml")),
            # Branches the two files above leave off.
            ("options", {
                "ingress": {"separateWebsocketIngress": False, "hosts": ["a.example.com", "b.example.com"]},
                "metrics": {"serviceMonitor": {"enabled": True}},
                "database": {"agentUrl": "postgres://agent@pg/agent", "messageUrl": "postgres://msg@pg/msg"},
                "auth": {"jwtSecret": "a-jwt-secret-of-enough-length-0123", "adminPassword": "pw"},
                "networkPolicy": {"ingressNamespaceSelector": {"kubernetes.io/metadata.name": "ingress-nginx"},
                                  "monitoringNamespaceSelector": {"kubernetes.io/metadata.name": "monitoring"}},
                "config": {"extraEnv": {"TALK_MEMORY_BUS_HISTORY": "1000"}, "logFilter": "debug"},
                "otel": {"endpoint": "http://otel:4317"},
                "image": {"digest": "sha256:" + "a" * 64},
                "services": {"edge": {"pdb": {"minAvailable": "50%"}, "preStopSleepSeconds": 0},
                             "pushGateway": {"autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80}}},
                "opsPort": 9100,
                "grpcTls": {"enabled": True, "secretName": "talk-grpc-tls"},
            }),
        ]
        for case, values in cases:
            try:
                docs = render(chart, values)
            except helm.HelmError as e:
                report.check(False, f"[{case}] render failed: {e}")
                continue
            out = write(case, docs)
            before = len(report.failed)
            validate_k8s(report, case, docs)
            chart_checks(report, case, docs, chart.merge_values(values), known_env)
            status = "ok  " if len(report.failed) == before else "FAIL"
            print(f"  {status} {case}: {len(docs)} manifests -> {out.relative_to(ROOT)}")

        # Values that must be refused, with a message that names the problem.
        broken_file = ROOT / "k8s" / "tests" / "values-broken-replicas.yaml"
        broken_cases: list[tuple[str, dict[str, Any], list[str]]] = [
            (f"{broken_file.relative_to(ROOT)}: replicas \"two\"", load_values(broken_file),
             ["/services/edge/replicas", "string", "integer"]),
            ("port \"eighty\"", {"services": {"pushGateway": {"port": "eighty"}}},
             ["/services/pushGateway/port", "string", "integer"]),
            ("timeout \"3600\" as a string", {"ingress": {"websocketTimeoutSeconds": "3600"}},
             ["/ingress/websocketTimeoutSeconds", "string", "integer"]),
            ("HPA on with maxReplicas \"ten\"", {"services": {"edge": {"autoscaling": {"enabled": True, "maxReplicas": "ten"}}}},
             ["/services/edge/autoscaling/maxReplicas"]),
            ("logFormat yaml", {"config": {"logFormat": "yaml"}}, ["/config/logFormat"]),
            ("typo replica", {"services": {"edge": {"replica": 2}}}, ["replica"]),
            ("short jwtSecret", {"auth": {"jwtSecret": "short"}}, ["/auth/jwtSecret"]),
            ("31-byte jwtSecret", {"auth": {"jwtSecret": "x" * 31}}, ["/auth/jwtSecret"]),
            ("extraEnv not TALK_*", {"config": {"extraEnv": {"DATABASE_URL": "x"}}}, ["DATABASE_URL", "pattern"]),
            ("opsPort \"9090\"", {"opsPort": "9090"}, ["/opsPort", "string", "integer"]),
            ("grpcTls typo", {"grpcTls": {"enabled": True, "secret": "x"}}, ["/grpcTls", "secret"]),
        ]
        for label, values, expected in broken_cases:
            expect_failure(report, chart, label, values, expected, [
                ("schema validation", lambda v=values: chart.validate_schema(v)),
                ("render", lambda v=values: chart.render(v, name=RELEASE, namespace=NAMESPACE, is_install=True)),
            ])
        # Pass the schema, fail the templates: mutual TLS without its Secret, an API port on the ops port.
        for label, values, expected in [
            ("grpcTls without secretName", {"grpcTls": {"enabled": True, "secretName": ""}}, ["grpcTls.secretName is required"]),
            ("opsPort = the edge's port", {"opsPort": 8080}, ["services.edge.port and opsPort are both 8080"]),
        ]:
            expect_failure(report, chart, label, values, expected, [
                ("render", lambda v=values: chart.render(v, name=RELEASE, namespace=NAMESPACE, is_install=True)),
            ])
        # The ops-port check catches an Ingress routing the ops port and a probe on an API port.
        docs = render(chart, {})
        ops_port = chart.merge_values({})["opsPort"]
        for label, mutate in [
            ("an Ingress backend on port name ops", lambda d: d["kind"] == "Ingress" and
             d["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"].update(name="ops")),
            ("an Ingress backend on the ops port number", lambda d: d["kind"] == "Ingress" and
             d["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].update(port={"number": ops_port})),
            ("a readiness probe on the API port", lambda d: d["kind"] == "Deployment" and
             d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"].update(port="http")),
            ("a liveness probe on the API port number", lambda d: d["kind"] == "Deployment" and
             d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"].update(port=50051)),
            ("the ops port open to every pod", lambda d: d["kind"] == "NetworkPolicy" and
             d["spec"]["ingress"].append({"from": [{"podSelector": {}}], "ports": [{"port": "ops", "protocol": "TCP"}]})),
        ]:
            broken = copy.deepcopy(docs)
            for _, doc in broken:
                mutate(doc)
            report.check(bool(ops_problems(broken, ops_port, False)), f"the ops-port check misses {label}")
        # A missing database URL passes the schema (existingSecret may carry it) but not the templates.
        no_db = {"database": {"url": ""}}
        expect_failure(report, chart, "no database.url and no existingSecret", no_db, ["database.url is required"], [
            ("render", lambda: chart.render(no_db, name=RELEASE, namespace=NAMESPACE, is_install=True)),
        ])
        # The same without database.url but with existingSecret renders.
        try:
            render(chart, deep_merge(no_db, {"existingSecret": "talk-secrets"}))
            report.check(True, "")
        except helm.HelmError as e:
            report.check(False, f"existingSecret without database.url must render: {e}")

        # No default secret: not in the chart's values, not in compose; and the check catches one.
        defaults = chart.merge_values({})
        compose = COMPOSE.read_text()
        found = secret_defaults(defaults, compose)
        report.check(not found, f"no default secret: {found}")
        for label, values, text in [
            ("a default jwtSecret", deep_merge(defaults, {"auth": {"jwtSecret": "y" * 40}}), compose),
            ("a password in database.url", deep_merge(defaults, {"database": {"url": "postgres://talk:talk@pg/talk"}}), compose),
            ("a compose default", defaults, compose.replace("${TALK_JWT_SECRET:?", "${TALK_JWT_SECRET:-changeme", 1)),
            ("a literal compose password", defaults, compose.replace("${TALK_POSTGRES_PASSWORD:?set TALK_POSTGRES_PASSWORD}", "talk")),
        ]:
            report.check(bool(secret_defaults(values, text)), f"the no-default-secret check misses {label}")
        # Without networkPolicy the chart still renders, with no NetworkPolicy.
        off = {"networkPolicy": {"enabled": False}}
        try:
            docs = render(chart, off)
            chart_checks(report, "no network policies", docs, chart.merge_values(off), known_env)
        except helm.HelmError as e:
            report.check(False, f"networkPolicy.enabled=false must render: {e}")

    elapsed = time.monotonic() - started
    print(f"chart-check: {report.passed} passed, {len(report.failed)} failed")
    print(f"chart-check: done in {elapsed:.2f}s")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
