"""Writes logits [2, 3, 9001] whose rows test a row argmax's edge cases, and
the ids a first-of-equal-largest argmax gives (NaN never the largest, 0
where no logit is above -inf), as two safetensors files:
    argmax-cases.py LOGITS.safetensors EXPECTED.safetensors"""
import json
import random
import struct
import sys

VOCAB = 9001  # past 1024 threads × 8 loads: two rounds a thread, a tail


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, fmt, values) in tensors.items():
        blob = struct.pack("<%d%s" % (len(values), fmt), *values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    rng = random.Random(7)
    nan, inf = float("nan"), float("inf")
    rows = [[rng.uniform(-4, 4) for _ in range(VOCAB)] for _ in range(6)]
    rows[1][7000] = rows[1][100] = 5.0          # ties: the first
    rows[2][9000] = rows[2][8999] = 6.0         # ties in the tail
    rows[3][0] = rows[3][50] = nan              # NaN is never the largest
    rows[3][4000] = 7.0
    rows[4] = [-inf] * VOCAB                    # none above -inf: 0
    rows[5] = [-inf] * VOCAB
    rows[5][VOCAB - 1] = 1.0                    # the last
    expected = []
    for row in rows:
        best, at = -inf, 0
        for i, value in enumerate(row):
            if value > best:
                best, at = value, i
        expected.append(at)
    write(argv[1], {"logits": ("F32", [2, 3, VOCAB], "f",
                               [v for row in rows for v in row])})
    write(argv[2], {"next_ids": ("I64", [2, 3], "q", expected)})


if __name__ == "__main__":
    main(sys.argv)
