#!/usr/bin/env python3
"""Reads a safetensors file with the Python standard library only and prints its names, dtypes, shapes and metadata.

    scripts/read_safetensors.py FILE            # one line per tensor: NAME DTYPE SHAPE, then metadata KEY=VALUE
    scripts/read_safetensors.py --json FILE     # {"metadata": {...}, "tensors": {NAME: {"dtype", "shape"}}}
    scripts/read_safetensors.py --values FILE   # as --json, plus each tensor's values flattened (row-major)

As a module: `read_safetensors(path)` returns (metadata, {name: (dtype, shape, raw_bytes)}); to get torch tensors,
`torch.frombuffer(bytearray(raw), dtype=...).reshape(shape)`. It validates the layout like the C++ reader does
(src/common/safetensors.h) and exits 1 with "FILE: byte OFFSET: PROBLEM" on a malformed file.
"""

import json
import struct
import sys

# dtype -> (bytes per element, struct format letter or None for 16-bit floats decoded by hand)
DTYPES = {"F32": (4, "f"), "F64": (8, "d"), "I64": (8, "q"), "I32": (4, "i"), "U8": (1, "B"), "BOOL": (1, "?"),
          "F16": (2, "e"), "BF16": (2, None)}


class FormatError(Exception):
    def __init__(self, path, offset, problem):
        super().__init__(f"{path}: byte {offset}: {problem}")


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError(path, 0, f"file is {len(data)} bytes, too short for the 8-byte header length")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > len(data) - 8:
        raise FormatError(path, 0, f"header length {header_length} runs past the end of the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(path, 8, f"header is not valid JSON: {e}")
    if not isinstance(header, dict):
        raise FormatError(path, 8, "header must be a JSON object")
    metadata = header.pop("__metadata__", {})
    buffer = data[8 + header_length:]
    tensors = {}
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise FormatError(path, 8, f"tensor '{name}': entry must have exactly dtype, shape, data_offsets")
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise FormatError(path, 8, f"tensor '{name}': unknown dtype {dtype!r}")
        count = 1
        for dim in shape:
            count *= dim
        if not 0 <= begin <= end <= len(buffer) or count * DTYPES[dtype][0] != end - begin:
            raise FormatError(path, 8, f"tensor '{name}': data_offsets {[begin, end]} do not fit shape {shape}")
        tensors[name] = (dtype, shape, buffer[begin:end])
        spans.append((begin, end, name))
    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            raise FormatError(path, 8 + header_length + covered, f"tensor '{name}' does not start where the last ended")
        covered = end
    if covered != len(buffer):
        raise FormatError(path, 8 + header_length + covered, "bytes at the end belong to no tensor")
    return metadata, tensors


def values(dtype, raw):
    """The tensor's elements as Python numbers, row-major."""
    size, letter = DTYPES[dtype]
    count = len(raw) // size
    if letter is None:  # bfloat16: the high half of a float32
        return [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
    return list(struct.unpack(f"<{count}{letter}", raw))


def main(argv):
    mode = "text"
    if len(argv) == 2 and argv[0] in ("--json", "--values"):
        mode, argv = argv[0][2:], argv[1:]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        metadata, tensors = read_safetensors(argv[0])
    except (OSError, FormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if mode == "text":
        for name in sorted(tensors):
            dtype, shape, _ = tensors[name]
            print(name, dtype, list(shape))
        for key in sorted(metadata):
            print(f"metadata {key}={metadata[key]}")
        return 0
    out = {"metadata": metadata, "tensors": {}}
    for name, (dtype, shape, raw) in sorted(tensors.items()):
        out["tensors"][name] = {"dtype": dtype, "shape": shape}
        if mode == "values":
            out["tensors"][name]["values"] = values(dtype, raw)
    print(json.dumps(out))  # floats print with repr: exact round trip of float32/float64 values
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
