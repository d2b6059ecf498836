"""Blend images as a per-pixel weighted mean with numpy and Pillow."""

import numpy
from PIL import Image

from stage2_sdk import PayloadError, get_logger, run


def read_weights(payload, count):
    """Return one weight per input: the Weights parameter, or equal weights when it is null."""
    weights = payload.parameter("Weights", list, nullable=True)
    if weights is None:
        return [1.0] * count
    if len(weights) != count:
        raise PayloadError("parameters.Weights", "expected {} weight(s), one per input, got {}".format(
            count, len(weights)))
    for index, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise PayloadError("parameters.Weights[{}]".format(index),
                               "expected a non-negative number, got {!r}".format(weight))
    if sum(weights) <= 0:
        raise PayloadError("parameters.Weights", "the weights must not all be zero")
    return [float(weight) for weight in weights]


def blend(images, weights):
    """Return the weighted mean of ``images``, each resized to the size of the first."""
    mode = "RGBA" if any("A" in image.getbands() or "transparency" in image.info for image in images) else "RGB"
    size = images[0].size
    total = numpy.zeros((size[1], size[0], len(mode)), dtype=numpy.float64)
    for image, weight in zip(images, weights):
        converted = image.convert(mode)
        if converted.size != size:
            converted = converted.resize(size, Image.Resampling.BILINEAR)
        total += weight * numpy.asarray(converted, dtype=numpy.float64)
    mean = numpy.rint(total / sum(weights)).clip(0, 255).astype(numpy.uint8)
    return Image.fromarray(mean, mode=mode)


def main(payload):
    paths = payload.inputs("Images")
    weights = read_weights(payload, len(paths))
    images = []
    for path in paths:
        with Image.open(path) as image:
            image.load()
            images.append(image)
    blended = blend(images, weights)
    blended.save(payload.output_file("png"), format="PNG")
    get_logger().info("blended %d image(s) with weights %s into %dx%d %s", len(images), weights,
                      blended.width, blended.height, blended.mode)


if __name__ == "__main__":
    run(main, manifest="operation.yaml")
