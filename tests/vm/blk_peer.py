#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A hostile host-side peer of a ddvm blk channel, for tests/vm/test_blk_hostile.sh.

Connects to ddvm-chan's DIR/host.sock as ivshmem peer 2 (the ivshmem-server protocol:
8-byte little-endian messages, file descriptors by SCM_RIGHTS), receives the region's
memfd and the other peers' doorbell eventfds, maps the region, and runs STEPs in order
over that one connection:

  blk_peer.py DIR STEP...
    rogue-client      play the client: send malformed requests and check each is
                      answered INVAL, check good I/O works, then violate the ring and
                      check the backend goes BROKEN (and keeps its heartbeat)
    bump=PIDFILE      SIGUSR1 to ddvm-chan: epoch + 1, rings reset
    resume            the backend is READY again at the new epoch and serves good I/O
    scribble=SECS     random garbage over both rings, kicking both sides
    scribble-all=SECS random garbage over the whole region, header included
    heartbeat         the backend's heartbeat advances
    wait=FILE         wait until FILE exists        touch=FILE   create FILE
Prints "PEER-OK ..." lines; exits nonzero with "PEER-FAIL ..." on a failed check.
"""
import mmap
import os
import random
import signal
import socket
import struct
import sys
import time

HOST_PEER = 2
BACKEND, FRONTEND = 0, 1
ST_ATTACHING, ST_READY, ST_BROKEN = 1, 2, 3
OP_READ, OP_WRITE, OP_FLUSH = 0, 1, 2
S_OK, S_INVAL = 0, 3


def fail(msg):
    print("PEER-FAIL " + msg, flush=True)
    sys.exit(1)


class Channel:
    def __init__(self, d):
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(d, "host.sock"))
        s.settimeout(2.0)
        self.doorbells = {}
        shm = None
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(s, 8, 1)
            except socket.timeout:
                break
            if not msg:
                break
            (val,) = struct.unpack("<q", msg)
            if val == -1 and fds:
                shm = fds[0]
                s.settimeout(0.5)
            elif fds:
                self.doorbells.setdefault(val, []).append(fds[0])
        if shm is None:
            fail("no shared memory from the server")
        self.sock = s
        size = os.fstat(shm).st_size
        self.m = mmap.mmap(shm, size)
        if self.u32(0) != 0x4D564444:
            fail("bad magic")
        self.rings = []
        for i in range(self.u32(0x14)):
            off = 0x200 + 32 * i
            ring_off, entries, data_off, data_size, slot = struct.unpack_from("<5I", self.m, off)
            self.rings.append(dict(off=ring_off, entries=entries, data=data_off,
                                   size=data_size, slot=slot))

    def u32(self, off):
        return struct.unpack_from("<I", self.m, off)[0]

    def u64(self, off):
        return struct.unpack_from("<Q", self.m, off)[0]

    def put32(self, off, v):
        struct.pack_into("<I", self.m, off, v & 0xFFFFFFFF)

    def kick(self, peer, vector):
        fds = self.doorbells.get(peer, [])
        if vector < len(fds):
            os.write(fds[vector], struct.pack("<Q", 1))

    def backend(self):
        return dict(state=self.u32(0x80), epoch=self.u32(0x84), heartbeat=self.u64(0x88),
                    features=self.u64(0x90), hdr_epoch=self.u32(0x40),
                    capacity=self.u64(0x100), lbs=self.u32(0x108),
                    max_sectors=self.u32(0x110), errors=self.u64(0x98))

    def wait_ready(self, secs=30):
        """Attach as a client does (include/ddvm/abi.h "Sessions"): our ring fields from
        zero, a new frontend_session, ATTACHING at the epoch, a kick; READY once the
        backend is READY at that epoch for our session."""
        end = time.time() + secs
        session = session_epoch = None
        while time.time() < end:
            epoch = self.u32(0x40)
            if session is None or session_epoch != epoch:
                req, rsp = self.rings[0], self.rings[1]
                for off in (req["off"], req["off"] + 4, rsp["off"] + 64, rsp["off"] + 68):
                    self.put32(off, 0)
                session = (self.u32(0xD8) + 1) & 0xFFFFFFFF
                while session in (0, self.u32(0xA0)):
                    session = (session + 1) & 0xFFFFFFFF
                session_epoch = epoch
                self.put32(0xD8, session)
                self.put32(0xC4, epoch)
                self.put32(0xC0, ST_ATTACHING)
                self.kick(BACKEND, 0)
            b = self.backend()
            if b["state"] == ST_READY and b["epoch"] == epoch and self.u32(0xA0) == session:
                self.put32(0xC0, ST_READY)
                self.kick(BACKEND, 0)
                return b
            time.sleep(0.05)
        fail("backend not READY: %r" % self.backend())


class Frontend:
    """Just enough of a client: ring 0 = req (we produce), ring 1 = rsp (we consume)."""

    def __init__(self, ch):
        self.ch = ch
        self.req, self.rsp = ch.rings[0], ch.rings[1]
        self.prod = ch.u32(self.req["off"])
        self.cons = ch.u32(self.rsp["off"] + 64)

    def push(self, rid, sector, off, length, op, flags=0):
        r = self.req
        d = r["off"] + 128 + (self.prod & (r["entries"] - 1)) * 32
        struct.pack_into("<QQIIHHI", self.ch.m, d, rid, sector, off, length, op, flags, 0)
        self.prod = (self.prod + 1) & 0xFFFFFFFF
        self.ch.put32(r["off"], self.prod)  # x86: stores stay in order
        self.ch.kick(BACKEND, 1)

    def pop(self, secs=10):
        r = self.rsp
        end = time.time() + secs
        while time.time() < end:
            if self.ch.u32(r["off"]) != self.cons:
                d = r["off"] + 128 + (self.cons & (r["entries"] - 1)) * 32
                rid, status, length = struct.unpack_from("<QII", self.ch.m, d)
                self.cons = (self.cons + 1) & 0xFFFFFFFF
                self.ch.put32(r["off"] + 64, self.cons)
                return rid, status, length
            time.sleep(0.002)
        return None

    def slot(self, tag):
        return self.req["data"] + tag * self.req["slot"], tag * self.req["slot"]


def expect(fe, name, rid, sector, off, length, op, flags=0, want=S_INVAL):
    fe.push(rid, sector, off, length, op, flags)
    r = fe.pop()
    if r is None:
        fail("%s: no response" % name)
    if r[0] != rid or r[1] != want:
        fail("%s: got id=%#x status=%d, want id=%#x status=%d" % (name, r[0], r[1], rid, want))
    print("PEER-OK %s -> status %d" % (name, want), flush=True)


def good_io(fe, tag=3, seq=0x100):
    ch = fe.ch
    addr, off = fe.slot(tag)
    pattern = os.urandom(4096)
    ch.m[addr:addr + 4096] = pattern
    expect(fe, "good write", (seq << 16) | tag, 8, off, 4096, OP_WRITE, want=S_OK)
    ch.m[addr:addr + 4096] = bytes(4096)
    expect(fe, "good read", ((seq + 1) << 16) | tag, 8, off, 4096, OP_READ, want=S_OK)
    if ch.m[addr:addr + 4096] != pattern:
        fail("read back differs from what was written")
    expect(fe, "flush", ((seq + 2) << 16) | tag, 0, 0, 0, OP_FLUSH, want=S_OK)
    print("PEER-OK data read back intact", flush=True)


def rogue_client(ch):
    b = ch.wait_ready()
    fe = Frontend(ch)
    cap, slot, ents = b["capacity"], fe.req["slot"], fe.req["entries"]
    _, off1 = fe.slot(1)
    print("PEER-OK backend READY capacity=%d entries=%d slot=%d" % (cap, ents, slot), flush=True)
    expect(fe, "unknown op", 1, 0, off1, 512, 77)
    expect(fe, "unknown flag", 1, 0, off1, 512, OP_READ, flags=0x8)
    expect(fe, "len not a multiple of 512", 1, 0, off1, 100, OP_READ)
    expect(fe, "len 0 read", 1, 0, off1, 0, OP_READ)
    expect(fe, "len beyond the slot", 1, 0, off1, slot + 512, OP_READ)
    expect(fe, "sector at capacity", 1, cap, off1, 512, OP_READ)
    expect(fe, "range past the end", 1, cap - 1, off1, 1024, OP_WRITE)
    expect(fe, "sector overflow", 1, 2**64 - 1, off1, 512, OP_READ)
    expect(fe, "sector + len overflow", 1, 2**64 - 2, off1, 4096, OP_WRITE)
    expect(fe, "off not the tag's slot", 1, 0, 0, 512, OP_READ)
    expect(fe, "off past the data area", 1, 0, 0xFFFFFE00, 512, OP_READ)
    expect(fe, "tag beyond the ring", ents + 5, 0, (ents + 5) * slot, 512, OP_READ)
    expect(fe, "flush with a length", 1, 0, 0, 512, OP_FLUSH)
    good_io(fe)
    # ring violation: publish more than a ring's worth
    fe.prod = (fe.prod + ents + 7) & 0xFFFFFFFF
    ch.put32(fe.req["off"], fe.prod)
    ch.kick(BACKEND, 1)
    end = time.time() + 10
    while time.time() < end and ch.backend()["state"] != ST_BROKEN:
        time.sleep(0.05)
    if ch.backend()["state"] != ST_BROKEN:
        fail("backend did not go BROKEN on a ring violation: %r" % ch.backend())
    hb = ch.backend()["heartbeat"]
    time.sleep(0.5)
    if ch.backend()["heartbeat"] == hb:
        fail("backend heartbeat stopped")
    print("PEER-OK ring violation -> backend BROKEN, heartbeat still advancing", flush=True)


def resume(ch):
    b = ch.wait_ready()
    print("PEER-OK backend READY again at epoch %d" % b["epoch"], flush=True)
    good_io(Frontend(ch), seq=0x200)


def scribble(ch, secs, everything):
    rnd = random.Random(1234)
    end = time.time() + secs
    n = 0
    spans = []
    for r in ch.rings:
        spans.append((r["off"], 128 + 32 * r["entries"]))
    if everything:
        spans = [(0, len(ch.m))]
    while time.time() < end:
        for start, length in spans:
            for _ in range(64):
                o = start + rnd.randrange(length // 4) * 4
                ch.put32(o, rnd.getrandbits(32))
        ch.kick(BACKEND, 1)
        ch.kick(FRONTEND, 1)
        ch.kick(BACKEND, 0)
        ch.kick(FRONTEND, 0)
        n += 1
        time.sleep(0.01)
    print("PEER-OK scribbled %d rounds over %s" % (n, "the region" if everything else "the rings"),
          flush=True)


def heartbeat_check(ch):
    b1 = ch.backend()
    time.sleep(0.5)
    b2 = ch.backend()
    if b2["heartbeat"] == b1["heartbeat"]:
        fail("driver VM heartbeat stopped at %d" % b1["heartbeat"])
    print("PEER-OK heartbeat %d -> %d" % (b1["heartbeat"], b2["heartbeat"]), flush=True)


def wait_file(path, secs=300):
    end = time.time() + secs
    while not os.path.exists(path):
        if time.time() > end:
            fail("timed out waiting for " + path)
        time.sleep(0.05)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    # One connection for all steps: QEMU 7.2's ivshmem corrupts its heap when a peer id
    # that left connects again, so the host peer must not reconnect.
    ch = Channel(sys.argv[1])
    for step in sys.argv[2:]:
        cmd, _, arg = step.partition("=")
        if cmd == "rogue-client":
            rogue_client(ch)
        elif cmd == "bump":
            with open(arg) as f:
                os.kill(int(f.read()), signal.SIGUSR1)
        elif cmd == "resume":
            resume(ch)
        elif cmd == "scribble":
            scribble(ch, float(arg), False)
        elif cmd == "scribble-all":
            scribble(ch, float(arg), True)
        elif cmd == "heartbeat":
            heartbeat_check(ch)
        elif cmd == "wait":
            wait_file(arg)
        elif cmd == "touch":
            open(arg, "w").close()
        else:
            print(__doc__)
            sys.exit(2)
    print("PEER-DONE", flush=True)


if __name__ == "__main__":
    main()
