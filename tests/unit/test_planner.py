"""Planner tests: plain data in, actions and status out, no cluster."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from stage2_operator import planner
from stage2_operator.models import OperationSpec
from stage2_operator.observe import JobView, LauncherReport, OutputEntry, PodView
from stage2_operator.validation import validate_operation

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=timezone.utc)
META = planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=1)
SETTINGS = planner.Settings(image_pull_grace_seconds=60)

SOURCE = {
    "family": "source",
    "image": "localhost/text-source:dev",
    "parameters": {"Text": {"type": "string", "default": "hello"}},
    "output": {},
}
UPPER = {
    "family": "compute",
    "image": "localhost/text-upper:dev",
    "inputs": {"Text": {"multiplicity": {"min": 1}}},
    "output": {},
}
SINK = {"family": "sink", "image": "localhost/report:dev", "inputs": {"Input": {}}}


def parse(raw: dict[str, Any]) -> OperationSpec:
    spec, errors = validate_operation(raw)
    assert not errors, errors
    assert spec is not None
    return spec


OPERATIONS = {"text-source": parse(SOURCE), "text-upper": parse(UPPER), "report": parse(SINK)}


def chain_spec(**extra: Any) -> dict[str, Any]:
    return {
        "nodes": [
            {"name": "a", "operation": "text-source"},
            {"name": "b", "operation": "text-upper", "inputs": {"Text": ["a"]}},
            {"name": "c", "operation": "text-upper", "inputs": {"Text": ["b"]}},
        ],
        **extra,
    }


def diamond_spec(**extra: Any) -> dict[str, Any]:
    return {
        "nodes": [
            {"name": "a", "operation": "text-source"},
            {"name": "b", "operation": "text-upper", "inputs": {"Text": ["a"]}},
            {"name": "c", "operation": "text-upper", "inputs": {"Text": ["a"]}},
            {"name": "d", "operation": "text-upper", "inputs": {"Text": ["c", "b"]}},
        ],
        **extra,
    }


class World:
    """A fake cluster state that applies plans the way the API server would."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.status: dict[str, Any] = {}
        self.jobs: dict[str, JobView] = {}
        self.pods: dict[str, list[PodView]] = {}
        self.configmaps: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.now = NOW

    def step(self, **kwargs: Any) -> planner.Plan:
        result = planner.plan(
            meta=kwargs.pop("meta", META),
            spec=self.spec,
            status=self.status,
            operations=kwargs.pop("operations", OPERATIONS),
            jobs=list(self.jobs.values()),
            pods=self.pods,
            now=self.now,
            settings=SETTINGS,
            **kwargs,
        )
        for action in result.actions:
            if isinstance(action, planner.Create):
                manifest = action.manifest
                self.created.append(manifest)
                name = manifest["metadata"]["name"]
                if manifest["kind"] == "Job":
                    annotations = manifest["metadata"]["annotations"]
                    self.jobs[name] = JobView(
                        name=name,
                        workflow=annotations["stage2.dev/workflow"],
                        node=annotations["stage2.dev/node"],
                        run=manifest["metadata"]["labels"]["stage2.dev/run"],
                        uid=f"uid-{name}",
                        created=None,
                        deleting=False,
                        active=1,
                    )
                elif manifest["kind"] == "ConfigMap":
                    self.configmaps[name] = manifest
            elif isinstance(action, planner.Delete):
                self.jobs.pop(action.name, None)
        self.status = result.status
        return result

    def job_of(self, node: str) -> JobView:
        return next(job for job in self.jobs.values() if job.node == node)

    def succeed(self, node: str, output: str = "data.txt") -> None:
        job = self.job_of(node)
        self.jobs[job.name] = JobView(**{**job.__dict__, "active": 0, "succeeded": 1, "complete": True,
                                         "completion_time": "2026-12-04T12:00:05Z"})
        report = LauncherReport(exit_code=0, attempt=1, outputs=(OutputEntry(name=output, kind="file"),))
        self.pods[job.name] = [PodView(name=f"{job.name}-x", job=job.name, phase="Succeeded", created=None,
                                       deleting=False, exit_code=0, report=report)]

    def fail(self, node: str, exit_code: int = 1, reason: str = "Error") -> None:
        job = self.job_of(node)
        self.jobs[job.name] = JobView(**{**job.__dict__, "active": 0, "failed": 1,
                                         "failed_reason": "BackoffLimitExceeded"})
        self.pods[job.name] = [PodView(name=f"{job.name}-x", job=job.name, phase="Failed", created=None,
                                       deleting=False, exit_code=exit_code, terminated_reason=reason)]

    def created_jobs(self) -> list[str]:
        return [m["metadata"]["annotations"]["stage2.dev/node"] for m in self.created if m["kind"] == "Job"]


