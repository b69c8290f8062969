#!/usr/bin/env python3
"""The block pattern of ddvm-blkcheck and the new OS, on the host side.

    client_pattern.py write  IMAGE SEED OFFSET LENGTH
    client_pattern.py verify IMAGE SEED OFFSET LENGTH
    client_pattern.py diagnose IMAGE SEED OFFSET LENGTH   (verify, then list every
        wrong 4 KiB block: zeros, or the pattern of which other offset)

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


def diagnose(got, want, seed, offset):
    """Print each wrong 4 KiB block and what it holds instead (at most 32 lines)."""
    lines = 0
    for i in range(0, min(len(got), len(want)), 4096):
        g = got[i:i + 4096]
        if g == want[i:i + 4096]:
            continue
        if g == bytes(len(g)):
            what = "zeros"
        else:
            # the pattern is linear in the word index: solve for the offset it was
            # written for, assuming the same seed
            w0 = int.from_bytes(g[:4], "little")
            inv = pow(2654435761, -1, 1 << 32)
            idx = (w0 * inv - seed) & 0xFFFFFFFF
            what = f"other data (first word fits offset {idx * 4})"
            if g == pattern(seed, idx * 4, len(g)):
                what = f"the pattern of byte offset {idx * 4}"
        print(f"  block at byte {offset + i}: {what}")
        lines += 1
        if lines >= 32:
            print("  ...")
            break


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
        if cmd == "diagnose":
            diagnose(got, want, seed, offset)
        return 1
    print(f"pattern OK: {length} bytes at {offset}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
