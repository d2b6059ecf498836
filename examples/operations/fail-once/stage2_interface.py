"""Fail on the first attempts with a chosen exit code, then pass the input through.

The attempt number comes from ``context.attempt`` in the payload, so the
operation recovers only when the controller numbers retries there.
"""

import shutil

from stage2_sdk import OperationFailed, get_logger, run


def main(payload):
    exit_code = payload.parameter("Exit Code", int)
    failing_attempts = payload.parameter("Failing Attempts", int)
    attempt = payload.context.attempt
    if attempt <= failing_attempts:
        raise OperationFailed("failing on purpose: attempt {} of the first {} that fail, exit code {}".format(
            attempt, failing_attempts, exit_code), exit_code=exit_code)

    source = payload.input("Input")
    if source.is_dir():
        target = payload.output_dir()
        shutil.copytree(str(source), str(target), dirs_exist_ok=True)
    else:
        # Keep the upstream extension, so data.tar.gz stays .tar.gz. A name without one gets .bin.
        extension = source.name.partition(".")[2] or "bin"
        target = payload.output_file(extension)
        shutil.copyfile(str(source), str(target))
    get_logger().info("attempt %d passed %s through", attempt, source)


if __name__ == "__main__":
    run(main)
