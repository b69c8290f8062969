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
import os
import random
import signal
import sys
import time

from ivshmem_peer import Peer, abi, pack, unpack

# ddvm-chan gives the driver VM and the client these peer ids (tools/ddvm-chan.c)
BACKEND, FRONTEND = abi.SIDE_BACKEND, abi.SIDE_FRONTEND
HDR, RING = abi.region_hdr, abi.ring_ctl
S_OK, S_INVAL = abi.BLK_S_OK, abi.BLK_S_INVAL


def fail(msg):
    print("PEER-FAIL " + msg, flush=True)
    sys.exit(1)


class Channel(Peer):
    def __init__(self, d):
        super().__init__(os.path.join(d, "host.sock"))
        if self.hdr("magic") != abi.MAGIC:
            fail("bad magic")
        self.rings = self.ring_table()

    def put32(self, off, v):
        """Garbage at a raw offset (scribble)."""
        self.mem[off:off + 4] = (v & 0xFFFFFFFF).to_bytes(4, "little")

    def backend(self):
        dev = unpack(abi.blk_config, self.mem, HDR.device)
        return dict(state=self.hdr("backend_state"), epoch=self.hdr("backend_epoch"),
                    heartbeat=self.hdr("heartbeat"), features=self.hdr("features"),
                    hdr_epoch=self.hdr("epoch"), capacity=dev["capacity"],
                    lbs=dev["logical_block"], max_sectors=dev["max_sectors"],
                    errors=self.hdr("backend_errors"))

    def wait_ready(self, secs=30):
        """Attach as a client does (include/ddvm/abi.h "Sessions"): our ring fields from
        zero, a new frontend_session, ATTACHING at the epoch, a kick; READY once the
        backend is READY at that epoch for our session."""
        end = time.time() + secs
        session = session_epoch = None
        while time.time() < end:
            epoch = self.hdr("epoch")
            if session is None or session_epoch != epoch:
                req, rsp = self.rings[0], self.rings[1]
                for base, field in ((req, "prod"), (req, "cons_event"), (rsp, "cons"),
                                    (rsp, "prod_event")):
                    self.put(RING, field, 0, base["ring_off"])
                session = (self.hdr("frontend_session") + 1) & 0xFFFFFFFF
                while session in (0, self.hdr("backend_session")):
                    session = (session + 1) & 0xFFFFFFFF
                session_epoch = epoch
                self.set_hdr("frontend_session", session)
                self.set_hdr("frontend_epoch", epoch)
                self.set_hdr("frontend_state", abi.STATE_ATTACHING)
                self.kick(BACKEND, abi.VECTOR_CONTROL)
            b = self.backend()
            if b["state"] == abi.STATE_READY and b["epoch"] == epoch and \
                    self.hdr("backend_session") == session:
                self.set_hdr("frontend_state", abi.STATE_READY)
                self.kick(BACKEND, abi.VECTOR_CONTROL)
                return b
            time.sleep(0.05)
        fail("backend not READY: %r" % self.backend())


def desc_addr(r, index):
    return r["ring_off"] + abi.RING_CTL_SIZE + (index & (r["entries"] - 1)) * abi.DESC_SIZE


class Frontend:
    """Just enough of a client: ring 0 = req (we produce), ring 1 = rsp (we consume)."""

    def __init__(self, ch):
        self.ch = ch
        self.req, self.rsp = ch.rings[0], ch.rings[1]
        self.prod = ch.get(RING, "prod", self.req["ring_off"])
        self.cons = ch.get(RING, "cons", self.rsp["ring_off"])

    def push(self, rid, sector, off, length, op, flags=0):
        d = desc_addr(self.req, self.prod)
        self.ch.mem[d:d + abi.DESC_SIZE] = pack(abi.blk_req, id=rid, sector=sector, off=off,
                                                len=length, op=op, flags=flags)
        self.prod = (self.prod + 1) & 0xFFFFFFFF
        self.ch.put(RING, "prod", self.prod, self.req["ring_off"])  # x86: stores in order
        self.ch.kick(BACKEND, abi.VECTOR_QUEUE(0))

    def pop(self, secs=10):
        end = time.time() + secs
        while time.time() < end:
            if self.ch.get(RING, "prod", self.rsp["ring_off"]) != self.cons:
                rsp = unpack(abi.blk_rsp, self.ch.mem, desc_addr(self.rsp, self.cons))
                self.cons = (self.cons + 1) & 0xFFFFFFFF
                self.ch.put(RING, "cons", self.cons, self.rsp["ring_off"])
                return rsp["id"], rsp["status"], rsp["len"]
            time.sleep(0.002)
        return None

    def slot(self, tag):
        return (self.req["data_off"] + tag * self.req["slot_size"],
                tag * self.req["slot_size"])


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
    ch.mem[addr:addr + 4096] = pattern
    expect(fe, "good write", (seq << 16) | tag, 8, off, 4096, abi.BLK_OP_WRITE, want=S_OK)
    ch.mem[addr:addr + 4096] = bytes(4096)
    expect(fe, "good read", ((seq + 1) << 16) | tag, 8, off, 4096, abi.BLK_OP_READ, want=S_OK)
    if ch.mem[addr:addr + 4096] != pattern:
        fail("read back differs from what was written")
    expect(fe, "flush", ((seq + 2) << 16) | tag, 0, 0, 0, abi.BLK_OP_FLUSH, want=S_OK)
    print("PEER-OK data read back intact", flush=True)


