"""Upper-case the text inputs and concatenate them in wiring order (standard library only)."""

from stage2_sdk import OperationFailed, get_logger, run


def main(payload):
    parts = []
    for path in payload.inputs("Text"):
        if not path.is_file():
            raise OperationFailed("input {} is not a file: text-upper reads text files only".format(path))
        with open(path, encoding="utf-8", newline="") as stream:
            parts.append(stream.read().upper())

    target = payload.output_file("txt")
    with open(target, "w", encoding="utf-8", newline="") as stream:
        stream.write("".join(parts))
    get_logger().info("upper-cased %d input file(s)", len(parts))


if __name__ == "__main__":
    run(main)
