"""Prometheus metrics of the controller, in the shape of controller-runtime's.

The reconciler, the Kubernetes seam (`kube.py`) and the kopf startup handler
call into this module, and nothing here talks to the API server. Every metric
lives in `REGISTRY`, one registry per process: two operators started in the
same process share it, so their counts add up. Workflow and node names are
never labels, because they are unbounded; Operation names are, because a
cluster has few Operations.

Metric names (prefix `stage2_`):

- `stage2_workflows{phase}`, `stage2_nodes{phase}`: gauges from the last
  status seen of each Workflow;
- `stage2_reconcile_total{result}`, `stage2_reconcile_errors_total`,
  `stage2_reconcile_time_seconds`: one count and one duration per pass;
- `stage2_job_create_duration_seconds`: the Job create call;
- `stage2_step_latency_seconds`: last upstream `finishedAt` to the
  downstream Job created;
- `stage2_node_duration_seconds{operation,phase}`: `startedAt` to
  `finishedAt` of each node that finishes;
- `stage2_k8s_requests_total{verb,resource,code}` and
  `stage2_k8s_request_duration_seconds{verb,resource}`: every request of
  the operator's own API client (kopf's watch streams are not included);
- `stage2_workqueue_depth`: keys waiting in the work queue;
- `stage2_leader`: 1 while this replica holds the leader Lease (or runs
  without leader election), else 0;
- `stage2_build_info{version}`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from .models import NodePhase, WorkflowPhase
from .nodestate import status_entries

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Reconcile results, as controller-runtime names them. `requeue` is a pass
# retried at once because the status changed under it (409 Conflict).
RESULTS = ("success", "error", "requeue", "requeue_after")

# 5 ms to 60 s, as controller-runtime's reconcile histogram spans.
RECONCILE_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Step latency comes from timestamps with one-second resolution, so
# sub-second buckets would only split rounding noise.
STEP_BUCKETS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
NODE_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0)

RECONCILE_TOTAL = Counter(
    "stage2_reconcile_total", "Reconcile passes of Workflows, by result.", ["result"], registry=REGISTRY
)
RECONCILE_ERRORS = Counter(
    "stage2_reconcile_errors_total", "Reconcile passes that raised an error and were retried.", registry=REGISTRY
)
RECONCILE_TIME = Histogram(
    "stage2_reconcile_time_seconds", "Duration of one reconcile pass of a Workflow.",
    buckets=RECONCILE_BUCKETS, registry=REGISTRY,
)
JOB_CREATE_TIME = Histogram(
    "stage2_job_create_duration_seconds",
    "Duration of the create call of a node's Job, including the wait for a worker thread.",
    buckets=REQUEST_BUCKETS, registry=REGISTRY,
)
STEP_LATENCY = Histogram(
    "stage2_step_latency_seconds",
    "Time from the last upstream node's finishedAt to the creation of the downstream node's Job "
    "(one-second resolution).",
    buckets=STEP_BUCKETS, registry=REGISTRY,
)
NODE_DURATION = Histogram(
    "stage2_node_duration_seconds", "Time from a node's startedAt to its finishedAt, by Operation and final phase.",
    ["operation", "phase"], buckets=NODE_BUCKETS, registry=REGISTRY,
)
K8S_REQUESTS = Counter(
    "stage2_k8s_requests_total", "Kubernetes API requests of the operator's client, by verb, resource and HTTP code.",
    ["verb", "resource", "code"], registry=REGISTRY,
)
K8S_REQUEST_TIME = Histogram(
    "stage2_k8s_request_duration_seconds", "Duration of Kubernetes API requests of the operator's client.",
    ["verb", "resource"], buckets=REQUEST_BUCKETS, registry=REGISTRY,
)
BUILD_INFO = Gauge("stage2_build_info", "Always 1; the label carries the operator version.", ["version"],
                   registry=REGISTRY)

for _result in RESULTS:
    RECONCILE_TOTAL.labels(result=_result)


def _version() -> str:
    try:
        return metadata.version("stage2-operator")
    except metadata.PackageNotFoundError:
        return "unknown"


BUILD_INFO.labels(version=_version()).set(1)


# Workflow and node phases.


class PhaseTracker:
    """Last seen phase of each Workflow and the phase counts of its nodes, for the gauges."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workflows: dict[tuple[str, str], tuple[str, Tally[str]]] = {}

    def update(self, key: tuple[str, str], status: Mapping[str, Any] | None) -> None:
        status = status or {}
        nodes = status_entries(status)
        counts: Tally[str] = Tally(str(entry.get("phase") or NodePhase.PENDING) for entry in nodes.values())
        phase = str(status.get("phase") or WorkflowPhase.PENDING)
        with self._lock:
            self._workflows[key] = (phase, counts)

    def forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._workflows.pop(key, None)

    def totals(self) -> tuple[Tally[str], Tally[str]]:
        """Return the number of Workflows per phase and of nodes per phase."""
        workflows: Tally[str] = Tally({phase.value: 0 for phase in WorkflowPhase})
        nodes: Tally[str] = Tally({phase.value: 0 for phase in NodePhase})
        with self._lock:
            for phase, counts in self._workflows.values():
                workflows[phase] += 1
                nodes.update(counts)
        return workflows, nodes