def rogue_client(ch):
    b = ch.wait_ready()
    fe = Frontend(ch)
    cap, slot, ents = b["capacity"], fe.req["slot_size"], fe.req["entries"]
    _, off1 = fe.slot(1)
    print("PEER-OK backend READY capacity=%d entries=%d slot=%d" % (cap, ents, slot), flush=True)
    expect(fe, "unknown op", 1, 0, off1, 512, 77)
    expect(fe, "unknown flag", 1, 0, off1, 512, abi.BLK_OP_READ, flags=0x8)
    expect(fe, "len not a multiple of 512", 1, 0, off1, 100, abi.BLK_OP_READ)
    expect(fe, "len 0 read", 1, 0, off1, 0, abi.BLK_OP_READ)
    expect(fe, "len beyond the slot", 1, 0, off1, slot + 512, abi.BLK_OP_READ)
    expect(fe, "sector at capacity", 1, cap, off1, 512, abi.BLK_OP_READ)
    expect(fe, "range past the end", 1, cap - 1, off1, 1024, abi.BLK_OP_WRITE)
    expect(fe, "sector overflow", 1, 2**64 - 1, off1, 512, abi.BLK_OP_READ)
    expect(fe, "sector + len overflow", 1, 2**64 - 2, off1, 4096, abi.BLK_OP_WRITE)
    expect(fe, "off not the tag's slot", 1, 0, 0, 512, abi.BLK_OP_READ)
    expect(fe, "off past the data area", 1, 0, 0xFFFFFE00, 512, abi.BLK_OP_READ)
    expect(fe, "tag beyond the ring", ents + 5, 0, (ents + 5) * slot, 512, abi.BLK_OP_READ)
    expect(fe, "flush with a length", 1, 0, 0, 512, abi.BLK_OP_FLUSH)
    good_io(fe)
    # ring violation: publish more than a ring's worth
    fe.prod = (fe.prod + ents + 7) & 0xFFFFFFFF
    ch.put(RING, "prod", fe.prod, fe.req["ring_off"])
    ch.kick(BACKEND, abi.VECTOR_QUEUE(0))
    end = time.time() + 10
    while time.time() < end and ch.backend()["state"] != abi.STATE_BROKEN:
        time.sleep(0.05)
    if ch.backend()["state"] != abi.STATE_BROKEN:
        fail("backend did not go BROKEN on a ring violation: %r" % ch.backend())
    if not heartbeat_moves(ch):
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
        spans.append((r["ring_off"], abi.RING_BYTES(r["entries"])))
    if everything:
        spans = [(0, len(ch.mem))]
    while time.time() < end:
        for start, length in spans:
            for _ in range(64):
                o = start + rnd.randrange(length // 4) * 4
                ch.put32(o, rnd.getrandbits(32))
        for peer in (BACKEND, FRONTEND):
            ch.kick(peer, abi.VECTOR_QUEUE(0))
            ch.kick(peer, abi.VECTOR_CONTROL)
        n += 1
        time.sleep(0.01)
    print("PEER-OK scribbled %d rounds over %s" % (n, "the region" if everything else "the rings"),
          flush=True)


def heartbeat_moves(ch, within=3.5):
    """Whether hdr.heartbeat changes within `within` seconds: the translation module
    beats once a second (BLKBACK_HEARTBEAT_MS), a loaded host may delay one beat."""
    hb = ch.backend()["heartbeat"]
    end = time.time() + within
    while time.time() < end:
        if ch.backend()["heartbeat"] != hb:
            return True
        time.sleep(0.05)
    return False


def heartbeat_check(ch):
    b1 = ch.backend()
    if not heartbeat_moves(ch):
        fail("driver VM heartbeat stopped at %d" % b1["heartbeat"])
    print("PEER-OK heartbeat %d -> %d" % (b1["heartbeat"], ch.backend()["heartbeat"]), flush=True)


def bump(ch, pidfile, secs=10):
    """SIGUSR1 to ddvm-chan, then wait until the header's epoch moved: the signal is
    taken in ddvm-chan's own time, and a step that reads the header before it would
    attach at the old epoch, which the bump then takes away (the supervisor's epoch
    bump is done before anything else looks)."""
    old = ch.hdr("epoch")
    with open(pidfile) as f:
        os.kill(int(f.read()), signal.SIGUSR1)
    end = time.time() + secs
    while ch.hdr("epoch") == old:
        if time.time() > end:
            fail("ddvm-chan did not bump the epoch from %d" % old)
        time.sleep(0.005)
    print("PEER-OK epoch %d -> %d" % (old, ch.hdr("epoch")), flush=True)


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
            bump(ch, arg)
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
