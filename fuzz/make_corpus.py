"""Writes the seed corpus for fuzz/fuzz_safetensors.c: small safetensors
files, valid ones and malformed ones that each break one rule of the reader,
into fuzz/corpus/safetensors/. Plain python3, no third-party packages."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "safetensors")


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def header_bytes(header, pad=True, compact=True):
    if isinstance(header, (bytes, bytearray)):
        text = bytes(header)
    else:
        seps = (",", ":") if compact else (", ", ": ")
        text = json.dumps(header, separators=seps).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return text


def layout(header, data=b"", pad=True, compact=True, length=None):
    text = header_bytes(header, pad, compact)
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def floats(*v):
    return struct.pack("<%df" % len(v), *v)


def seeds():
    f4 = floats(1.0, -2.0, 0.5, 3.25)
    two = {"a": entry("F32", [2], 0, 8), "b": entry("F16", [2, 2], 8, 16)}
    two_data = floats(1.5, -2.0) + struct.pack("<4H", 0x3C00, 0xC400, 0x7BFF, 0x0001)
    all_types = {
        "__metadata__": {"format": "pt", "note": "caf\u00e9"},
        "f64": entry("F64", [1], 0, 8),
        "f32": entry("F32", [1], 8, 12),
        "bf16": entry("BF16", [1], 12, 14),
        "i16": entry("I16", [1], 14, 16),
        "i64": entry("I64", [1], 16, 24),
        "i32": entry("I32", [1], 24, 28),
        "i8": entry("I8", [1], 28, 29),
        "u8": entry("U8", [1], 29, 30),
        "bool": entry("BOOL", [2], 30, 32),
    }
    all_data = (struct.pack("<d", -0.75) + floats(2.0) + struct.pack("<H", 0x3F80)
                + struct.pack("<h", -300) + struct.pack("<q", 10**6) + struct.pack("<i", 7)
                + bytes([0xFE, 0xFE, 1, 0]))
    return {
        # valid
        "valid_two": layout(two, two_data),
        "valid_python_spacing": layout({"__metadata__": {"format": "pt"}, **two}, two_data,
                                       compact=False),
        "valid_all_dtypes": layout(all_types, all_data),
        "valid_empty_header": layout({}),
        "valid_zero_size": layout({"e": entry("F32", [0, 3], 0, 0), "s": entry("F32", [], 0, 4)},
                                  floats(42.0)),
        "valid_unpadded": layout({"w": entry("F32", [2, 2], 0, 16)}, f4, pad=False),
        # malformed, one rule each
        "bad_short": b"\x10\x00\x00",
        "bad_header_past_end": struct.pack("<Q", 4000) + b"{}",
        "bad_header_huge": struct.pack("<Q", 200 * 1024 * 1024) + b"{}      ",
        "bad_not_object": layout(b"[1, 2]"),
        "bad_json": layout(b'{"a": {"dtype": "F32",,}}'),
        "bad_dtype": layout({"w": entry("F7", [4], 0, 16)}, f4),
        "bad_fp8": layout({"w": entry("F8_E4M3", [4], 0, 4)}, b"\x01\x02\x03\x04"),
        "bad_shape_negative": layout({"w": entry("F32", [-4], 0, 16)}, f4),
        "bad_too_many_dims": layout({"w": entry("F32", [1] * 9 + [4], 0, 16)}, f4),
        "bad_size_mismatch": layout({"w": entry("F32", [3], 0, 16)}, f4),
        "bad_overflow": layout({"w": entry("F32", [2**62, 8], 0, 16)}, f4),
        "bad_gap": layout({"a": entry("F32", [1], 0, 4), "b": entry("F32", [2], 8, 16)}, f4),
        "bad_overlap": layout({"a": entry("F32", [2], 0, 8), "b": entry("F32", [3], 4, 16)}, f4),
        "bad_truncated": layout({"w": entry("F32", [4], 0, 16)}, f4[:12]),
        "bad_trailing": layout({"w": entry("F32", [4], 0, 16)}, f4 + b"\x00"),
        "bad_extra_field": layout({"w": dict(entry("F32", [4], 0, 16), extra=1)}, f4),
        "bad_metadata_value": layout({"__metadata__": {"k": 1}, "w": entry("F32", [4], 0, 16)}, f4),
        "bad_duplicate_name": layout(
            b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            b'"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f4),
        "bad_begin_after_end": layout({"w": entry("F32", [0], 16, 0)}, f4),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, blob in sorted(seeds().items()):
        assert len(blob) < 4096, name
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(blob)
    print("wrote %d seeds to %s" % (len(seeds()), OUT))


if __name__ == "__main__":
    main()
