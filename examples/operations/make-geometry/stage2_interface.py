"""Generate deterministic random geometry with Shapely and write GeoJSON."""

import json
import random

from shapely.geometry import LineString, MultiPoint, Point, mapping

from stage2_sdk import get_logger, run


def make_geometries(shape, count, extent, seed):
    """Return the Shapely geometries for these parameters (equal arguments give equal output)."""
    generator = random.Random(seed)
    points = [Point(generator.uniform(0, extent), generator.uniform(0, extent)) for _ in range(count)]
    if shape == "points":
        return points
    if shape == "line":
        return [LineString(sorted((point.x, point.y) for point in points))]
    return [MultiPoint(points).convex_hull]


def main(payload):
    shape = payload.parameter("Shape", str)
    count = payload.parameter("Count", int)
    extent = payload.parameter("Extent", float)
    seed = payload.parameter("Seed", int)
    geometries = make_geometries(shape, count, extent, seed)
    collection = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": index, "properties": {"index": index, "shape": shape},
                      "geometry": mapping(geometry)}
                     for index, geometry in enumerate(geometries)],
    }
    with open(payload.output_file("geojson"), "w", encoding="utf-8") as stream:
        json.dump(collection, stream)
    get_logger().info("generated %d %s feature(s) from %d points with seed %d", len(geometries), shape,
                      count, seed)


if __name__ == "__main__":
    run(main, manifest="operation.yaml")
