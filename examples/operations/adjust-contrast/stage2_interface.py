"""Scale the contrast of an image with Pillow's ImageEnhance.Contrast."""

from PIL import Image, ImageEnhance

from stage2_sdk import get_logger, run


def adjust_contrast(image, factor):
    """Return ``image`` with its contrast scaled by ``factor``, keeping any alpha band unchanged."""
    if image.mode not in ("L", "RGB", "RGBA", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA"):
        *colour_bands, alpha = image.split()
        colour = Image.merge("RGB" if image.mode == "RGBA" else "L", colour_bands)
        adjusted = ImageEnhance.Contrast(colour).enhance(factor)
        adjusted.putalpha(alpha)
        return adjusted
    return ImageEnhance.Contrast(image).enhance(factor)


def main(payload):
    factor = payload.parameter("Contrast Factor", float)
    source = payload.input("Raw Image File")
    with Image.open(source) as image:
        image.load()
        adjusted = adjust_contrast(image, factor)
    adjusted.save(payload.output_file("png"), format="PNG")
    get_logger().info("scaled the contrast of %s (%dx%d %s) by %g", source, image.width, image.height,
                      image.mode, factor)


if __name__ == "__main__":
    run(main, manifest="operation.yaml")