def node_phases(status: dict[str, Any]) -> dict[str, str]:
    return {name: entry["phase"] for name, entry in status["nodes"].items()}


def test_chain_runs_in_order_to_success() -> None:
    world = World(chain_spec())
    first = world.step()
    kinds = [a.manifest["kind"] for a in first.actions if isinstance(a, planner.Create)]
    assert kinds == ["PersistentVolumeClaim", "ConfigMap", "Job"]
    assert world.status["phase"] == "Running"
    assert node_phases(world.status) == {"a": "Running", "b": "Pending", "c": "Pending"}

    world.succeed("a", "data.txt")
    world.step()
    assert world.created_jobs() == ["a", "b"]
    world.succeed("b")
    world.step()
    world.succeed("c")
    final = world.step()
    assert final.actions == []
    assert world.status["phase"] == "Succeeded"
    assert world.status["progress"] == "3/3"
    assert world.status["nodes"]["c"]["outputs"] == ["data.txt"]
    ready = next(c for c in world.status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"


def test_second_pass_on_same_state_does_nothing() -> None:
    world = World(chain_spec())
    world.step()
    again = world.step()
    assert again.actions == []
    assert again.events == []


def test_payload_lists_upstream_outputs_in_wiring_order() -> None:
    world = World(diamond_spec())
    world.step()
    world.succeed("a")
    world.step()
    assert sorted(world.created_jobs()) == ["a", "b", "c"]
    world.succeed("b", "data.txt")
    world.succeed("c", "data.csv")
    world.step()
    import json

    configmap = next(m for m in world.configmaps.values() if m["metadata"]["annotations"]["stage2.dev/node"] == "d")
    payload = json.loads(configmap["data"]["payload.json"])
    assert payload["inputs"] == {"Text": ["/stage2/inputs/Text/c/data.csv", "/stage2/inputs/Text/b/data.txt"]}
    assert payload["outputs"] == {"output": "/stage2/outputs/output/data"}
    assert payload["context"]["node"] == "d"


def test_parallelism_limits_started_nodes() -> None:
    spec = {
        "parallelism": 2,
        "nodes": [{"name": f"n{i}", "operation": "text-source"} for i in range(5)],
    }
    world = World(spec)
    world.step()
    assert world.created_jobs() == ["n0", "n1"]
    world.succeed("n0")
    world.step()
    assert world.created_jobs() == ["n0", "n1", "n2"]


def test_failed_node_skips_the_rest() -> None:
    world = World(diamond_spec())
    world.step()
    world.succeed("a")
    world.step()
    world.fail("b", exit_code=3)
    result = world.step()
    phases = node_phases(world.status)
    assert phases == {"a": "Succeeded", "b": "Failed", "c": "Running", "d": "Skipped"}
    assert world.status["phase"] == "Running"
    assert world.status["nodes"]["b"]["exitCode"] == 3
    assert world.status["nodes"]["b"]["reason"] == "Error"
    assert world.status["nodes"]["d"]["reason"] == "UpstreamFailed"
    assert [e.reason for e in result.events] == ["NodeFailed"]
    world.succeed("c")
    world.step()
    assert world.status["phase"] == "Failed"
    assert "node b failed" in world.status["message"]
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True"
    assert world.created_jobs().count("d") == 0


def test_invalid_spec_fails_without_actions() -> None:
    spec = {
        "nodes": [
            {"name": "a", "operation": "text-upper", "inputs": {"Text": ["c"]}},
            {"name": "b", "operation": "text-upper", "inputs": {"Text": ["a"]}},
            {"name": "c", "operation": "text-upper", "inputs": {"Text": ["b"]}},
        ]
    }
    world = World(spec)
    result = world.step()
    assert result.actions == []
    assert world.status["phase"] == "Failed"
    assert "cycle" in world.status["message"]
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")


def test_missing_operation_waits_until_applied() -> None:
    world = World(chain_spec())
    result = world.step(operations={**OPERATIONS, "text-upper": None})
    assert result.actions == []
    assert world.status["phase"] == "Pending"
    assert world.status["message"].startswith("waiting for Operation(s) text-upper in namespace ns")
    conditions = {c["type"]: (c["status"], c["reason"]) for c in world.status["conditions"]}
    assert conditions["Reconciling"] == ("True", "WaitingForOperations")
    assert conditions["Stalled"] == ("False", "WaitingForOperations")
    world.step()
    assert world.status["phase"] == "Running"
    assert world.created_jobs() == ["a"]


def test_spec_change_starts_new_run() -> None:
    world = World(chain_spec())
    world.step()
    world.spec = {**chain_spec(), "nodes": chain_spec()["nodes"][:2]}
    result = world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert world.status["run"] == "2"
    deletes = [a for a in result.actions if isinstance(a, planner.Delete)]
    assert [d.name for d in deletes] == ["wf-a-r1"]
    assert "wf-a-r2" in world.jobs


def test_lifecycle_change_keeps_run() -> None:
    world = World(chain_spec())
    world.step()
    world.spec = chain_spec(suspend=True)
    world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert world.status["run"] == "1"
    world.succeed("a")
    result = world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert [a for a in result.actions if isinstance(a, planner.Create)] == []
    assert world.status["message"].startswith("suspended")


def test_image_pull_failure_after_grace() -> None:
    world = World(chain_spec())
    world.step()
    job = world.job_of("a")
    world.pods[job.name] = [PodView(name="p", job=job.name, phase="Pending", created="2026-12-04T12:00:00Z",
                                    deleting=False, waiting_reason="ImagePullBackOff", waiting_message="not found")]
    waiting = world.step()
    assert world.status["nodes"]["a"]["phase"] == "Running"
    assert world.status["nodes"]["a"]["reason"] == "ImagePullFailed"
    assert waiting.requeue_after == pytest.approx(60)
    world.now = NOW + timedelta(seconds=61)
    result = world.step()
    assert world.status["nodes"]["a"]["phase"] == "Failed"
    assert any(isinstance(a, planner.Delete) and a.name == job.name for a in result.actions)
    assert world.status["phase"] == "Failed"


def test_missing_output_fails_node() -> None:
    world = World(chain_spec())
    world.step()
    job = world.job_of("a")
    world.succeed("a")
    world.pods[job.name] = [PodView(name="p", job=job.name, phase="Succeeded", created=None, deleting=False,
                                    exit_code=0, report=LauncherReport(exit_code=0, attempt=1, outputs=()))]
    world.step()
    assert world.status["nodes"]["a"]["reason"] == "MissingOutput"


def test_oom_reason() -> None:
    world = World(chain_spec())
    world.step()
    world.fail("a", exit_code=137, reason="OOMKilled")
    world.step()
    assert world.status["nodes"]["a"]["reason"] == "OOMKilled"


def test_cancel_deletes_running_jobs() -> None:
    world = World(diamond_spec())
    world.step()
    world.succeed("a")
    world.step()
    world.spec = diamond_spec(shutdown="Cancel")
    result = world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert sorted(a.name for a in result.actions if isinstance(a, planner.Delete)) == ["wf-b-r1", "wf-c-r1"]
    assert world.status["phase"] == "Cancelled"


def test_ttl_deletes_workflow() -> None:
    world = World(chain_spec(ttlSecondsAfterFinished=30, nodes=[{"name": "a", "operation": "text-source"}]))
    world.step()
    world.succeed("a")
    result = world.step()
    assert result.requeue_after == pytest.approx(30)
    world.now = NOW + timedelta(seconds=31)
    result = world.step()
    assert any(isinstance(a, planner.DeleteWorkflow) for a in result.actions)


def test_rejected_job_fails_node() -> None:
    world = World(chain_spec())
    world.step(rejected={"a": "the API server rejected Job wf-a-r1: bad quantity"})
    assert world.status["nodes"]["a"]["reason"] == "JobRejected"


def test_whole_run_of_layered_graph() -> None:
    width = 20
    nodes = [{"name": f"s{i}", "operation": "text-source"} for i in range(width)]
    for layer in range(1, 5):
        for i in range(width):
            upstreams = [f"{'s' if layer == 1 else f'l{layer - 1}-'}{(i + k) % width}" for k in range(2)]
            nodes.append({"name": f"l{layer}-{i}", "operation": "text-upper", "inputs": {"Text": upstreams}})
    world = World({"nodes": nodes})
    for _ in range(200):
        world.step()
        running = [job.node for job in world.jobs.values() if not job.complete]
        if not running:
            break
        for node in running:
            world.succeed(node)
    assert world.status["phase"] == "Succeeded"
    assert world.status["progress"] == f"{len(nodes)}/{len(nodes)}"
    assert sorted(world.created_jobs()) == sorted(n["name"] for n in nodes)


def test_rerun_restarts_failed_and_skipped_nodes() -> None:
    world = World(chain_spec())
    world.step()
    world.succeed("a")
    world.step()
    world.fail("b")
    world.step()
    assert world.status["phase"] == "Failed"
    world.spec = chain_spec(rerun="first")
    result = world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert world.status["run"] == "1"
    assert world.status["rerun"] == "first"
    assert world.status["nodes"]["a"]["phase"] == "Succeeded"
    assert world.status["nodes"]["b"] == {"phase": "Running", "job": "wf-b-r1-x1", "attempts": 1,
                                          "startedAt": "2026-12-04T12:00:00Z", "rerun": 1}
    assert [a.name for a in result.actions if isinstance(a, planner.Delete)] == ["wf-b-r1"]
    assert "RerunStarted" in [e.reason for e in result.events]
    world.succeed("b")
    world.step()
    world.succeed("c")
    world.step()
    assert world.status["phase"] == "Succeeded"
    again = world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert again.actions == []


def test_rerun_token_at_creation_does_not_rerun() -> None:
    world = World(chain_spec(rerun="initial"))
    world.step()
    world.fail("a")
    world.step()
    assert world.status["phase"] == "Failed"
    assert world.status["rerun"] == "initial"


def test_failed_run_keeps_its_claim() -> None:
    world = World(chain_spec())
    world.step()
    world.fail("a")
    result = world.step()
    patches = [a for a in result.actions if isinstance(a, planner.Patch)]
    assert len(patches) == 1
    assert patches[0].name == "wf-r1-data"
    assert patches[0].patch["metadata"]["ownerReferences"] is None
    assert world.status["claimRetained"] is True
    assert world.step().actions == []


def test_delete_retention_lets_claim_go() -> None:
    world = World(chain_spec(storage={"retention": "Delete"}))
    world.step()
    world.fail("a")
    result = world.step()
    assert [a for a in result.actions if isinstance(a, planner.Patch)] == []


def test_retain_claim_is_never_owned() -> None:
    world = World(chain_spec(storage={"retention": "Retain"}))
    world.step()
    claim = next(m for m in world.created if m["kind"] == "PersistentVolumeClaim")
    assert "ownerReferences" not in claim["metadata"]
    assert claim["metadata"]["labels"]["stage2.dev/retained"] == "true"


def test_deleted_configmap_is_recreated() -> None:
    world = World(chain_spec())
    world.step()
    job = world.job_of("a")
    world.jobs[job.name] = JobView(**{**job.__dict__, "created": "2026-12-04T11:59:00Z"})
    result = world.step(configmaps=set())
    creates = [a.manifest for a in result.actions if isinstance(a, planner.Create)]
    assert [m["metadata"]["name"] for m in creates] == ["wf-a-r1-payload"]
    assert world.step(configmaps={"wf-a-r1-payload"}).actions == []


def test_operation_deleted_mid_run_fails_only_unstarted_nodes() -> None:
    world = World(diamond_spec())
    world.step()
    world.succeed("a")
    world.step()
    without_upper = {**OPERATIONS, "text-upper": None}
    world.step(operations=without_upper)
    assert world.status["phase"] == "Running"
    world.succeed("b")
    world.succeed("c")
    world.step(operations=without_upper)
    nodes = world.status["nodes"]
    assert (nodes["b"]["phase"], nodes["c"]["phase"]) == ("Succeeded", "Succeeded")
    assert nodes["d"]["phase"] == "Failed"
    assert nodes["d"]["reason"] == "OperationChanged"
    assert world.status["phase"] == "Failed"


def test_retry_shows_next_attempt_time() -> None:
    world = World(chain_spec())
    world.step()
    job = world.job_of("a")
    world.jobs[job.name] = JobView(**{**job.__dict__, "active": 0, "failed": 1})
    world.pods[job.name] = [PodView(name="p1", job=job.name, phase="Failed", created="2026-12-04T11:59:50Z",
                                    deleting=False, exit_code=1, finished_at="2026-12-04T11:59:58Z")]
    result = world.step()
    node = world.status["nodes"]["a"]
    assert node["phase"] == "Running"
    assert node["reason"] == "Retrying"
    assert node["nextRetryAt"] == "2026-12-04T12:00:08Z"
    assert node["attempts"] == 1
    assert result.requeue_after == pytest.approx(9)


def test_attempt_timeout_reason() -> None:
    world = World(chain_spec())
    world.step()
    job = world.job_of("a")
    world.jobs[job.name] = JobView(**{**job.__dict__, "active": 0, "failed": 1,
                                     "failed_reason": "BackoffLimitExceeded"})
    world.pods[job.name] = [PodView(name="p1", job=job.name, phase="Failed", created=None, deleting=False,
                                    exit_code=137, reason="DeadlineExceeded")]
    world.step()
    assert world.status["nodes"]["a"]["reason"] == "DeadlineExceeded"


def test_workflow_deadline_cancels_running_nodes() -> None:
    world = World(chain_spec(activeDeadlineSeconds=60))
    world.step()
    world.now = NOW + timedelta(seconds=61)
    result = world.step()
    assert [a.name for a in result.actions if isinstance(a, planner.Delete)] == ["wf-a-r1"]
    assert world.status["phase"] == "Failed"
    assert world.status["nodes"]["a"]["reason"] == "DeadlineExceeded"
    reasons = {c["type"]: c["reason"] for c in world.status["conditions"]}
    assert reasons["Stalled"] == "DeadlineExceeded"


def test_stop_lets_running_nodes_finish() -> None:
    world = World(diamond_spec())
    world.step()
    world.succeed("a")
    world.step()
    world.spec = diamond_spec(shutdown="Stop")
    world.step()
    assert world.status["phase"] == "Running"
    assert world.status["nodes"]["d"]["phase"] == "Skipped"
    world.succeed("b")
    world.succeed("c")
    world.step()
    assert world.status["phase"] == "Failed"
    assert world.status["message"].startswith("stopped by spec.shutdown")


def test_ttl_by_outcome() -> None:
    world = World(chain_spec(ttlSecondsAfterSuccess=5, ttlSecondsAfterFailure=500,
                             nodes=[{"name": "a", "operation": "text-source"}]))
    world.step()
    world.fail("a")
    assert world.step().requeue_after == pytest.approx(500)


def test_terminal_node_never_flips_back() -> None:
    world = World(chain_spec())
    world.step()
    world.succeed("a")
    world.step()
    job = world.job_of("a")
    world.jobs[job.name] = JobView(**{**job.__dict__, "complete": False, "active": 1})
    world.step()
    assert world.status["nodes"]["a"]["phase"] == "Succeeded"


def test_invalid_operation_is_not_a_wait() -> None:
    world = World(chain_spec())
    world.step(operations={**OPERATIONS, "text-upper": None}, invalid_operations={"text-upper"})
    assert world.status["phase"] == "Failed"
    stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")


def test_missing_operation_with_other_errors_is_invalid() -> None:
    spec = chain_spec()
    spec["nodes"][1]["inputs"] = {"Text": ["nowhere"]}
    world = World(spec)
    world.step(operations={**OPERATIONS, "text-upper": None})
    assert world.status["phase"] == "Failed"


def test_image_pull_failure_ended_by_timeout() -> None:
    world = World(chain_spec())
    world.step()
    job = world.job_of("a")
    world.jobs[job.name] = JobView(**{**job.__dict__, "active": 0, "failed": 1,
                                     "failed_reason": "BackoffLimitExceeded"})
    world.pods[job.name] = [PodView(name="p1", job=job.name, phase="Failed", created=None, deleting=False,
                                    reason="DeadlineExceeded", waiting_reason="ErrImageNeverPull",
                                    waiting_message="image is not present")]
    world.step()
    assert world.status["nodes"]["a"]["reason"] == "ImagePullFailed"
    assert "ErrImageNeverPull" in world.status["nodes"]["a"]["message"]


def wide_spec(width: int, **extra: Any) -> dict[str, Any]:
    nodes = [{"name": "root", "operation": "text-source"}]
    nodes += [{"name": f"leaf-{i}", "operation": "text-upper", "inputs": {"Text": ["root"]}} for i in range(width)]
    return {"nodes": nodes, **extra}


def run_to_end(world: World, limit: int = 50) -> None:
    for _ in range(limit):
        world.step()
        running = [job.node for job in world.jobs.values() if not job.complete and not job.failed_reason]
        if not running:
            return
        for node in running:
            if node == "leaf-7":
                world.fail(node)
            else:
                world.succeed(node)


def test_large_workflow_status_is_compact() -> None:
    import json

    world = World(wide_spec(300))
    run_to_end(world)
    status = world.status
    assert status["phase"] == "Failed"
    assert status["progress"] == "300/301"
    assert set(status["nodes"]) == {"leaf-7"}
    assert status["succeeded"]["root"] == "data.txt"
    assert len(status["succeeded"]) == 300
    assert status["skipped"] == {}
    assert len(json.dumps(status)) < 300 * 40
    assert world.step().actions == []


def test_compact_status_supports_rerun() -> None:
    world = World(wide_spec(300))
    run_to_end(world)
    world.spec = wide_spec(300, rerun="again")
    result = world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    created = [a.manifest["metadata"]["name"] for a in result.actions if isinstance(a, planner.Create)]
    assert created == ["wf-leaf-7-r1-x1-payload", "wf-leaf-7-r1-x1"]
    world.succeed("leaf-7")
    world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert world.status["phase"] == "Succeeded"
    assert world.status["reruns"] == {"leaf-7": 1}
    again = world.step(meta=planner.WorkflowMeta(name="wf", namespace="ns", uid="uid-1", generation=2))
    assert again.actions == []
