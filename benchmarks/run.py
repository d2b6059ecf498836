"""Run the benchmarks and print their figures: `python -m benchmarks [--only planning,launch,...]`.

These print measurements and never pass or fail. The cluster benchmarks
use the local cluster of `hack/cluster.sh` (or STAGE2_TEST_KUBECONFIG) and
namespaces `s2b-<random>`, which they delete afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT / "operator") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "operator"))
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PURE = ("planning", "status-size")
CLUSTER = ("launch", "step-latency", "memory")
ALL = PURE + CLUSTER


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ALL),
                        help=f"comma-separated benchmarks to run, from: {', '.join(ALL)} (default: all)")
    parser.add_argument("--sizes", default="500,5000,20000", help="node counts of the planning benchmark")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--log-dir", type=Path, help="where the operator logs go (default: a temporary directory)")
    arguments = parser.parse_args(argv)
    arguments.only = [name.strip() for name in arguments.only.split(",") if name.strip()]
    unknown = sorted(set(arguments.only) - set(ALL))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    return arguments


def machine() -> str:
    cpus = os.cpu_count()
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) // 1024 // 1024} GiB RAM"
    except OSError:
        pass
    return f"{platform.machine()}, {cpus} CPUs{memory}, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)

    def report(line: str) -> None:
        print(line, flush=True)

    report(f"machine: {machine()}")
    figures: dict[str, Any] = {"machine": machine()}
    started = time.monotonic()
    if "planning" in arguments.only:
        from benchmarks import planning

        sizes = tuple(int(size) for size in arguments.sizes.split(","))
        figures["planning"] = planning.benchmark(report, sizes)
    if "status-size" in arguments.only:
        from benchmarks import planning

        figures["status-size"] = planning.status_size(report)
    cluster_benchmarks = [name for name in arguments.only if name in CLUSTER]
    if cluster_benchmarks:
        from benchmarks import cluster, operator_runs

        api = cluster.api_client()
        log_dir = arguments.log_dir or Path(tempfile.mkdtemp(prefix="stage2-bench-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        report(f"operator logs: {log_dir}")
        if "launch" in cluster_benchmarks:
            figures["launch"] = operator_runs.launch_throughput(report, api, log_dir)
        if "step-latency" in cluster_benchmarks:
            figures["step-latency"] = operator_runs.step_latency(report, api, log_dir)
        if "memory" in cluster_benchmarks:
            figures["memory"] = operator_runs.memory(report, api, log_dir)
    report(f"total {time.monotonic() - started:.0f} s")
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0
