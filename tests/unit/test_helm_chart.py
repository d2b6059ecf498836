"""The Helm chart: CRDs equal to crds/, RBAC equal to an expected table, and pod settings.

Rendering needs the helm binary (PATH, or the local cluster's build); without
it the rendering tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import REPO_ROOT

CHART = REPO_ROOT / "helm" / "stage2-operator"
CRD_DIR = REPO_ROOT / "crds"
LOCAL_HELM = Path(os.environ.get("STAGE2_CACHE", "/var/cache/stage2-operator")) / "helm-v4.3.2" / "bin" / "helm"
CHART_LABEL_KEYS = {
    "helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance",
    "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of",
}

# Every rule the operator needs for the namespaced objects it reads and writes.
NAMESPACED_RULES = {
    ("stage2.dev", "workflows"): {"get", "list", "watch", "delete"},
    ("stage2.dev", "workflows/status"): {"get", "update", "patch"},
    ("stage2.dev", "operations"): {"get", "list", "watch"},
    ("stage2.dev", "operations/status"): {"patch"},
    ("batch", "jobs"): {"get", "list", "watch", "create", "delete", "deletecollection"},
    ("", "pods"): {"get", "list", "watch"},
    ("", "configmaps"): {"get", "list", "watch", "create", "delete", "deletecollection"},
    ("", "persistentvolumeclaims"): {"get", "list", "watch", "create", "patch", "delete", "deletecollection"},
    ("", "events"): {"create"},
    ("events.k8s.io", "events"): {"create"},
}
# Cluster-scoped reads kopf needs to find resources and expand namespace globs.
CLUSTER_RULES = {
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"},
    ("", "namespaces"): {"list", "watch"},
}
LEASE_RULES = {("coordination.k8s.io", "leases"): {"get", "create", "update"}}


def helm_binary() -> str | None:
    found = shutil.which("helm")
    if found:
        return found
    return str(LOCAL_HELM) if LOCAL_HELM.exists() else None


def render(*values: str, namespace: str = "stage2-system", api_versions: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Render the chart with `--set` values and return its documents."""
    helm = helm_binary()
    if helm is None:
        pytest.skip("helm not found on PATH or in the local cluster's build cache")
    command = [helm, "template", "s2", str(CHART), "--namespace", namespace]
    for value in values:
        command += ["--set", value]
    for api_version in api_versions:
        command += ["--api-versions", api_version]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def render_fails(*values: str) -> str:
    helm = helm_binary()
    if helm is None:
        pytest.skip("helm not found on PATH or in the local cluster's build cache")
    command = [helm, "template", "s2", str(CHART)]
    for value in values:
        command += ["--set", value]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, "rendering was expected to fail"
    return result.stderr


def of_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [document for document in documents if document["kind"] == kind]


def granted_rules(documents: list[dict[str, Any]], *, role_kind: str, namespace: str | None = None) -> dict[tuple[str, str], set[str]]:
    """Return (API group, resource) -> verbs of the roles bound to the operator's ServiceAccount."""
    bound = set()
    binding_kind = "ClusterRoleBinding" if role_kind == "ClusterRole" else "RoleBinding"
    for binding in of_kind(documents, binding_kind):
        if namespace is not None and binding["metadata"].get("namespace") != namespace:
            continue
        if any(subject["kind"] == "ServiceAccount" and subject["name"] == "s2-stage2-operator"
               for subject in binding["subjects"]):
            bound.add(binding["roleRef"]["name"])
    rules: dict[tuple[str, str], set[str]] = {}
    for role in of_kind(documents, role_kind):
        if role["metadata"]["name"] not in bound:
            continue
        if namespace is not None and role["metadata"].get("namespace") != namespace:
            continue
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    rules.setdefault((group, resource), set()).update(rule["verbs"])
    return rules


