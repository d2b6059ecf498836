#!/usr/bin/env python3
"""Build the local cluster's container images without a registry or Docker.

Images (all tagged under ``localhost/`` so CRI never tries a registry):

* ``localhost/pause:3.10``: the static pause program from ``pause.c``.
* ``localhost/stage2-python:dev``: Debian bookworm ``minbase`` made by
  debootstrap, with python3 and CA certificates.
* ``localhost/stage2-operator:dev``: the base plus this project installed
  into ``/opt/stage2/lib``.
* ``localhost/stage2-example-<name>:dev``: the base plus the requirements
  and files of ``examples/operations/<name>/``.

Each image is written as a ``docker save`` archive (``manifest.json``, a
config JSON and one uncompressed ``layer.tar`` per layer) and imported with
``ctr images import``. Every layer is cached under the cache directory,
keyed by a SHA-256 of its inputs, so an unchanged image is neither rebuilt
nor imported again.

Needs root (debootstrap, ctr), gcc, GNU tar and pip for the host's Python,
which must be 3.11 like bookworm's python3 so the installed wheels fit.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = Path(os.environ.get("STAGE2_CACHE", "/var/cache/stage2-operator"))

SUITE = "bookworm"
BASE_PACKAGES = ["python3", "python-is-python3", "ca-certificates"]
# Bump when the debootstrap call or the clean-up below changes, so cached
# base layers built by the old recipe are not reused.
BASE_RECIPE_VERSION = "1"

# Non-root account added to the base image; the operator image runs as it.
APP_UID = 10001
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PYTHON_ENV = [DEFAULT_PATH, "PYTHONPATH=/opt/stage2/lib", "PYTHONUNBUFFERED=1"]
OPERATOR_CMD = [
    "python", "-m", "kopf", "run", "--all-namespaces", "--standalone",
    "-m", "stage2_operator.handlers",
]
# Directories and files never hashed or copied into an image.
IGNORED_NAMES = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".venv"}
# Top-level folders of the repository left out of the operator's pip build.
NOT_OPERATOR_SOURCES = {"tests", "examples", "sdk", "hack", "docs", ".ci", "build", "dist"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def log(message: str) -> None:
    print(f"[images {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(command: list[str], **kwargs) -> None:
    subprocess.run(command, check=True, **kwargs)


@dataclass
class Layer:
    """One cached layer tar, named by the hash of its inputs."""

    path: Path
    diff_id: str  # "sha256:<hex>" of the uncompressed tar


@dataclass
class ImageSpec:
    ref: str
    layers: list[Layer]
    env: list[str] = field(default_factory=lambda: [DEFAULT_PATH])
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    workdir: str = "/"
    user: str = ""


# ---------------------------------------------------------------------------
# Hashing


def hash_tree(root: Path, digest: "hashlib._Hash", prefix: str = "") -> None:
    """Feed the relative paths, modes and contents below root into digest."""
    for path in sorted(iter_files(root)):
        relative = path.relative_to(root).as_posix()
        digest.update(f"{prefix}{relative}\0{path.stat().st_mode & 0o777:o}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")


def iter_files(root: Path):
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in IGNORED_NAMES and not d.endswith(IGNORED_SUFFIXES)
        )
        for name in filenames:
            if name.endswith(IGNORED_SUFFIXES):
                continue
            yield Path(directory) / name


def input_key(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Layers


class LayerCache:
    """Layer tars under <cache>/images/layers/<kind>-<key>.tar."""

    def __init__(self, cache_dir: Path):
        self.directory = cache_dir / "images" / "layers"
        self.directory.mkdir(parents=True, exist_ok=True)

    def get(self, kind: str, key: str) -> Layer | None:
        path = self.directory / f"{kind}-{key}.tar"
        sha_file = path.with_suffix(".sha256")
        if path.exists() and sha_file.exists():
            return Layer(path, "sha256:" + sha_file.read_text().strip())
        return None

    def store_tree(self, kind: str, key: str, tree: Path) -> Layer:
        """Pack tree (the future image root) into a layer tar with GNU tar."""
        path = self.directory / f"{kind}-{key}.tar"
        partial = path.with_suffix(".tar.partial")
        # The tar's "./" entry becomes the image's "/", so it must not keep
        # mkdtemp's 0700 mode.
        tree.chmod(0o755)
        run(["tar", "--numeric-owner", "--sort=name", "-C", str(tree), "-cf", str(partial), "."])
        sha = file_sha256(partial)
        partial.rename(path)
        path.with_suffix(".sha256").write_text(sha + "\n")
        self.prune(kind, keep=path)
        return Layer(path, "sha256:" + sha)

    def prune(self, kind: str, keep: Path) -> None:
        """Delete older layers of the same kind, which no image uses any more."""
        pattern = re.compile(re.escape(kind) + r"-[0-9a-f]{20}\.")
        for old in self.directory.iterdir():
            if pattern.match(old.name) and old.name.split(".")[0] != keep.name.split(".")[0]:
                old.unlink()


def pause_layer(cache: LayerCache) -> Layer:
    source = IMAGES_DIR / "pause.c"
    key = input_key("pause", source.read_bytes())
    layer = cache.get("pause", key)
    if layer:
        return layer
    log("compiling pause")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        run(["gcc", "-Os", "-static", "-s", "-o", str(root / "pause"), str(source)])
        return cache.store_tree("pause", key, root)


def debian_mirror() -> str:
    """Return the machine's Debian mirror URL (STAGE2_DEBIAN_MIRROR overrides)."""
    if os.environ.get("STAGE2_DEBIAN_MIRROR"):
        return os.environ["STAGE2_DEBIAN_MIRROR"]
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in sources:
        text = path.read_text()
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*.list")]:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            match = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", line + " ")
            if match:
                return match.group(1)
    raise SystemExit(
        f"No Debian {SUITE} mirror found in /etc/apt; set STAGE2_DEBIAN_MIRROR to its URL"
    )


