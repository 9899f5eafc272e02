"""Rewrites a one-object world dataset's captions into one fixed template,
"a {colour} {shape} moves {direction} on a {background} background" (or
"... rests on ..."), from the ground truth stored with each video; the
videos are linked, not copied. For experiments on whether caption wording
is what a model fails to learn (README, The default model).

    python3 scripts/plain-captions.py SRC_DATASET DST_DATASET [--directions D,D,...] [--speeds S,S] [--limit N]

--directions and --speeds keep only the videos whose object has one of
those directions (left, up-right, ..., none for still) and speeds (slow,
fast, none), for a smaller world such as four directions at one speed;
--limit keeps only the first N videos that pass them.
"""
import argparse
import json
import os
import sys


def main(src, dst, directions, speeds, limit):
    os.makedirs(dst, exist_ok=True)
    tmp = os.path.join(dst, "captions.jsonl.tmp")
    kept = 0
    with open(os.path.join(src, "captions.jsonl")) as f, open(tmp, "w") as out:
        for line in f:
            d = json.loads(line)
            truth = d["truth"]
            if len(truth["objects"]) != 1:
                sys.exit(f"{src}: {d['file']} has {len(truth['objects'])} objects (want 1)")
            o = truth["objects"][0]
            if directions and o["direction"] not in directions:
                continue
            if speeds and o["speed"] not in speeds:
                continue
            if limit and kept >= limit:
                break
            verb = "rests" if o["motion"] == "still" else f"moves {o['direction']}"
            d["caption"] = f"a {o['colour']} {o['shape']} {verb} on a {truth['background']} background"
            link = os.path.join(dst, d["file"])
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(src, d["file"])), link)
            out.write(json.dumps(d, separators=(",", ":")) + "\n")
            kept += 1
    if kept == 0:
        os.remove(tmp)
        sys.exit(f"{src}: no video matches the filters")
    os.replace(tmp, os.path.join(dst, "captions.jsonl"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--directions", default="")
    ap.add_argument("--speeds", default="")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    split = lambda s: set(s.split(",")) if s else set()
    main(a.src, a.dst, split(a.directions), split(a.speeds), a.limit)
