#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A hostile client for ddvm's tests: write into a LIVE channel what its client could.

    hostile_writer.py HOST_SOCK [--duration S] [--period S] [--kinds K1,K2,...] [--seed N]

Connects to a channel's host socket (the supervisor's RUNDIR/channels/CHANNEL.host.sock,
or ddvm-chan's host.sock) with the ivshmem-server protocol and maps the channel's
region. The region is the same memory the channel's client maps, so every write here
is one the client itself could make: the test stands for a client gone hostile. For
DURATION seconds it rotates through the KINDS, PERIOD seconds each, re-applying each
one every few milliseconds and ringing doorbells, then leaves. Kinds:

  broken     frontend_state = BROKEN at the current epoch (0x40), whenever not so: the
             client "reports" a protocol violation by the driver VM
  backend    backend_state = BROKEN at the current epoch, whenever not so: the client
             forges the translation module's report
  heartbeat  writes one constant heartbeat (0x88) every millisecond: the client freezes
             the driver VM's sign of life in its own region
  stall      backend_state and frontend_state = READY at the current epoch (the latter
             hiding the client's own complaint) and one request left published in the
             tx ring (prod = cons + 1) that nobody consumes: a forged request stall
  desc       garbage descriptors published into both rings (tx as the producer it is, rx
             as if it were the backend), doorbells rung
  index      ring indices and event indices of both rings jump by 2^31
  layout     the header's identity and layout lie: magic, ABI, region_size, kind,
             num_rings, num_queues and the whole ring table, random each time
  control    the supervisor's control line lies: epoch (+1, -1, random), peer ids,
             ctl_flags (SHUTDOWN, BACKEND_GONE), backend_target
  noise      random bytes over both status lines, the device description and both
             rings' control blocks and descriptors

Output (flushed, one line each): "hostile_writer: connected ...", "hostile_writer:
+SECONDS kind K" at each switch, and at the end "hostile_writer: done ..." with what
it forged. SIGTERM or SIGINT ends it early (still with the summary).

It stays connected the whole time and keeps track of the peers the server announces
(a restarted driver VM has a fresh peer id): QEMU 7.2's ivshmem frees a departed peer's
eventfd array without forgetting it, so a tool that reconnected would reuse nothing,
but one connection is all it needs. Offsets are those of include/ddvm/abi.h; the ring
geometry is copied once at connect time, before anything is written, so nothing this
tool scribbles can make it write outside the region.
"""
import argparse
import array
import errno
import mmap
import os
import random
import signal
import socket
import struct
import sys
import time

# include/ddvm/abi.h
MAGIC, ABI_MAJOR, REGION_SIZE, KIND, NUM_RINGS, NUM_QUEUES = 0x00, 0x04, 0x08, 0x10, 0x14, 0x18
EPOCH, BACKEND_PEER, FRONTEND_PEER, CTL_FLAGS, BACKEND_TARGET = 0x40, 0x44, 0x46, 0x48, 0x50
BACKEND_STATE, BACKEND_EPOCH, HEARTBEAT = 0x80, 0x84, 0x88
FRONTEND_STATE, FRONTEND_EPOCH = 0xC0, 0xC4
DEVICE, RING_TABLE, HDR_SIZE = 0x100, 0x200, 0x1000
STATE_READY, STATE_BROKEN = 2, 3
CTL_SHUTDOWN, CTL_BACKEND_GONE = 1, 2
# struct ddvm_ring_ctl: prod +0, cons_event +4, cons +64, prod_event +68, descriptors +128
PROD, CONS_EVENT, CONS, PROD_EVENT, DESCS = 0, 4, 64, 68, 128
DESC_SIZE = 32

KINDS = ["broken", "heartbeat", "desc", "index", "backend", "stall", "layout", "control",
         "noise"]
# how often a kind is re-applied (s): the heartbeat must be overwritten faster than the
# translation module advances it (every 100 ms) for the supervisor to see it frozen
TICK = {"heartbeat": 0.001, "broken": 0.005, "backend": 0.005, "stall": 0.005}
TICK_DEFAULT = 0.02


def log(msg):
    print(f"hostile_writer: {msg}", flush=True)


def recv_msg(s):
    fds = array.array("i")
    msg, anc, _, _ = s.recvmsg(8, socket.CMSG_LEN(4 * fds.itemsize))
    if len(msg) != 8:
        return None, -1
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    for extra in fds[1:]:
        os.close(extra)
    return struct.unpack("<q", msg)[0], (fds[0] if fds else -1)


class Channel:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        version, _ = recv_msg(self.sock)
        self.me, _ = recv_msg(self.sock)
        _, shm = recv_msg(self.sock)
        if version != 0 or shm < 0:
            sys.exit("hostile_writer: not an ivshmem server")
        self.size = os.fstat(shm).st_size
        self.mem = mmap.mmap(shm, self.size)
        os.close(shm)
        self.doorbells = {}  # peer id -> [eventfd per vector]
        self.peers_seen = set()
        self.sock.setblocking(False)
        # the server sends the other peers' eventfds right after the shm: collect them
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if not self.poll_server():
                time.sleep(0.01)
        # the true geometry, copied once before anything is written (abi.h)
        if self.size < HDR_SIZE or self.r32(MAGIC) != 0x4D564444:
            sys.exit("hostile_writer: the region has no valid header to start from")
        self.nrings = min(self.r32(NUM_RINGS), 16)
        self.rings = []
        for i in range(self.nrings):
            off, entries = struct.unpack_from("<II", self.mem, RING_TABLE + 32 * i)
            if entries == 0 or entries & (entries - 1) or off < HDR_SIZE or \
                    off + DESCS + DESC_SIZE * entries > self.size:
                sys.exit(f"hostile_writer: ring {i} of the header is not sane to start from")
            self.rings.append((off, entries))
        if self.nrings < 2:
            sys.exit("hostile_writer: fewer than 2 rings")

    def poll_server(self):
        """Consume what the server announced; True if there was something."""
        got = False
        while True:
            try:
                peer, fd = recv_msg(self.sock)
            except BlockingIOError:
                return got
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return got
                raise
            if peer is None:
                log("the server closed the connection")
                raise SystemExit(1)
            got = True
            if fd >= 0:
                if peer != self.me:
                    self.doorbells.setdefault(peer, []).append(fd)
                    self.peers_seen.add(peer)
                else:
                    os.close(fd)
            else:  # the peer left
                for f in self.doorbells.pop(peer, []):
                    os.close(f)

    def r32(self, off):
        return struct.unpack_from("<I", self.mem, off)[0]

    def w32(self, off, v):
        struct.pack_into("<I", self.mem, off, v & 0xFFFFFFFF)

    def r64(self, off):
        return struct.unpack_from("<Q", self.mem, off)[0]

    def w64(self, off, v):
        struct.pack_into("<Q", self.mem, off, v & 0xFFFFFFFFFFFFFFFF)

    def kick(self, vectors=None):
        """Ring the given vectors (default all) of every other peer."""
        n = 0
        for fds in self.doorbells.values():
            for v, fd in enumerate(fds):
                if vectors is None or v in vectors:
                    try:
                        os.write(fd, struct.pack("<Q", 1))
                        n += 1
                    except OSError:
                        pass
        return n


class Writer:
    def __init__(self, ch, rnd):
        self.ch = ch
        self.rnd = rnd
        self.count = {}  # kind -> forged writes
        self.epochs = set()
        self.kicks = 0
        self.last_kick = 0.0

    def bump(self, kind, n=1):
        self.count[kind] = self.count.get(kind, 0) + n

    def kick(self, vectors=None, every=0.0):
        now = time.monotonic()
        if now - self.last_kick >= every:
            self.kicks += self.ch.kick(vectors)
            self.last_kick = now

    def garbage_desc(self):
        r = self.rnd
        return struct.pack("<IIBBHHHHHIQ", r.choice([0xFFFF0000 + r.randrange(0xFFFF),
                                                     r.getrandbits(32), 0]),
                           r.choice([0x7FFFFFFF, 0xFFFFFFFF, r.getrandbits(32)]),
                           r.getrandbits(8), r.getrandbits(8), r.getrandbits(16),
                           r.getrandbits(16), r.getrandbits(16), r.getrandbits(16),
                           r.getrandbits(16), r.getrandbits(32), r.getrandbits(64))

    def start(self, kind):
        ch = self.ch
        if kind == "heartbeat":
            self.frozen = ch.r64(HEARTBEAT)
        self.step = 0

    def tick(self, kind):
        ch, r = self.ch, self.rnd
        self.step += 1
        epoch = ch.r32(EPOCH)
        self.epochs.add(epoch)
        tx, tx_n = ch.rings[0]
        rx, rx_n = ch.rings[1]
        if kind == "broken":
            if ch.r32(FRONTEND_STATE) != STATE_BROKEN or ch.r32(FRONTEND_EPOCH) != epoch:
                ch.w32(FRONTEND_EPOCH, epoch)
                ch.w32(FRONTEND_STATE, STATE_BROKEN)
                self.bump(kind)
                self.kick([0])
        elif kind == "backend":
            if ch.r32(BACKEND_STATE) != STATE_BROKEN or ch.r32(BACKEND_EPOCH) != epoch:
                ch.w32(BACKEND_EPOCH, epoch)
                ch.w32(BACKEND_STATE, STATE_BROKEN)
                self.bump(kind)
                self.kick([0])
        elif kind == "heartbeat":
            if ch.r64(HEARTBEAT) != self.frozen:
                ch.w64(HEARTBEAT, self.frozen)
                self.bump(kind)
        elif kind == "stall":
            # both sides "ready" (hiding the client's own complaint), work left waiting
            for st, ep in ((BACKEND_STATE, BACKEND_EPOCH), (FRONTEND_STATE, FRONTEND_EPOCH)):
                if ch.r32(st) != STATE_READY or ch.r32(ep) != epoch:
                    ch.w32(ep, epoch)
                    ch.w32(st, STATE_READY)
                    self.bump(kind)
            prod, cons = ch.r32(tx + PROD), ch.r32(tx + CONS)
            if prod == cons:
                ch.w32(tx + PROD, cons + 1)
                self.bump(kind)
        elif kind == "desc":
            for off, n, vec in ((tx, tx_n, 1), (rx, rx_n, 1)):
                prod = ch.r32(off + PROD)
                d = off + DESCS + DESC_SIZE * (prod % n)
                ch.mem[d:d + DESC_SIZE] = self.garbage_desc()
                ch.w32(off + PROD, prod + r.randrange(1, 4))
                self.bump(kind)
            self.kick([1])
        elif kind == "index":
            off = (tx, rx)[self.step % 2]
            field = (PROD, CONS, CONS_EVENT, PROD_EVENT)[(self.step // 2) % 4]
            ch.w32(off + field, ch.r32(off + field) + (1 << 31))
            self.bump(kind)
            self.kick([1])
        elif kind == "layout":
            ch.w32(MAGIC, r.choice([r.getrandbits(32), 0, 0x4D564444]))
            ch.w32(ABI_MAJOR, r.getrandbits(32))
            ch.w64(REGION_SIZE, r.choice([1 << 40, 0, 0xFFFFFFFFFFFFF000, ch.size * 2,
                                          r.getrandbits(64)]))
            ch.w32(KIND, r.choice([0, 2, 7, r.getrandbits(32)]))
            ch.w32(NUM_RINGS, r.choice([0, 16, 17, r.getrandbits(32)]))
            ch.w32(NUM_QUEUES, r.choice([0, 8, 200, r.getrandbits(32)]))
            for i in range(16):
                e = RING_TABLE + 32 * i
                ch.mem[e:e + 32] = struct.pack(
                    "<IIIIIHHII", r.choice([0, 64, ch.size - 64, r.getrandbits(32)]),
                    r.choice([0, 3, 4096, 1 << 31, r.getrandbits(32)]),
                    r.choice([0, 0x1000, r.getrandbits(32)]), r.getrandbits(32),
                    r.choice([0, 1 << 30, r.getrandbits(32)]), r.getrandbits(16),
                    r.getrandbits(16), 0, 0)
            self.bump(kind)
            self.kick([0], every=0.2)
        elif kind == "control":
            ch.w32(EPOCH, r.choice([epoch + 1, epoch - 1, r.getrandbits(32), 0]))
            struct.pack_into("<HH", ch.mem, BACKEND_PEER, r.getrandbits(16), r.getrandbits(16))
            ch.w32(CTL_FLAGS, r.choice([CTL_SHUTDOWN, CTL_BACKEND_GONE, 3, r.getrandbits(32)]))
            ch.mem[BACKEND_TARGET:BACKEND_TARGET + 32] = os.urandom(32)
            self.bump(kind)
            self.kick([0], every=0.2)
        elif kind == "noise":
            ch.mem[BACKEND_STATE:RING_TABLE] = os.urandom(RING_TABLE - BACKEND_STATE)
            for off, n in ((tx, tx_n), (rx, rx_n)):
                ch.mem[off:off + DESCS + DESC_SIZE * n] = os.urandom(DESCS + DESC_SIZE * n)
            self.bump(kind)
            self.kick(every=0.1)
        else:
            raise ValueError(kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1].strip())
    ap.add_argument("sock")
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--period", type=float, default=6.0)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    kinds = [k for k in a.kinds.split(",") if k]
    for k in kinds:
        if k not in KINDS:
            sys.exit(f"hostile_writer: unknown kind {k} (kinds: {', '.join(KINDS)})")
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ch = Channel(a.sock)
    w = Writer(ch, random.Random(seed))
    log(f"connected as peer {ch.me}, region {ch.size} bytes, {ch.nrings} rings, "
        f"epoch {ch.r32(EPOCH)}, doorbells of peers {sorted(ch.doorbells)}, seed {seed}")
    t0 = time.monotonic()
    kind, kind_ends = None, 0.0
    i = 0
    while not stop:
        now = time.monotonic()
        if now - t0 >= a.duration:
            break
        if now >= kind_ends:
            kind = kinds[i % len(kinds)]
            i += 1
            kind_ends = min(now + a.period, t0 + a.duration)
            w.start(kind)
            log(f"+{now - t0:.1f}s kind {kind} (epoch {ch.r32(EPOCH)}, "
                f"peers {sorted(ch.doorbells)})")
        ch.poll_server()
        w.tick(kind)
        time.sleep(TICK.get(kind, TICK_DEFAULT))
    done = ", ".join(f"{k} {w.count.get(k, 0)}" for k in kinds)
    log(f"done after {time.monotonic() - t0:.1f}s: forged writes per kind: {done}; "
        f"doorbells rung {w.kicks}; epochs seen {sorted(w.epochs)[:8]}"
        f"{'...' if len(w.epochs) > 8 else ''}; peers seen {sorted(ch.peers_seen)}")
    ch.sock.close()


if __name__ == "__main__":
    main()
