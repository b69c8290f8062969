#!/usr/bin/env python3
"""The block pattern of ddvm-blkcheck and the new OS, on the host side.

    client_pattern.py write  IMAGE SEED OFFSET LENGTH
    client_pattern.py verify IMAGE SEED OFFSET LENGTH

The little-endian 32-bit word at byte offset o is (o / 4 + SEED) * 2654435761 mod 2^32.
"""
import array
import sys


def pattern(seed, offset, length):
    first = offset // 4
    a = array.array("I", (((first + i + seed) * 2654435761) & 0xFFFFFFFF
                          for i in range(length // 4)))
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def main():
    cmd, image, seed, offset, length = sys.argv[1:6]
    seed, offset, length = int(seed, 0), int(offset, 0), int(length, 0)
    want = pattern(seed, offset, length)
    if cmd == "write":
        with open(image, "r+b") as f:
            f.seek(offset)
            f.write(want)
        return 0
    with open(image, "rb") as f:
        f.seek(offset)
        got = f.read(length)
    if got != want:
        bad = next(i for i in range(min(len(got), len(want))) if got[i] != want[i]) \
            if len(got) == len(want) else len(got)
        print(f"pattern mismatch at byte {offset + bad}")
        return 1
    print(f"pattern OK: {length} bytes at {offset}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