def clean_rootfs(root: Path) -> None:
    """Drop what a container never needs: apt caches, docs, logs, /dev nodes."""
    for pattern in [
        "var/lib/apt/lists/*", "var/cache/apt/*", "var/cache/debconf/*-old",
        "var/log/*", "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*",
        "usr/share/locale/*", "tmp/*", "var/tmp/*", "dev/*", "run/*",
    ]:
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    with (root / "etc/passwd").open("a") as passwd:
        passwd.write(f"stage2:x:{APP_UID}:{APP_UID}:stage2:/nonexistent:/usr/sbin/nologin\n")
    with (root / "etc/group").open("a") as group:
        group.write(f"stage2:x:{APP_UID}:\n")
    for directory in ["app", "opt/stage2/lib"]:
        (root / directory).mkdir(parents=True, exist_ok=True)


def base_layer(cache: LayerCache) -> Layer:
    mirror = debian_mirror()
    key = input_key("base", BASE_RECIPE_VERSION, SUITE, mirror, *BASE_PACKAGES)
    layer = cache.get("python-base", key)
    if layer:
        return layer
    log(f"debootstrap {SUITE} from {mirror} (about a minute)")
    with tempfile.TemporaryDirectory(dir=cache.directory) as tmp:
        root = Path(tmp) / "root"
        run([
            "debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
            SUITE, str(root), mirror,
        ], stdout=subprocess.DEVNULL)
        clean_rootfs(root)
        log("packing base layer")
        return cache.store_tree("python-base", key, root)


def pip_install(target: Path, *requirements: str) -> None:
    """Install into target with the host pip (same CPython minor as the image)."""
    run([
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-warn-script-location", "--no-warn-conflicts", "--root-user-action=ignore",
        "--target", str(target), *requirements,
    ])