def strip_chart_metadata(crd: dict[str, Any]) -> dict[str, Any]:
    """Return the CRD without the labels and annotations the chart adds."""
    metadata = dict(crd["metadata"])
    labels = {key: value for key, value in (metadata.pop("labels", None) or {}).items() if key not in CHART_LABEL_KEYS}
    annotations = dict(metadata.pop("annotations", None) or {})
    annotations.pop("helm.sh/resource-policy", None)
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {**crd, "metadata": metadata}


# --- CRDs --------------------------------------------------------------------


def test_chart_crd_templates_current() -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "hack" / "chart_crds.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_rendered_crds_equal_crds_dir() -> None:
    rendered = {crd["metadata"]["name"]: strip_chart_metadata(crd)
                for crd in of_kind(render(), "CustomResourceDefinition")}
    expected = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        expected[crd["metadata"]["name"]] = crd
    assert sorted(rendered) == sorted(expected)
    for name, crd in expected.items():
        assert rendered[name] == crd, f"chart CRD {name} differs from crds/; run python hack/chart_crds.py"


def test_crds_keep_annotation() -> None:
    for crd in of_kind(render(), "CustomResourceDefinition"):
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_crds_keep_false_deletable() -> None:
    crds = of_kind(render("crds.keep=false"), "CustomResourceDefinition")
    assert len(crds) == 2
    for crd in crds:
        annotations = crd["metadata"].get("annotations") or {}
        assert "helm.sh/resource-policy" not in annotations


def test_crds_install_false() -> None:
    assert of_kind(render("crds.install=false"), "CustomResourceDefinition") == []


# --- RBAC --------------------------------------------------------------------


def test_rbac_all_namespaces() -> None:
    documents = render()
    assert granted_rules(documents, role_kind="ClusterRole") == {**NAMESPACED_RULES, **CLUSTER_RULES}
    assert granted_rules(documents, role_kind="Role", namespace="stage2-system") == LEASE_RULES


def test_rbac_watch_namespaces() -> None:
    documents = render("watchNamespaces={team-a,team-b}")
    assert granted_rules(documents, role_kind="ClusterRole") == CLUSTER_RULES
    assert granted_rules(documents, role_kind="Role", namespace="team-a") == NAMESPACED_RULES
    assert granted_rules(documents, role_kind="Role", namespace="team-b") == NAMESPACED_RULES
    assert granted_rules(documents, role_kind="Role", namespace="stage2-system") == LEASE_RULES


def test_rbac_without_leader_election() -> None:
    documents = render("controller.leaderElection=false")
    assert granted_rules(documents, role_kind="Role", namespace="stage2-system") == {}


