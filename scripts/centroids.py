#!/usr/bin/env python3
"""Where do generated objects go? An independent check on the judge's
direction score, from pixels alone.

    python3 scripts/centroids.py GENERATED TRUTH [--trajectories]

GENERATED is a folder of y4m videos made from TRUTH's captions in order
(scripts/eval-default.sh's out/eval-X/generated and out/eval-X/truth).
For each prompt whose ground-truth object moves in a straight line, the
object is taken to be the pixels that differ from the background (the
median of the border pixels) by more than 60 in the sum over R, G and B;
its centroid over the first three frames is compared with that over the
last three. A shift of more than 5 pixels counts as moving; the angle
between the shift and the caption's direction sorts it into "within 45
degrees" or "more than 90 degrees off". Chance is a quarter and a half.
--trajectories prints each moving prompt's centroid every other frame.

Needs numpy. Reads 4:4:4 y4m (what `vidit generate --format y4m` writes).
"""
import json
import math
import os
import sys

import numpy as np

# Screen coordinates: y grows downwards.
DIRECTIONS = {
    "right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1),
    "up-right": (1, -1), "up-left": (-1, -1),
    "down-right": (1, 1), "down-left": (-1, 1),
}


def read_y4m(path):
    with open(path, "rb") as f:
        data = f.read()
    header, _, rest = data.partition(b"\n")
    fields = header.split()
    if fields[0] != b"YUV4MPEG2":
        raise ValueError(f"{path}: not a y4m file")
    width = height = None
    colour = b"C420jpeg"
    for fld in fields[1:]:
        if fld[:1] == b"W":
            width = int(fld[1:])
        elif fld[:1] == b"H":
            height = int(fld[1:])
        elif fld[:1] == b"C":
            colour = fld
    if not colour.startswith(b"C444"):
        raise ValueError(f"{path}: {colour.decode()} is not 4:4:4")
    plane = width * height
    frames = []
    pos = 0
    while pos < len(rest):
        end = rest.index(b"\n", pos)
        pos = end + 1
        yuv = np.frombuffer(rest, np.uint8, 3 * plane, pos).astype(np.float32)
        pos += 3 * plane
        y, u, v = (yuv[i * plane:(i + 1) * plane].reshape(height, width) for i in range(3))
        u, v = u - 128, v - 128
        # BT.601 full range, the inverse of what vidit writes.
        rgb = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], -1)
        frames.append(np.clip(rgb, 0, 255))
    return np.stack(frames)


def centroids(video):
    """Per-frame centroid (x, y) of the pixels unlike the border, or None."""
    border = np.concatenate([video[:, 0], video[:, -1], video[:, :, 0], video[:, :, -1]], 1)
    background = np.median(border.reshape(-1, 3), 0)
    mask = np.abs(video - background).sum(-1) > 60
    out = []
    ys, xs = np.mgrid[0:video.shape[1], 0:video.shape[2]]
    for m in mask:
        n = m.sum()
        out.append((xs[m].mean(), ys[m].mean()) if n > 0 else None)
    return out


def mean_point(points):
    points = [p for p in points if p is not None]
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = "--trajectories" in sys.argv
    if len(args) != 2:
        sys.exit(__doc__)
    gen_dir, truth_dir = args
    with open(os.path.join(truth_dir, "captions.jsonl")) as f:
        truths = [json.loads(line) for line in f if line.strip()]
    gen_files = sorted(f for f in os.listdir(gen_dir) if f.endswith(".y4m"))
    if len(gen_files) < len(truths):
        sys.exit(f"{gen_dir}: {len(gen_files)} videos for {len(truths)} prompts")
    linear = moving = within = off = 0
    for truth, name in zip(truths, gen_files):
        objs = truth["truth"]["objects"]
        if len(objs) != 1 or objs[0]["motion"] != "linear":
            continue
        linear += 1
        want = DIRECTIONS[objs[0]["direction"]]
        c = centroids(read_y4m(os.path.join(gen_dir, name)))
        first, last = mean_point(c[:3]), mean_point(c[-3:])
        if first is None or last is None:
            continue
        dx, dy = last[0] - first[0], last[1] - first[1]
        if math.hypot(dx, dy) <= 5:
            continue
        moving += 1
        cos = (dx * want[0] + dy * want[1]) / (math.hypot(dx, dy) * math.hypot(*want))
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        within += angle <= 45
        off += angle > 90
        if show:
            path = " ".join("-" if p is None else f"({p[0]:.0f},{p[1]:.0f})" for p in c[::2])
            print(f"{name} {objs[0]['direction']:>10} {angle:5.0f} deg: {path}")
    print(f"linear prompts {linear}, moving > 5 px {moving}, "
          f"within 45 deg {within}, more than 90 deg off {off}")


if __name__ == "__main__":
    main()
