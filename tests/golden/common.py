"""Writes golden files for the C tests: safetensors, by hand, with numpy.

Each golden is tests/golden/<name>.safetensors holding float32 tensors
(inputs, outputs, gradients) and string metadata (attributes such as eps,
and the tolerance the C test applies, for the record)."""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def to_numpy(x):
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x)


def save(name, tensors, meta=None):
    """tensors: dict name -> torch tensor or numpy array (stored as F32, or I32
    for integer arrays)."""
    header = {}
    blobs = []
    offset = 0
    for key in sorted(tensors):
        arr = to_numpy(tensors[key])
        if arr.dtype.kind in "iub":
            arr = arr.astype("<i4")
            dtype = "I32"
        else:
            arr = arr.astype("<f4")
            dtype = "F32"
        data = arr.tobytes()
        header[key] = {"dtype": dtype, "shape": list(arr.shape),
                       "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if meta:
        header["__metadata__"] = {str(k): str(v) for k, v in meta.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    path = os.path.join(HERE, name + ".safetensors")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return path
