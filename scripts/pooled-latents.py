"""Replaces the VAE latents of a vidit latent cache with pooled pixels, for
the experiment of whether the learned latent is what keeps a DiT from
learning motion (README, The default model). The new cache keeps the old
one's key and captions, so `vidit train` on the same data and VAE reads it
as its own.

    python3 scripts/pooled-latents.py DATA_DIR CACHE OUT_CACHE
    python3 scripts/pooled-latents.py --groups DATA_DIR OUT_CACHE

CACHE is the latents.safetensors that `vidit train` wrote for DATA_DIR (a
run stopped after one step makes it: `--stop-after 1`). The grid is the
VAE's, 8x5x16x16 for 64x64x17 y4m videos; the 8 channels are the Y, U, V
means over each 4x4 block and causal time group (frame 0 alone, then frames
1-4, 5-8, ...), the Y, U, V of the group's last frame and the U, V of its
first, each standardised over the data. Needs numpy.

--groups writes a cache for scripts/torch-replica.py only (no key: vidit
does not read it), laid out as the reference notes' pooled pixels: the Y,
U, V means over each 4x4 block and each group of 4 frames, no frame on its
own (16 frames -> 4), captions as they are in DATA_DIR.
"""
import json
import os
import struct
import sys

import numpy as np


def read_safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def read_y4m_444(path):
    """Frames of a 4:4:4 y4m file as float (T, 3, H, W) in [-1, 1]."""
    with open(path, "rb") as f:
        data = f.read()
    header, rest = data.split(b"\n", 1)
    fields = {t[:1]: t[1:] for t in header.split()[1:]}
    if fields.get(b"C", b"420")[:3] != b"444":
        sys.exit(f"{path}: only 4:4:4 y4m is read here")
    W, H = int(fields[b"W"]), int(fields[b"H"])
    size, frames, i = 3 * W * H, [], 0
    while i < len(rest):
        j = rest.index(b"\n", i) + 1  # after "FRAME"
        frames.append(np.frombuffer(rest[j:j + size], np.uint8).reshape(3, H, W))
        i = j + size
    return np.stack(frames).astype(np.float32) / 127.5 - 1


def pool4(x):
    """(3, H, W) -> (3, H/4, W/4) block means."""
    c, h, w = x.shape
    return x.reshape(c, h // 4, 4, w // 4, 4).mean(axis=(2, 4))


def pooled_latent(video):
    T, _, H, W = video.shape
    groups = [[0]] + [list(range(1 + 4 * k, 5 + 4 * k)) for k in range((T - 1) // 4)]
    z = np.zeros((8, len(groups), H // 4, W // 4), np.float32)
    for g, frames in enumerate(groups):
        z[0:3, g] = pool4(video[frames].mean(axis=0))
        z[3:6, g] = pool4(video[frames[-1]])
        z[6:8, g] = pool4(video[frames[0]])[1:3]
    return z


def group_means(video):
    T = video.shape[0]
    return np.stack([pool4(video[4 * g:4 * g + 4].mean(axis=0)) for g in range(T // 4)], axis=1)


def main(data_dir, cache, out):
    lines = [json.loads(l) for l in open(os.path.join(data_dir, "captions.jsonl"))]
    if cache is None:
        meta = {"captions": json.dumps([l["caption"] for l in lines])}
        latent = group_means
    else:
        meta = read_safetensors_header(cache)["__metadata__"]
        if [l["caption"] for l in lines] != json.loads(meta["captions"]):
            sys.exit(f"{cache} was not made from {data_dir} (its captions differ)")
        latent = pooled_latent
    z = np.stack([latent(read_y4m_444(os.path.join(data_dir, l["file"]))) for l in lines])
    mean = z.mean(axis=(0, 2, 3, 4))
    std = z.std(axis=(0, 2, 3, 4))
    z = (z - mean[None, :, None, None, None]) / std[None, :, None, None, None]

    header, blobs, offset = {}, [], 0
    for i, item in enumerate(z):
        blob = np.ascontiguousarray(item, "<f4").tobytes()
        header[f"lat.{i:06d}"] = {"dtype": "F32", "shape": list(item.shape),
                                  "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    meta = dict(meta, mean=json.dumps(mean.tolist()), std=json.dumps(std.tolist()))
    header["__metadata__"] = meta
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(out + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)
    os.replace(out + ".tmp", out)
    print(f"{len(z)} videos: {out}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--groups":
        main(sys.argv[2], None, sys.argv[3])
    elif len(sys.argv) == 4:
        main(*sys.argv[1:])
    else:
        sys.exit(__doc__)
