"""Unit tests of the cluster-test helpers; they need no cluster."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.support import cluster
from tests.support.cluster import check_server_is_local, kubeconfig_server, wait_for

KUBECONFIG_TEMPLATE = """\
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {{server: "https://10.9.9.9:6443"}}
- name: chosen
  cluster: {{server: "{server}"}}
users: [{{name: u, user: {{token: x}}}}]
contexts:
- {{name: first, context: {{cluster: other, user: u}}}}
- {{name: second, context: {{cluster: chosen, user: u}}}}
current-context: second
"""


def write_kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG_TEMPLATE.format(server=server))
    return path


def test_wait_for_returns_first_truthy_value():
    values = iter([None, 0, "", "ready"])
    assert wait_for(lambda: next(values), timeout=5, interval=0) == "ready"


def test_wait_for_retries_after_exceptions():
    calls = itertools.count()

    def flaky():
        if next(calls) < 2:
            raise ConnectionError("not yet")
        return 42

    assert wait_for(flaky, timeout=5, interval=0) == 42


def test_wait_for_timeout_reports_last_value():
    with pytest.raises(AssertionError) as raised:
        wait_for(lambda: [], timeout=0.05, interval=0.01, message="list to fill")
    assert "list to fill" in str(raised.value)
    assert "last value: []" in str(raised.value)


def test_wait_for_timeout_reports_last_exception():
    def failing():
        raise ValueError("boom")

    with pytest.raises(AssertionError, match="boom"):
        wait_for(failing, timeout=0.05, interval=0.01)


def test_kubeconfig_server_follows_current_context(tmp_path):
    path = write_kubeconfig(tmp_path, "https://127.0.0.1:6443")
    assert kubeconfig_server(path) == "https://127.0.0.1:6443"


@pytest.mark.parametrize("server", [
    "https://127.0.0.1:6443",
    "https://localhost:6443",
    "https://[::1]:6443",
])
def test_loopback_server_accepted(tmp_path, monkeypatch, server):
    monkeypatch.delenv("STAGE2_TEST_ALLOW_REMOTE", raising=False)
    check_server_is_local(write_kubeconfig(tmp_path, server))


@pytest.mark.parametrize("server", [
    "https://10.0.0.1:6443",
    "https://127.0.0.1.example.com:6443",
    "https://cluster.example.com",
])
def test_remote_server_rejected(tmp_path, monkeypatch, server):
    monkeypatch.delenv("STAGE2_TEST_ALLOW_REMOTE", raising=False)
    with pytest.raises(RuntimeError, match="STAGE2_TEST_ALLOW_REMOTE=1"):
        check_server_is_local(write_kubeconfig(tmp_path, server))


def test_remote_server_allowed_by_env(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE2_TEST_ALLOW_REMOTE", "1")
    check_server_is_local(write_kubeconfig(tmp_path, "https://10.0.0.1:6443"))


def test_explicit_kubeconfig_is_not_contacted(tmp_path, monkeypatch):
    path = write_kubeconfig(tmp_path, "https://127.0.0.1:1")
    monkeypatch.setenv("STAGE2_TEST_KUBECONFIG", str(path))
    monkeypatch.setattr(cluster, "start_local_cluster", pytest.fail)
    monkeypatch.setattr(cluster, "api_server_ready", pytest.fail)
    assert cluster.resolve_kubeconfig() == path


def test_missing_explicit_kubeconfig_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE2_TEST_KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(RuntimeError, match="is not a file"):
        cluster.resolve_kubeconfig()