def copy_source(source: Path, destination: Path, excluded_top_level: set[str]) -> Path:
    """Copy a project so that pip's build files never land in the work tree."""
    ignore_anywhere = shutil.ignore_patterns(*IGNORED_NAMES, "*.pyc", "*.egg-info")

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = set(ignore_anywhere(directory, names))
        if Path(directory) == source:
            ignored |= excluded_top_level & set(names)
        return ignored

    shutil.copytree(source, destination, ignore=ignore)
    return destination


def operator_layer(cache: LayerCache, base_key: str) -> Layer:
    digest = hashlib.sha256()
    digest.update(base_key.encode())
    digest.update(sys.version.encode())
    digest.update((REPO_ROOT / "pyproject.toml").read_bytes())
    hash_tree(REPO_ROOT / "operator", digest)
    key = digest.hexdigest()[:20]
    layer = cache.get("operator", key)
    if layer:
        return layer
    log("installing the project into the operator layer")
    with tempfile.TemporaryDirectory(dir=cache.directory) as tmp, \
            tempfile.TemporaryDirectory() as source_copy:
        source = copy_source(REPO_ROOT, Path(source_copy) / "src", NOT_OPERATOR_SOURCES)
        root = Path(tmp) / "root"
        pip_install(root / "opt/stage2/lib", str(source))
        return cache.store_tree("operator", key, root)


