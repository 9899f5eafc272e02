"""Rewrites a one-object world dataset's captions into one fixed template,
"a {colour} {shape} moves {direction} on a {background} background" (or
"... rests on ..."), from the ground truth stored with each video; the
videos are linked, not copied. For experiments on whether caption wording
is what a model fails to learn (README, The default model).

    python3 scripts/plain-captions.py SRC_DATASET DST_DATASET
"""
import json
import os
import sys


def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    tmp = os.path.join(dst, "captions.jsonl.tmp")
    with open(os.path.join(src, "captions.jsonl")) as f, open(tmp, "w") as out:
        for line in f:
            d = json.loads(line)
            truth = d["truth"]
            if len(truth["objects"]) != 1:
                sys.exit(f"{src}: {d['file']} has {len(truth['objects'])} objects (want 1)")
            o = truth["objects"][0]
            verb = "rests" if o["motion"] == "still" else f"moves {o['direction']}"
            d["caption"] = f"a {o['colour']} {o['shape']} {verb} on a {truth['background']} background"
            link = os.path.join(dst, d["file"])
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(src, d["file"])), link)
            out.write(json.dumps(d, separators=(",", ":")) + "\n")
    os.replace(tmp, os.path.join(dst, "captions.jsonl"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
