"""Entry point wrapper that runs inside every node's pod.

The controller ships this file's source in the node's payload ConfigMap and
starts it with the image's own `python`, so it must run on any Python 3.6+
with the standard library alone and must not import this package.

It clears what an earlier attempt left in the output directory and runs the
operation's command with the payload JSON as one extra argument, with no
shell. It forwards SIGTERM and SIGINT and keeps the exit code. At exit it
reports what the node wrote in the container's termination message, which
Kubernetes caps at 4096 bytes.

Usage: python launcher.py -- COMMAND [ARG...]
"""

import json
import os
import shutil
import signal
import subprocess
import sys

PAYLOAD_FILE = os.environ.get("STAGE2_PAYLOAD_FILE", "/stage2/launcher/payload.json")
OUTPUT_DIR = os.environ.get("STAGE2_OUTPUT_DIR", "")
TERMINATION_LOG = os.environ.get("STAGE2_TERMINATION_LOG", "/dev/termination-log")
ATTEMPT_FILE = ".stage2-attempt"
MAX_REPORT_BYTES = 4096
OUTPUT_PREFIX = "data"


def log(message):
    sys.stderr.write("stage2-launcher: " + message + "\n")
    sys.stderr.flush()


def next_attempt(output_dir):
    """Count attempts in a hidden file, so that a retried pod gets its attempt number."""
    path = os.path.join(output_dir, ATTEMPT_FILE)
    try:
        with open(path) as handle:
            previous = int(handle.read().strip() or "0")
    except (OSError, ValueError):
        previous = 0
    attempt = previous + 1
    with open(path, "w") as handle:
        handle.write(str(attempt))
    return attempt


def clear_outputs(output_dir):
    """Remove what an earlier attempt wrote, keeping the attempt counter."""
    for entry in os.listdir(output_dir):
        if entry == ATTEMPT_FILE:
            continue
        path = os.path.join(output_dir, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def list_outputs(output_dir):
    entries = []
    for entry in sorted(os.listdir(output_dir)):
        if entry == OUTPUT_PREFIX or entry.startswith(OUTPUT_PREFIX + "."):
            kind = "dir" if os.path.isdir(os.path.join(output_dir, entry)) else "file"
            entries.append({"name": entry, "kind": kind})
    others = [
        entry
        for entry in os.listdir(output_dir)
        if entry != ATTEMPT_FILE and not (entry == OUTPUT_PREFIX or entry.startswith(OUTPUT_PREFIX + "."))
    ]
    return entries, len(others)


def write_report(report):
    """Write the report, dropping output entries until it fits the 4 KiB cap."""
    text = json.dumps(report, separators=(",", ":"))
    while len(text.encode("utf-8")) > MAX_REPORT_BYTES and report.get("outputs"):
        report["outputs"].pop()
        report["truncated"] = True
        text = json.dumps(report, separators=(",", ":"))
    try:
        with open(TERMINATION_LOG, "w") as handle:
            handle.write(text)
    except OSError as error:
        log("cannot write the termination message: %s" % error)


def main(argv):
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        log("usage: launcher.py -- COMMAND [ARG...]")
        return 2
    command = argv[argv.index("--") + 1:]

    with open(PAYLOAD_FILE) as handle:
        payload = json.load(handle)

    attempt = 1
    if OUTPUT_DIR:
        attempt = next_attempt(OUTPUT_DIR)
        clear_outputs(OUTPUT_DIR)
    payload.setdefault("context", {})["attempt"] = attempt
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

    log("attempt %d: running %s" % (attempt, " ".join(command)))
    try:
        child = subprocess.Popen(command + [encoded])
    except OSError as error:
        log("cannot start %s: %s" % (command[0], error))
        write_report({"v": 1, "exitCode": 127, "error": str(error)[:512], "attempt": attempt})
        return 127

    def forward(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    returncode = child.wait()
    # A child killed by a signal reports -N; shells report that as 128 + N.
    exit_code = 128 - returncode if returncode < 0 else returncode

    report = {"v": 1, "exitCode": exit_code, "attempt": attempt}
    if OUTPUT_DIR:
        outputs, others = list_outputs(OUTPUT_DIR)
        report["outputs"] = outputs
        if others:
            report["unexpected"] = others
    write_report(report)
    log("attempt %d: exit code %d" % (attempt, exit_code))
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
