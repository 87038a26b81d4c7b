"""Writes a safetensors file of tensors with uniform random values, for
tests that run an artifact on made-up inputs:
    make_inputs.py OUT.safetensors NAME[:bf16]=D0xD1x...[:LOW:HIGH] ... [--seed=N]
(LOW, HIGH default to -1, 1; f32 unless the name says bf16: the values
rounded to nearest, ties to even)."""
import json
import random
import struct
import sys


def bf16_bits(value):
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16


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
        name, _, dtype = name.partition(":")
        if dtype not in ("", "bf16"):
            sys.exit("make_inputs.py: dtype '%s' of '%s': expected bf16" % (dtype, name))
        dims, *bounds = rest.split(":")
        low, high = (float(bounds[0]), float(bounds[1])) if bounds else (-1.0, 1.0)
        shape = [int(d) for d in dims.split("x")]
        count = 1
        for d in shape:
            count *= d
        values = [rng.uniform(low, high) for _ in range(count)]
        if dtype == "bf16":
            blob = struct.pack("<%dH" % count, *(bf16_bits(v) for v in values))
        else:
            blob = struct.pack("<%df" % count, *values)
        header[name] = {"dtype": "BF16" if dtype else "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


if __name__ == "__main__":
    main(sys.argv)