PHASES = PhaseTracker()


class _StateCollector(Collector):
    """Gauges computed when scraped: phases, work queue depth and leadership."""

    def __init__(self) -> None:
        self.queue_depth: Callable[[], int] = lambda: 0
        self.is_leader: Callable[[], bool] = lambda: False

    def collect(self) -> Iterator[GaugeMetricFamily]:
        workflows, nodes = PHASES.totals()
        family = GaugeMetricFamily("stage2_workflows", "Workflows known to the operator, by phase.", labels=["phase"])
        for phase, count in sorted(workflows.items()):
            family.add_metric([phase], count)
        yield family
        family = GaugeMetricFamily("stage2_nodes", "Nodes of the Workflows known to the operator, by phase.",
                                   labels=["phase"])
        for phase, count in sorted(nodes.items()):
            family.add_metric([phase], count)
        yield family
        yield GaugeMetricFamily("stage2_workqueue_depth", "Workflow keys waiting in the work queue.",
                                value=self.queue_depth())
        yield GaugeMetricFamily("stage2_leader", "1 while this replica reconciles Workflows as the leader, else 0.",
                                value=1 if self.is_leader() else 0)


_STATE = _StateCollector()
REGISTRY.register(_STATE)


def watch_controller(*, queue_depth: Callable[[], int], is_leader: Callable[[], bool]) -> None:
    """Report a controller's work queue depth and leadership (the last controller started wins)."""
    _STATE.queue_depth = queue_depth
    _STATE.is_leader = is_leader


# Reconcile passes and node timings.


