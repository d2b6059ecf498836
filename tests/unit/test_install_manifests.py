"""manifests/install must equal what hack/render-install.sh renders from the chart now."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.cluster import REPO_ROOT
from tests.unit.test_helm_chart import helm_binary

INSTALL_DIR = REPO_ROOT / "manifests" / "install"


def test_install_manifests_match_chart(tmp_path: Path) -> None:
    helm = helm_binary()
    if helm is None:
        pytest.skip("helm not found on PATH or in the local cluster's build cache")
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "hack" / "render-install.sh"), str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HELM": helm},
    )
    assert result.returncode == 0, result.stderr
    rendered = {path.name: path.read_text() for path in tmp_path.glob("*.yaml")}
    committed = {path.name: path.read_text() for path in INSTALL_DIR.glob("*.yaml")}
    assert sorted(committed) == sorted(rendered), "run hack/render-install.sh and commit manifests/install"
    for name, text in rendered.items():
        assert committed[name] == text, f"manifests/install/{name} is stale; run hack/render-install.sh"


def test_kustomization_lists_every_file() -> None:
    kustomization = yaml.safe_load((INSTALL_DIR / "kustomization.yaml").read_text())
    files = sorted(path.name for path in INSTALL_DIR.glob("*.yaml") if path.name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == files


def test_install_namespace_consistent() -> None:
    for path in INSTALL_DIR.glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document["kind"] in ("Kustomization",):
                continue
            namespace = document["metadata"].get("namespace")
            assert namespace in (None, "stage2-system"), f"{path.name}: {document['kind']} in {namespace}"
