"""Write the Text parameter to data.txt exactly as given (standard library only)."""

from stage2_sdk import get_logger, run


def main(payload):
    text = payload.parameter("Text", str)
    target = payload.output_file("txt")
    with open(target, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)
    get_logger().info("wrote %d characters", len(text))


if __name__ == "__main__":
    run(main)
