"""In-cluster login for kopf that honours KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT.

kopf's `login_with_service_account` (1.45) always sends requests to
`https://kubernetes.default.svc`, which needs cluster DNS. Kubernetes sets
both variables in every pod, and client-go and the Python client use them,
so this login does too. Clusters without DNS or kube-proxy (a hostNetwork
pod pointed at 127.0.0.1:6443) then work as well.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import kopf


def service_account_server() -> str | None:
    """Return the API server URL from the in-cluster environment, or None when it is not set."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    if not host:
        return None
    port = os.environ.get("KUBERNETES_SERVICE_PORT") or "443"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}"


def login_with_service_account(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """Log in with the pod's ServiceAccount token, at the API server address the pod environment names."""
    info = kopf.login_with_service_account(**kwargs)
    server = service_account_server()
    if info is None or server is None:
        return info
    return dataclasses.replace(info, server=server)
