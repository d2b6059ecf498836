"""The operator, running in the test process against the test cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from kopf.testing import KopfRunner
from kubernetes import client

from tests.support.operator import install_crds


@pytest.fixture(scope="session")
def operator(kube_config: str, k8s_api: client.ApiClient) -> Iterator[KopfRunner]:
    """Install the CRDs and run the operator in-process for the whole session."""
    install_crds(k8s_api)
    os.environ.setdefault("STAGE2_IMAGE_PULL_GRACE_SECONDS", "20")
    os.environ.setdefault("STAGE2_RESYNC_SECONDS", "10")
    # Only operators watching the same namespaces may share a leader Lease.
    os.environ.setdefault("STAGE2_LEADER_ELECTION_ID", "stage2-operator-tests-s2t")
    # Any free port, so that parallel test sessions do not collide on 9090;
    # tests read the port from stage2_operator.metrics.serving_ports().
    os.environ.setdefault("STAGE2_METRICS_PORT", "0")
    runner = KopfRunner(
        ["run", "--namespace=s2t-*", "--standalone", "--verbose", "-m", "stage2_operator.handlers"],
        timeout=60,
    )
    with runner:
        yield runner
    assert runner.exception is None, runner.exception
    assert runner.exit_code == 0, runner.stdout[-4000:]