def test_rbac_aggregated_user_roles() -> None:
    roles = {role["metadata"]["name"]: role for role in of_kind(render(), "ClusterRole")}
    edit_labels = roles["s2-stage2-operator-edit"]["metadata"]["labels"]
    view_labels = roles["s2-stage2-operator-view"]["metadata"]["labels"]
    assert edit_labels["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert view_labels["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert set(roles["s2-stage2-operator-view"]["rules"][0]["verbs"]) == {"get", "list", "watch"}


# --- Deployment ----------------------------------------------------------------


def operator_container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = of_kind(documents, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def environment(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_deployment_defaults() -> None:
    documents = render()
    (deployment,) = of_kind(documents, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    container = operator_container(documents)
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["imagePullPolicy"] in ("IfNotPresent", "Never")
    assert "--all-namespaces" in container["args"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["args"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "hostNetwork" not in pod
    env = environment(container)
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["STAGE2_WEBHOOK_ENABLED"] == "false"
    assert "KUBERNETES_SERVICE_HOST" not in env


def test_deployment_settings_reach_env() -> None:
    container = operator_container(render(
        "controller.workers=7", "controller.createConcurrency=3", "controller.resyncSeconds=15",
        "controller.imagePullGraceSeconds=30", "controller.defaultStorageClass=fast",
        "controller.events=false", "controller.leaderElection=false", "controller.logFormat=json",
    ))
    env = environment(container)
    assert env["STAGE2_WORKERS"] == "7"
    assert env["STAGE2_CREATE_CONCURRENCY"] == "3"
    assert env["STAGE2_RESYNC_SECONDS"] == "15"
    assert env["STAGE2_IMAGE_PULL_GRACE_SECONDS"] == "30"
    assert env["STAGE2_DEFAULT_STORAGE_CLASS"] == "fast"
    assert env["STAGE2_EVENTS"] == "false"
    assert env["STAGE2_LEADER_ELECTION"] == "false"
    assert env["STAGE2_LOG_FORMAT"] == "json"


def test_deployment_host_network() -> None:
    documents = render("hostNetwork=true", "apiServer.host=127.0.0.1", "apiServer.port=6443",
                       "watchNamespaces={team-a}")
    (deployment,) = of_kind(documents, "Deployment")
    container = operator_container(documents)
    env = environment(container)
    assert deployment["spec"]["template"]["spec"]["hostNetwork"] is True
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
    assert "--liveness=http://127.0.0.1:8080/healthz" in container["args"]
    assert container["livenessProbe"]["httpGet"]["host"] == "127.0.0.1"
    assert "--namespace=team-a" in container["args"]
    assert "--all-namespaces" not in container["args"]


def test_values_schema_rejects_log_format() -> None:
    assert "logFormat" in render_fails("controller.logFormat=xml")


# --- Metrics and webhook -------------------------------------------------------


def test_metrics_service_and_monitor() -> None:
    documents = render("serviceMonitor.enabled=true", "serviceMonitor.labels.release=prom")
    services = {service["metadata"]["name"]: service for service in of_kind(documents, "Service")}
    assert services["s2-stage2-operator-metrics"]["spec"]["ports"][0]["port"] == 9090
    (monitor,) = of_kind(documents, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert of_kind(render(), "ServiceMonitor") == []


def test_webhook_off_by_default_offline() -> None:
    documents = render()
    assert of_kind(documents, "ValidatingWebhookConfiguration") == []


def test_webhook_auto_with_cert_manager() -> None:
    documents = render(api_versions=("cert-manager.io/v1",))
    (configuration,) = of_kind(documents, "ValidatingWebhookConfiguration")
    (certificate,) = of_kind(documents, "Certificate")
    assert configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == (
        "stage2-system/s2-stage2-operator-webhook"
    )
    assert certificate["spec"]["dnsNames"][0] == "s2-stage2-operator-webhook.stage2-system.svc"
    paths = sorted(webhook["clientConfig"]["service"]["path"] for webhook in configuration["webhooks"])
    assert paths == ["/validate-operation", "/validate-workflow"]


def test_webhook_with_certificate_and_url() -> None:
    documents = render("webhook.certificate.cert=CERT", "webhook.certificate.key=KEY",
                       "webhook.url=https://127.0.0.1:9443", "watchNamespaces={team-a}")
    (configuration,) = of_kind(documents, "ValidatingWebhookConfiguration")
    (secret,) = of_kind(documents, "Secret")
    urls = sorted(webhook["clientConfig"]["url"] for webhook in configuration["webhooks"])
    assert urls == ["https://127.0.0.1:9443/validate-operation", "https://127.0.0.1:9443/validate-workflow"]
    for webhook in configuration["webhooks"]:
        assert webhook["clientConfig"]["caBundle"] == "Q0VSVA=="
        assert webhook["namespaceSelector"]["matchExpressions"][0]["values"] == ["team-a"]
        assert webhook["sideEffects"] == "None"
    assert secret["type"] == "kubernetes.io/tls"
    assert environment(operator_container(documents))["STAGE2_WEBHOOK_ENABLED"] == "true"


def test_webhook_existing_secret_needs_ca() -> None:
    assert "caBundle" in render_fails("webhook.existingSecret=mine")
