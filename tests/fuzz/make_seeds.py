#!/usr/bin/env python3
"""Write the seed corpus of fuzz_channel (tests/fuzz/corpus/). The format is described
at the top of fuzz_channel.c; seeds only need to reach the interesting states quickly,
the fuzzer does the rest."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def valid(flags, queues=1, fe_log2=3, fe_slot=256, be_log2=3, be_slot=128, patches=()):
    b = bytes([flags | 1, queues - 1, fe_log2]) + struct.pack("<H", fe_slot)
    b += bytes([be_log2]) + struct.pack("<H", be_slot) + bytes([len(patches)])
    for off, width_log2, val in patches:
        b += struct.pack("<HBI", off, width_log2, val)
    return b


def act(op, ring, *operands):
    return bytes([op, ring]) + b"".join(operands)


def u8(v):
    return bytes([v & 0xff])


def u16(v):
    return struct.pack("<H", v & 0xffff)


def u32(v):
    return struct.pack("<I", v & 0xffffffff)


def good_desc(off=0, length=60):
    # net desc: off, len, then zeros; trailing byte 1 = "make the buffer right"
    return struct.pack("<II", off, length) + bytes(24) + u8(1)


seeds = {}
FE, BE, BLK = 0, 2, 4
# net, frontend: traffic both ways with sleeps in between
seeds["net_fe_traffic"] = valid(FE) + act(0, 0, u8(5), u8(0xaa)) + act(7, 0, u8(3)) + \
    act(6, 1, good_desc()) + act(6, 1, good_desc()) + act(1, 1, u8(8)) + \
    act(2, 1) + act(8, 0) + act(0, 0, u8(9), u8(1)) + act(2, 0) + act(7, 0, u8(9)) + \
    act(0, 0, u8(2), u8(2))
# net, backend: the peer publishes descriptors, some with bad buffers
seeds["net_be_bad_buffers"] = valid(BE) + act(6, 0, good_desc()) + \
    act(6, 0, struct.pack("<II", 4096, 60) + bytes(24) + u8(0)) + \
    act(6, 0, struct.pack("<II", 0, 100000) + bytes(24) + u8(0)) + act(0, 0, u8(10))
# net: hostile indices (jump, backwards, relative nudges)
seeds["net_hostile_index"] = valid(FE, queues=2) + act(6, 1, good_desc()) + \
    act(3, 1, u8(0), u32(1000)) + act(0, 1, u8(4)) + act(0, 0, u8(4), u8(1)) + \
    act(3, 0, u8(1 | 4), u32(0xff)) + act(0, 0, u8(4), u8(1)) + act(11, 0) + \
    act(0, 0, u8(4), u8(1))
# blk, backend: requests with tags, flush, out-of-range tag
seeds["blk_be_requests"] = valid(BE | BLK, fe_log2=4, fe_slot=1024, be_slot=0) + \
    act(6, 0, struct.pack("<QQIIHHI", 3, 8, 3 * 1024, 512, 1, 0, 0) + u8(0)) + \
    act(6, 0, struct.pack("<QQIIHHI", 1, 0, 0, 0, 2, 0, 0) + u8(0)) + \
    act(6, 0, struct.pack("<QQIIHHI", 0xffff, 0, 0, 512, 0, 0, 0) + u8(0)) + \
    act(0, 0, u8(8)) + act(0, 1, u8(3), u8(0)) + act(7, 1, u8(3))
# blk, frontend: responses naming tags
seeds["blk_fe_responses"] = valid(FE | BLK, fe_log2=4, fe_slot=1024, be_slot=0) + \
    act(0, 0, u8(4), u8(7)) + act(7, 0, u8(4)) + \
    act(6, 1, struct.pack("<QIIQQ", 2, 0, 512, 0, 0) + u8(0)) + \
    act(6, 1, struct.pack("<QIIQQ", 40000, 1, 4096, 0, 0) + u8(0)) + act(0, 1, u8(4))
# header patched after init: entries, offsets, magic
seeds["patched_header"] = valid(FE, patches=[(0x200 + 4, 2, 7), (0x220, 2, 4097)])
seeds["patched_magic"] = valid(BE, patches=[(0, 2, 0x4d564445)])
# raw header: the first 64 bytes of a plausible one
raw = struct.pack("<IHHQIIII", 0x4d564444, 1, 0, 16384, 1, 2, 1, 0) + bytes(0x200 - 32)
raw += struct.pack("<IIIIIHH8x", 4096, 4, 8192, 1024, 256, 1, 1)
raw += struct.pack("<IIIIIHH8x", 4096 + 256, 4, 0, 0, 0, 0, 1)
seeds["raw_header"] = bytes([0 | (1 << 3)]) + u16(len(raw)) + raw + act(0, 0, u8(4), u8(3))
# header scribbled after attach, payload scribbles
seeds["scribble_after_attach"] = valid(FE) + act(10, 0, u16(0x200), bytes(8)) + \
    act(9, 0, u32(0), u8(64), bytes(range(64))) + act(5, 1, u16(0), bytes(32)) + \
    act(3, 1, u8(0), u32(1)) + act(0, 1, u8(2))

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