def has_requirements(path: Path) -> bool:
    """Return True unless the requirements file has only comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return any(lines)


def example_layer(cache: LayerCache, base_key: str, folder: Path) -> Layer:
    digest = hashlib.sha256()
    digest.update(base_key.encode())
    digest.update(sys.version.encode())
    hash_tree(folder, digest)
    key = digest.hexdigest()[:20]
    kind = f"example-{folder.name}"
    layer = cache.get(kind, key)
    if layer:
        return layer
    log(f"building the layer of example {folder.name}")
    with tempfile.TemporaryDirectory(dir=cache.directory) as tmp:
        root = Path(tmp) / "root"
        (root / "opt/stage2/lib").mkdir(parents=True)
        requirements = folder / "requirements.txt"
        if requirements.exists() and has_requirements(requirements):
            pip_install(root / "opt/stage2/lib", "-r", str(requirements))
        copy_source(folder, root / "app", set())
        return cache.store_tree(kind, key, root)


def dockerfile_command(folder: Path, instruction: str) -> list[str] | None:
    """Return the JSON-form CMD or ENTRYPOINT of folder/Dockerfile, if any."""
    dockerfile = folder / "Dockerfile"
    if not dockerfile.exists():
        return None
    value = None
    for line in dockerfile.read_text().splitlines():
        match = re.match(rf"\s*{instruction}\s+(\[.*\])\s*$", line, re.I)
        if match:
            try:
                value = json.loads(match.group(1))
            except json.JSONDecodeError:
                log(f"{dockerfile}: {instruction} is not a JSON array; ignored")
    return value


# ---------------------------------------------------------------------------
# Archive and import


def config_digest(spec: ImageSpec) -> str:
    return hashlib.sha256(image_config(spec)).hexdigest()


def image_config(spec: ImageSpec) -> bytes:
    config = {
        "Env": spec.env,
        "Cmd": spec.cmd,
        "Entrypoint": spec.entrypoint,
        "WorkingDir": spec.workdir,
        "User": spec.user,
        "Labels": {"dev.stage2.built-by": "hack/images/build.py"},
    }
    document = {
        "architecture": "amd64",
        "os": "linux",
        # Fixed so that the same inputs give the same image ID.
        "created": "1970-01-01T00:00:00Z",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in spec.layers]},
    }
    return json.dumps(document, sort_keys=True).encode()


def write_archive(spec: ImageSpec, out: Path) -> None:
    config = image_config(spec)
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_names = [layer.diff_id.split(":", 1)[1] + "/layer.tar" for layer in spec.layers]
    manifest = json.dumps([{"Config": config_name, "RepoTags": [spec.ref], "Layers": layer_names}])
    with tarfile.open(out, "w") as archive:
        for name, data in ((config_name, config), ("manifest.json", manifest.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        for layer, name in zip(spec.layers, layer_names):
            archive.add(layer.path, arcname=name)


class Containerd:
    def __init__(self, address: str, namespace: str, record: Path | None):
        self.base = ["ctr", "--address", address, "--namespace", namespace]
        self.record_path = record
        self.record = {}
        if record and record.exists():
            self.record = json.loads(record.read_text())

    def image_refs(self) -> set[str]:
        output = subprocess.run(
            [*self.base, "images", "ls", "-q"], check=True, capture_output=True, text=True
        ).stdout
        return set(output.split())

    def ensure(self, spec: ImageSpec, work_dir: Path, present: set[str]) -> None:
        digest = config_digest(spec)
        if spec.ref in present and self.record.get(spec.ref) == digest:
            log(f"{spec.ref}: up to date")
            return
        archive = work_dir / (spec.ref.replace("/", "_").replace(":", "_") + ".tar")
        log(f"{spec.ref}: importing")
        write_archive(spec, archive)
        try:
            run([*self.base, "images", "import", str(archive)],
                stdout=subprocess.DEVNULL)
        finally:
            archive.unlink()
        self.record[spec.ref] = digest
        if self.record_path:
            self.record_path.write_text(json.dumps(self.record, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------


def example_folders() -> list[Path]:
    root = REPO_ROOT / "examples" / "operations"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "stage2_interface.py").is_file())


def collect_specs(cache: LayerCache) -> list[ImageSpec]:
    specs = [ImageSpec(
        ref="localhost/pause:3.10",
        layers=[pause_layer(cache)],
        entrypoint=["/pause"],
        user="65535:65535",
    )]

    base = base_layer(cache)
    base_key = base.path.stem
    specs.append(ImageSpec(
        ref="localhost/stage2-python:dev", layers=[base], env=PYTHON_ENV, cmd=["python"],
    ))
    specs.append(ImageSpec(
        ref="localhost/stage2-operator:dev",
        layers=[base, operator_layer(cache, base_key)],
        env=PYTHON_ENV,
        cmd=OPERATOR_CMD,
        user=f"{APP_UID}:{APP_UID}",
    ))

    for folder in example_folders():
        specs.append(ImageSpec(
            ref=f"localhost/stage2-example-{folder.name}:dev",
            layers=[base, example_layer(cache, base_key, folder)],
            env=PYTHON_ENV,
            cmd=dockerfile_command(folder, "CMD") or ["python", "stage2_interface.py"],
            entrypoint=dockerfile_command(folder, "ENTRYPOINT"),
            workdir="/app",
        ))
    return specs


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="cache directory for layers (default: %(default)s)")
    parser.add_argument("--address", default="/run/stage2-containerd/containerd.sock",
                        help="containerd socket to import into (default: %(default)s)")
    parser.add_argument("--namespace", default="k8s.io",
                        help="containerd namespace; kubelet's CRI uses k8s.io (default)")
    parser.add_argument("--record", type=Path,
                        help="JSON file mapping each imported ref to its config digest, "
                             "so unchanged images are not imported again")
    parser.add_argument("--no-import", action="store_true",
                        help="build the layers only")
    parser.add_argument("--archive-dir", type=Path,
                        help="also write each image as a docker-archive tar into this directory")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if sys.version_info[:2] != (3, 11):
        log(f"warning: host Python is {sys.version.split()[0]}, the images run 3.11; "
            "compiled wheels may not load")
    cache = LayerCache(args.cache)
    specs = collect_specs(cache)

    if args.archive_dir:
        args.archive_dir.mkdir(parents=True, exist_ok=True)
        for spec in specs:
            write_archive(spec, args.archive_dir / (spec.ref.split("/")[-1].replace(":", "_") + ".tar"))

    if not args.no_import:
        containerd = Containerd(args.address, args.namespace, args.record)
        present = containerd.image_refs()
        with tempfile.TemporaryDirectory(dir=cache.directory) as work_dir:
            for spec in specs:
                containerd.ensure(spec, Path(work_dir), present)
    log("images ready: " + ", ".join(spec.ref for spec in specs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
