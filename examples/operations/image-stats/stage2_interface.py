"""Compute image statistics with numpy and write them as JSON."""

import json

import numpy
from PIL import Image

from stage2_sdk import get_logger, run


def describe(values):
    """Return summary statistics of an array of pixel values as JSON-ready floats."""
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "median": float(numpy.median(values))}


def image_statistics(image, bins):
    """Return the per-band and luminance statistics of ``image``."""
    pixels = numpy.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, numpy.newaxis]
    bands = {name: describe(pixels[:, :, index]) for index, name in enumerate(image.getbands())}

    luminance = numpy.asarray(image.convert("L"), dtype=numpy.float64)
    counts, edges = numpy.histogram(luminance, bins=bins, range=(0, 256))
    histogram = {"edges": [float(edge) for edge in edges], "counts": [int(count) for count in counts]}
    return {"width": image.width, "height": image.height, "mode": image.mode,
            "pixels": image.width * image.height, "bands": bands,
            "luminance": dict(describe(luminance), histogram=histogram)}


def main(payload):
    bins = payload.parameter("Histogram Bins", int)
    source = payload.input("Image")
    with Image.open(source) as image:
        image.load()
        statistics = image_statistics(image, bins)
    with open(payload.output_file("json"), "w", encoding="utf-8") as stream:
        json.dump(statistics, stream, indent=2, sort_keys=True)
        stream.write("\n")
    get_logger().info("measured %s: %dx%d %s, mean luminance %.2f", source, statistics["width"],
                      statistics["height"], statistics["mode"], statistics["luminance"]["mean"])


if __name__ == "__main__":
    run(main, manifest="operation.yaml")
