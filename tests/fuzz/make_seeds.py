#!/usr/bin/env python3
"""Write the seed corpus of fuzz_channel (tests/fuzz/corpus/). The format is described
at the top of fuzz_channel.c; seeds only need to reach the interesting states quickly,
the fuzzer does the rest. The harness's own encoding (ops, patches) is spelled out here;
the channel's structures come from include/ddvm/ through tests/vm/ivshmem_peer.py (run
`make` first)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
from ivshmem_peer import abi, pack  # noqa: E402

HDR, RL = abi.region_hdr, abi.ring_layout


def valid(flags, queues=1, fe_log2=3, fe_slot=256, be_log2=3, be_slot=128, patches=()):
    b = bytes([flags | 1, queues - 1, fe_log2]) + u16(fe_slot)
    b += bytes([be_log2]) + u16(be_slot) + bytes([len(patches)])
    for off, width_log2, val in patches:
        b += u16(off) + u8(width_log2) + u32(val)
    return b


def act(op, ring, *operands):
    return bytes([op, ring]) + b"".join(operands)


def u8(v):
    return bytes([v & 0xff])


def u16(v):
    return (v & 0xffff).to_bytes(2, "little")


def u32(v):
    return (v & 0xffffffff).to_bytes(4, "little")


def blk_req(rid, sector, off, length, op):
    return pack(abi.blk_req, id=rid, sector=sector, off=off, len=length, op=op)


def good_desc(off=0, length=60):
    # net desc: off, len, then zeros; trailing byte 1 = "make the buffer right"
    return pack(abi.net_desc, off=off, len=length) + u8(1)


seeds = {}
FE, BE, BLK = 0, 2, 4
# net, frontend: traffic both ways with sleeps in between
seeds["net_fe_traffic"] = valid(FE) + act(0, 0, u8(5), u8(0xaa)) + act(7, 0, u8(3)) + \
    act(6, 1, good_desc()) + act(6, 1, good_desc()) + act(1, 1, u8(8)) + \
    act(2, 1) + act(8, 0) + act(0, 0, u8(9), u8(1)) + act(2, 0) + act(7, 0, u8(9)) + \
    act(0, 0, u8(2), u8(2))
# net, backend: the peer publishes descriptors, some with bad buffers
seeds["net_be_bad_buffers"] = valid(BE) + act(6, 0, good_desc()) + \
    act(6, 0, pack(abi.net_desc, off=4096, len=60) + u8(0)) + \
    act(6, 0, pack(abi.net_desc, off=0, len=100000) + u8(0)) + act(0, 0, u8(10))
# net: hostile indices (jump, backwards, relative nudges)
seeds["net_hostile_index"] = valid(FE, queues=2) + act(6, 1, good_desc()) + \
    act(3, 1, u8(0), u32(1000)) + act(0, 1, u8(4)) + act(0, 0, u8(4), u8(1)) + \
    act(3, 0, u8(1 | 4), u32(0xff)) + act(0, 0, u8(4), u8(1)) + act(11, 0) + \
    act(0, 0, u8(4), u8(1))
# blk, backend: requests with tags, flush, out-of-range tag
seeds["blk_be_requests"] = valid(BE | BLK, fe_log2=4, fe_slot=1024, be_slot=0) + \
    act(6, 0, blk_req(3, 8, 3 * 1024, 512, abi.BLK_OP_WRITE) + u8(0)) + \
    act(6, 0, blk_req(1, 0, 0, 0, abi.BLK_OP_FLUSH) + u8(0)) + \
    act(6, 0, blk_req(0xffff, 0, 0, 512, abi.BLK_OP_READ) + u8(0)) + \
    act(0, 0, u8(8)) + act(0, 1, u8(3), u8(0)) + act(7, 1, u8(3))
# blk, frontend: responses naming tags
seeds["blk_fe_responses"] = valid(FE | BLK, fe_log2=4, fe_slot=1024, be_slot=0) + \
    act(0, 0, u8(4), u8(7)) + act(7, 0, u8(4)) + \
    act(6, 1, pack(abi.blk_rsp, id=2, status=abi.BLK_S_OK, len=512) + u8(0)) + \
    act(6, 1, pack(abi.blk_rsp, id=40000, status=abi.BLK_S_IOERR, len=4096) + u8(0)) + act(0, 1, u8(4))
# header patched after init: entries, offsets, magic
seeds["patched_header"] = valid(FE, patches=[(HDR.rings + RL.entries, 2, 7),
                                             (HDR.rings + RL.SIZE + RL.ring_off, 2, 4097)])
seeds["patched_magic"] = valid(BE, patches=[(HDR.magic, 2, abi.MAGIC + 1)])
# raw header: a plausible one, up to the end of its ring table's two entries
raw = pack(HDR, magic=abi.MAGIC, abi_major=abi.ABI_MAJOR, abi_minor=0, region_size=16384,
           kind=abi.KIND_NET, num_rings=2, num_queues=1)[:HDR.rings]
raw += pack(RL, ring_off=4096, entries=4, data_off=8192, data_size=1024, slot_size=256,
            producer=abi.SIDE_FRONTEND, vector=abi.VECTOR_QUEUE(0))
raw += pack(RL, ring_off=4096 + 256, entries=4, producer=abi.SIDE_BACKEND,
            vector=abi.VECTOR_QUEUE(0))
seeds["raw_header"] = bytes([0 | (1 << 3)]) + u16(len(raw)) + raw + act(0, 0, u8(4), u8(3))
# header scribbled after attach, payload scribbles
seeds["scribble_after_attach"] = valid(FE) + act(10, 0, u16(HDR.rings), bytes(8)) + \
    act(9, 0, u32(0), u8(64), bytes(range(64))) + act(5, 1, u16(0), bytes(32)) + \
    act(3, 1, u8(0), u32(1)) + act(0, 1, u8(2))

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