def record_reconcile(*, result: str, seconds: float) -> None:
    RECONCILE_TOTAL.labels(result=result).inc()
    RECONCILE_TIME.observe(seconds)
    if result == "error":
        RECONCILE_ERRORS.inc()


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class UpstreamTimes:
    """The latest `finishedAt` among each node's upstreams, read from one status."""

    def __init__(self, *, spec: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        self._spec = spec
        self._entries: Mapping[str, Any] = status_entries(status)
        self._upstreams: dict[str, set[str]] | None = None

    def latest(self, node: str) -> datetime | None:
        """Return the time the node's last upstream finished, or None for a node without inputs."""
        if self._upstreams is None:
            # Built on first use, so a pass that creates no Job pays nothing.
            self._upstreams = {
                str(raw.get("name")): {up for wired in (raw.get("inputs") or {}).values() for up in wired or ()}
                for raw in self._spec.get("nodes") or []
                if isinstance(raw, Mapping)
            }
        times = [_parse_time((self._entries.get(up) or {}).get("finishedAt")) for up in self._upstreams.get(node, ())]
        return max((moment for moment in times if moment is not None), default=None)


def record_job_created(*, seconds: float, upstream_finished: datetime | None, now: datetime) -> None:
    """Record one Job create call and, for a node with inputs, the step latency up to it.

    NOTE: `finishedAt` comes from the Job's completionTime, which Kubernetes
    truncates to whole seconds, so the step latency is too large by up to
    one second.
    """
    JOB_CREATE_TIME.observe(seconds)
    if upstream_finished is not None:
        STEP_LATENCY.observe(max(0.0, (now - upstream_finished).total_seconds()))


def record_finished_nodes(
    *, spec: Mapping[str, Any], old_status: Mapping[str, Any], new_status: Mapping[str, Any]
) -> None:
    """Observe the duration of every node that has a `finishedAt` now and had none before."""
    old_nodes = old_status.get("nodes") or {}
    finished = [
        (name, entry)
        for name, entry in (new_status.get("nodes") or {}).items()
        if entry.get("finishedAt") and entry.get("startedAt") and not (old_nodes.get(name) or {}).get("finishedAt")
    ]
    if not finished:
        return
    operations = {raw.get("name"): str(raw.get("operation")) for raw in spec.get("nodes") or [] if isinstance(raw, Mapping)}
    for name, entry in finished:
        started = _parse_time(entry["startedAt"])
        ended = _parse_time(entry["finishedAt"])
        if started is None or ended is None:
            continue
        NODE_DURATION.labels(operation=operations.get(name, "unknown"), phase=str(entry.get("phase"))).observe(
            max(0.0, (ended - started).total_seconds())
        )


# Kubernetes API requests.

_NAMED = {"GET": "get", "DELETE": "delete"}
_COLLECTION = {"GET": "list", "DELETE": "deletecollection", "POST": "create"}
_ANY = {"PUT": "update", "PATCH": "patch", "POST": "create"}


def describe_request(method: str, url: str) -> tuple[str, str]:
    """Return the Kubernetes verb and resource (with subresource) of an API request URL.

    `/api/v1/namespaces/ns/pods` is a `list` of `pods`;
    `/apis/stage2.dev/v1alpha1/namespaces/ns/workflows/wf/status` with PUT
    is an `update` of `workflows/status`.
    """
    method = method.upper()
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return method.lower(), "other"
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    if not rest:
        return method.lower(), "other"
    resource = rest[0]
    if len(rest) >= 3:
        resource = f"{resource}/{rest[2]}"
    if len(rest) == 1:
        verb = _COLLECTION.get(method) or _ANY.get(method) or method.lower()
    else:
        verb = _NAMED.get(method) or _ANY.get(method) or method.lower()
    return verb, resource


def instrument_api_client(api_client: Any) -> None:
    """Count and time every request that `api_client` (a kubernetes.client.ApiClient) sends.

    Wraps the instance's REST client; a second call on the same client does
    nothing. Requests that fail without an HTTP response count as code `error`.
    """
    rest_client = api_client.rest_client
    if getattr(rest_client, "_stage2_instrumented", False):
        return
    send = rest_client.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        verb, resource = describe_request(method, url)
        started = time.monotonic()
        code = "error"
        try:
            response = send(method, url, *args, **kwargs)
            code = str(getattr(response, "status", "error"))
            return response
        except Exception as error:
            status = getattr(error, "status", None)
            code = str(status) if status else "error"
            raise
        finally:
            K8S_REQUESTS.labels(verb=verb, resource=resource, code=code).inc()
            K8S_REQUEST_TIME.labels(verb=verb, resource=resource).observe(time.monotonic() - started)

    rest_client.request = request
    rest_client._stage2_instrumented = True


# The HTTP endpoint.


class MetricsServer:
    """The `/metrics` endpoint, served from a thread by prometheus_client."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


_SERVERS: list[MetricsServer] = []


def serve(*, address: str, port: int) -> MetricsServer:
    """Start serving `REGISTRY` on `address:port` (port 0: any free port); raise OSError if it is taken."""
    server, thread = start_http_server(port, addr=address, registry=REGISTRY)
    running = MetricsServer(server, thread)
    _SERVERS.append(running)
    return running


def stop(server: MetricsServer) -> None:
    server.stop()
    if server in _SERVERS:
        _SERVERS.remove(server)


def serving_ports() -> list[int]:
    """Return the ports of the endpoints started in this process, oldest first (for tests)."""
    return [server.port for server in _SERVERS]
