"""Generate a deterministic RGB test image with Pillow."""

import random

from PIL import Image, ImageDraw

from stage2_sdk import get_logger, run


def make_image(width, height, seed, circles):
    """Return the RGB image for these parameters (equal arguments give equal pixels)."""
    generator = random.Random(seed)
    # linear_gradient("L") is 256x256, black at the top and white at the bottom.
    vertical = Image.linear_gradient("L")
    red = vertical.transpose(Image.Transpose.ROTATE_90)
    green = vertical
    blue = Image.new("L", (256, 256), generator.randrange(256))
    image = Image.merge("RGB", (red, green, blue)).resize((width, height), Image.Resampling.BILINEAR)

    draw = ImageDraw.Draw(image)
    max_radius = max(1, min(width, height) // 4)
    for _ in range(circles):
        x, y = generator.randrange(width), generator.randrange(height)
        radius = generator.randint(1, max_radius)
        colour = (generator.randrange(256), generator.randrange(256), generator.randrange(256))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    return image


def main(payload):
    width = payload.parameter("Width", int)
    height = payload.parameter("Height", int)
    seed = payload.parameter("Seed", int)
    circles = payload.parameter("Circles", int)
    image = make_image(width, height, seed, circles)
    image.save(payload.output_file("png"), format="PNG")
    get_logger().info("generated a %dx%d image with seed %d and %d circles", width, height, seed, circles)


if __name__ == "__main__":
    run(main, manifest="operation.yaml")
