"""Makes a broken copy of a checkpoint for the error tests.

    edit_checkpoint.py SOURCE_DIR OUT_DIR [EDIT ...]

EDITs, applied in order:
  set:KEY=JSON      sets config.json's KEY to the JSON value
  del:KEY           removes KEY from config.json
  truncate:BYTES    cuts model.safetensors to BYTES bytes
  extra:NAME        adds an F32 [4] tensor NAME to model.safetensors
  retype:NAME=DT    relabels model.safetensors' tensor NAME as dtype DT (same
                    bytes: a valid file with a tensor of the wrong dtype)
  reshape:NAME=a,b  relabels tensor NAME's shape (same element count)
  round:bf16        rounds every F32 weight to the nearest bf16 value (ties
                    to even), still stored as F32
  store:bf16        the same values stored as BF16, config dtype "bfloat16"
  store:f16         every F32 weight stored as F16 (Python's own rounding),
                    config dtype "float16"
  ids:NAME=a,b,..   rewrites expected.safetensors with only the I64 [1, n]
                    tensor NAME holding those ids (plus the source's other
                    tensors, unchanged)
The other files are copied as they are.
"""
import array
import json
import os
import shutil
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = (entry["dtype"], entry["shape"], data[begin:end])
    return tensors


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, blob) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def bf16_bits(blob):
    """The bf16 bit patterns nearest the F32 values (ties to even)."""
    words = array.array("I", blob)
    return [(w + 0x7FFF + ((w >> 16) & 1)) >> 16 for w in words]


def retype_weights(out, kind, dtype):
    weights = os.path.join(out, "model.safetensors")
    tensors = read_safetensors(weights)
    for name, (stored, shape, blob) in tensors.items():
        if stored != "F32":
            continue
        if dtype == "F16":
            values = array.array("f", blob)
            blob = struct.pack("<%de" % len(values), *values)
            tensors[name] = ("F16", shape, blob)
            continue
        bits = bf16_bits(blob)
        if kind == "round":
            tensors[name] = ("F32", shape,
                             array.array("I", [b << 16 for b in bits]).tobytes())
        else:
            tensors[name] = ("BF16", shape, array.array("H", bits).tobytes())
    write_safetensors(weights, tensors)


def main():
    source, out = sys.argv[1], sys.argv[2]
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(source, out)
    config_path = os.path.join(out, "config.json")
    config = json.load(open(config_path))
    for edit in sys.argv[3:]:
        kind, _, rest = edit.partition(":")
        if kind == "set":
            key, _, value = rest.partition("=")
            config[key] = json.loads(value)
        elif kind == "del":
            del config[rest]
        elif kind == "truncate":
            weights = os.path.join(out, "model.safetensors")
            with open(weights, "r+b") as f:
                f.truncate(int(rest))
        elif kind in ("extra", "retype", "reshape"):
            weights = os.path.join(out, "model.safetensors")
            tensors = read_safetensors(weights)
            name, _, value = rest.partition("=")
            dtype, shape, blob = tensors.get(name, ("F32", [4], b"\0" * 16))
            if kind == "retype":
                dtype = value
            elif kind == "reshape":
                shape = [int(v) for v in value.split(",")]
            tensors[name] = (dtype, shape, blob)
            write_safetensors(weights, tensors)
        elif kind in ("round", "store"):
            dtype = {"bf16": "BF16", "f16": "F16"}[rest]
            retype_weights(out, kind, dtype)
            if kind == "store":
                config["dtype"] = {"BF16": "bfloat16", "F16": "float16"}[dtype]
        elif kind == "ids":
            name, _, values = rest.partition("=")
            ids = [int(v) for v in values.split(",") if v]
            expected = os.path.join(out, "expected.safetensors")
            tensors = read_safetensors(expected)
            tensors[name] = ("I64", [1, len(ids)],
                             struct.pack("<%dq" % len(ids), *ids))
            write_safetensors(expected, tensors)
        else:
            sys.exit("unknown edit " + edit)
    json.dump(config, open(config_path, "w"), indent=2)


main()
