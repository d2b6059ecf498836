"""The executors of `stage2 run`: how one node attempt is started, watched and stopped.

The process executor runs `python launcher.py -- COMMAND` in the Operation's
folder with the payload's container paths rewritten to the run directory.
The container executor (docker or podman) mounts the same directories at the
container paths and leaves the payload unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import builders, naming
from ..observe import LauncherReport, parse_report
from .local import PYTHON_NAMES, local_payload

if TYPE_CHECKING:
    from .local import LocalJob

RUN_METADATA = "_run"
STOP_GRACE_SECONDS = 5.0


@dataclass
class NodePaths:
    """Paths of a node's output, payload, log and launcher report under the run directory."""

    run_dir: Path
    node: str

    @property
    def output(self) -> Path:
        return self.run_dir / self.node

    @property
    def metadata(self) -> Path:
        return self.run_dir / RUN_METADATA / self.node

    @property
    def payload(self) -> Path:
        return self.metadata / "payload.json"

    @property
    def log(self) -> Path:
        return self.metadata / "log.txt"

    @property
    def termination(self) -> Path:
        return self.metadata / "termination" / "message"


def _read_report(paths: NodePaths) -> LauncherReport | None:
    try:
        return parse_report(paths.termination.read_text(encoding="utf-8"))
    except OSError:
        return None


def _output_port(job: LocalJob) -> str | None:
    outputs = job.payload.get("outputs") or {}
    return next(iter(outputs), None)


def _open_log(paths: NodePaths, attempt: int) -> Any:
    paths.metadata.mkdir(parents=True, exist_ok=True)
    paths.termination.parent.mkdir(parents=True, exist_ok=True)
    if paths.termination.exists():
        paths.termination.unlink()
    log = open(paths.log, "a", encoding="utf-8")  # noqa: SIM115 - closed by the executor after the attempt
    log.write(f"===== attempt {attempt} =====\n")
    log.flush()
    return log


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    log: Any


class ProcessExecutor:
    """Run each attempt as a local process in the Operation's folder."""

    def __init__(self, *, run_dir: Path, folders: Mapping[str, Path], python: str = sys.executable) -> None:
        self.run_dir = run_dir
        self.folders = folders
        self.python = python
        self.launcher = Path(builders.__file__).with_name(builders.LAUNCHER_KEY)

    def start(self, job: LocalJob, attempt: int) -> _Running:
        paths = NodePaths(self.run_dir, job.node)
        log = _open_log(paths, attempt)
        payload = local_payload(job.payload, run_dir=self.run_dir, node=job.node)
        paths.payload.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

        env = dict(os.environ, PYTHONUNBUFFERED="1", STAGE2_PAYLOAD_FILE=str(paths.payload),
                   STAGE2_TERMINATION_LOG=str(paths.termination))
        env.pop("STAGE2_OUTPUT_DIR", None)
        if _output_port(job) is not None:
            paths.output.mkdir(parents=True, exist_ok=True)
            env["STAGE2_OUTPUT_DIR"] = str(paths.output)

        command = list(job.manifest["spec"]["template"]["spec"]["containers"][0]["command"])
        operation_command = command[command.index("--") + 1:]
        if Path(operation_command[0]).name in PYTHON_NAMES:
            operation_command[0] = self.python
        process = subprocess.Popen(
            [self.python, str(self.launcher), "--", *operation_command],
            cwd=self.folders[job.operation],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return _Running(process=process, log=log)

    def exit_code(self, handle: _Running) -> int | None:
        code = handle.process.poll()
        if code is not None and not handle.log.closed:
            handle.log.close()
        return code

    def stop(self, handle: _Running) -> None:
        """Send SIGTERM to the attempt's process group, then SIGKILL after a grace period."""
        if handle.process.poll() is None:
            _signal_group(handle.process, signal.SIGTERM)
            try:
                handle.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(handle.process, signal.SIGKILL)
                handle.process.wait()
        self.exit_code(handle)

    def read_report(self, job: LocalJob) -> LauncherReport | None:
        return _read_report(NodePaths(self.run_dir, job.node))


def _signal_group(process: subprocess.Popen[bytes], number: int) -> None:
    try:
        os.killpg(process.pid, number)
    except ProcessLookupError:
        pass


@dataclass
class _Container:
    process: subprocess.Popen[bytes]
    log: Any
    name: str


class ContainerExecutor:
    """Run each attempt in a docker or podman container with the Stage2 paths mounted.

    NOTE: written against the docker and podman `run` flags, but not run in
    this project's CI, which has no container engine.
    """

    def __init__(self, *, engine: str, run_dir: Path) -> None:
        if shutil.which(engine) is None:
            raise FileNotFoundError(f"{engine} not found on PATH; install it or use --executor process")
        self.engine = engine
        self.run_dir = run_dir
        self.launcher = Path(builders.__file__).with_name(builders.LAUNCHER_KEY)

    def start(self, job: LocalJob, attempt: int) -> _Container:
        paths = NodePaths(self.run_dir, job.node)
        log = _open_log(paths, attempt)
        launcher_dir = paths.metadata / "launcher"
        launcher_dir.mkdir(parents=True, exist_ok=True)
        (launcher_dir / builders.PAYLOAD_KEY).write_text(json.dumps(job.payload, ensure_ascii=False), encoding="utf-8")
        shutil.copyfile(self.launcher, launcher_dir / builders.LAUNCHER_KEY)
        paths.payload.write_text(json.dumps(job.payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

        container = job.manifest["spec"]["template"]["spec"]["containers"][0]
        name = naming.fit(f"stage2-{job.name}-{attempt}-{os.getpid()}")
        arguments = [self.engine, "run", "--rm", "--name", name, "--user", f"{os.getuid()}:{os.getgid()}"]
        for variable in container.get("env") or []:
            arguments += ["--env", f"{variable['name']}={variable['value']}"]
        arguments += ["--env", "STAGE2_TERMINATION_LOG=/stage2/termination/message"]
        arguments += ["--volume", f"{paths.termination.parent}:/stage2/termination"]
        for mount in container.get("volumeMounts") or []:
            source = self._mount_source(mount, job, launcher_dir)
            suffix = ":ro" if mount.get("readOnly") else ""
            arguments += ["--volume", f"{source}:{mount['mountPath']}{suffix}"]
        arguments += ["--entrypoint", container["command"][0], container["image"], *container["command"][1:]]
        process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        return _Container(process=process, log=log, name=name)

    def _mount_source(self, mount: Mapping[str, Any], job: LocalJob, launcher_dir: Path) -> Path:
        if mount["name"] == builders.LAUNCHER_VOLUME:
            return launcher_dir
        if mount.get("readOnly"):
            upstream = str(mount["mountPath"]).rstrip("/").rsplit("/", 1)[-1]
            return self.run_dir / upstream
        output = self.run_dir / job.node
        output.mkdir(parents=True, exist_ok=True)
        return output

    def exit_code(self, handle: _Container) -> int | None:
        code = handle.process.poll()
        if code is not None and not handle.log.closed:
            handle.log.close()
        return code

    def stop(self, handle: _Container) -> None:
        subprocess.run([self.engine, "rm", "--force", handle.name], capture_output=True, check=False)
        try:
            handle.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            handle.process.kill()
            handle.process.wait()
        self.exit_code(handle)

    def read_report(self, job: LocalJob) -> LauncherReport | None:
        return _read_report(NodePaths(self.run_dir, job.node))
