"""Writes a safetensors file of f32 tensors with uniform random values, for
tests that run an artifact on made-up inputs:
    make_inputs.py OUT.safetensors NAME=D0xD1x...[:LOW:HIGH] ... [--seed=N]
(LOW, HIGH default to -1, 1)."""
import json
import random
import struct
import sys


def main(argv):
    out, specs, seed = None, [], 0
    for arg in argv[1:]:
        if arg.startswith("--seed="):
            seed = int(arg[len("--seed="):])
        elif out is None:
            out = arg
        else:
            specs.append(arg)
    if out is None or not specs:
        sys.exit(__doc__)
    rng = random.Random(seed)
    header, blobs, offset = {}, [], 0
    for spec in specs:
        name, _, rest = spec.partition("=")
        dims, *bounds = rest.split(":")
        low, high = (float(bounds[0]), float(bounds[1])) if bounds else (-1.0, 1.0)
        shape = [int(d) for d in dims.split("x")]
        count = 1
        for d in shape:
            count *= d
        blob = struct.pack("<%df" % count, *(rng.uniform(low, high) for _ in range(count)))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


if __name__ == "__main__":
    main(sys.argv)
