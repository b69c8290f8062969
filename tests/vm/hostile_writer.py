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

  broken     frontend_state = BROKEN at the current epoch, whenever not so: the
             client "reports" a protocol violation by the driver VM
  backend    backend_state = BROKEN at the current epoch, whenever not so: the client
             forges the translation module's report
  heartbeat  writes one constant heartbeat every millisecond: the client freezes
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
  identity   backend_target = --target (e.g. another client's disk), whenever not so,
             every millisecond: what the translation module would open if it took the
             channel's identity from the header when it probes (a restart, a takeover)
  spare      backend_peer = --peer (a warm spare's id: 7, 11, ...), whenever not so,
             every millisecond, and the control vector of every peer it may ring, every
             50 ms: what would make a spare's translation module serve beside the
             driver VM, or leave standby, if it judged by the header
  unanswered blk: both states READY at the current epoch and the request ring's cons
             one past the response ring's prod, every 20 ms: the backend "took" a
             request it never answered, what the supervisor reads as a hung disk driver
             (a driver VM whose sole client this is gets restarted for it)
  forged_once backend_state = ABSENT and backend_epoch one behind, ONCE (then nothing
             but the doorbell): the translation module must write its own status back
             (a heartbeat later), or the supervisor acts on the forgery from then on
  sessions   a new session asked for every tick (frontend ATTACHING at the current
             epoch with frontend_session + 1, the control vector rung): the most
             resets, and log lines, the translation module grants a client
  noise      random bytes over both status lines, the device description and both
             rings' control blocks and descriptors
  storm      every doorbell of every peer, as fast as one host thread can ring them
             (an interrupt storm aimed at the driver VM), nothing else written
  stormidx   storm's doorbells, each after moving the producer index of the request
             (tx) ring by one: a doorbell "with work" every time to a guard that only
             looked at the indices (the channel breaks at once; the storm goes on)
  spin       the same loop as storm without ringing: a control for what storm's host
             CPU alone costs the others

Output (flushed, one line each): "hostile_writer: connected ...", "hostile_writer:
+SECONDS kind K" at each switch, and at the end "hostile_writer: done ..." with what
it forged. SIGTERM or SIGINT ends it early (still with the summary).

It stays connected the whole time and keeps track of the peers the server announces
(a restarted driver VM has a fresh peer id): QEMU 7.2's ivshmem frees a departed peer's
eventfd array without forgetting it, so a tool that reconnected would reuse nothing,
but one connection is all it needs. The peer and the field offsets are
tests/vm/ivshmem_peer.py's (generated from include/ddvm/); the ring geometry is copied
once at connect time, before anything is written, so nothing this tool scribbles can
make it write outside the region.
"""
import argparse
import os
import random
import signal
import sys
import time

from ivshmem_peer import Peer, ProtocolError, abi, pack

HDR, RING = abi.region_hdr, abi.ring_ctl

KINDS = ["broken", "heartbeat", "desc", "index", "backend", "stall", "layout", "control",
         "noise", "storm", "stormidx", "spin"]
# kinds only on request (not in the default rotation): they need an argument or suit
# one kind of channel only
EXTRA_KINDS = ["identity", "spare", "unanswered", "forged_once", "sessions"]
# how often a kind is re-applied (s): the heartbeat must be overwritten faster than the
# translation module advances it (every 100 ms) for the supervisor to see it frozen
TICK = {"heartbeat": 0.001, "spare": 0.001, "broken": 0.005, "backend": 0.005, "stall": 0.005, "storm": 0, "stormidx": 0, "spin": 0}
TICK_DEFAULT = 0.02


def log(msg):
    print(f"hostile_writer: {msg}", flush=True)


class Channel(Peer):
    def __init__(self, path):
        try:
            super().__init__(path, wait=1.0)
        except ProtocolError as e:
            sys.exit(f"hostile_writer: {e}")
        # the true geometry, copied once before anything is written
        if self.size < abi.HDR_SIZE or self.hdr("magic") != abi.MAGIC:
            sys.exit("hostile_writer: the region has no valid header to start from")
        self.rings = []
        for i, r in enumerate(self.ring_table()):
            off, entries = r["ring_off"], r["entries"]
            if entries == 0 or entries & (entries - 1) or off < abi.HDR_SIZE or \
                    off + abi.RING_BYTES(entries) > self.size:
                sys.exit(f"hostile_writer: ring {i} of the header is not sane to start from")
            self.rings.append((off, entries))
        self.nrings = len(self.rings)
        if self.nrings < 2:
            sys.exit("hostile_writer: fewer than 2 rings")

    def poll_server(self):
        self.poll()
        if self.closed:
            log("the server closed the connection")
            raise SystemExit(1)


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
            self.kicks += self.ch.kick_all(vectors)
            self.last_kick = now

    def garbage_desc(self):
        r = self.rnd
        return pack(abi.net_desc, r.randbytes(abi.DESC_SIZE),
                    off=r.choice([0xFFFF0000 + r.randrange(0xFFFF), r.getrandbits(32), 0]),
                    len=r.choice([0x7FFFFFFF, 0xFFFFFFFF, r.getrandbits(32)]))

    def both_ready(self, epoch):
        """Both states READY at EPOCH (whichever side says otherwise); True if written."""
        wrote = False
        for side in ("backend", "frontend"):
            st, ep = side + "_state", side + "_epoch"
            if self.ch.hdr(st) != abi.STATE_READY or self.ch.hdr(ep) != epoch:
                self.ch.set_hdr(ep, epoch)
                self.ch.set_hdr(st, abi.STATE_READY)
                wrote = True
        return wrote

    def start(self, kind):
        if kind == "heartbeat":
            self.frozen = self.ch.hdr("heartbeat")
        self.step = 0

    def tick(self, kind):
        ch, r = self.ch, self.rnd
        self.step += 1
        epoch = ch.hdr("epoch")
        self.epochs.add(epoch)
        tx, tx_n = ch.rings[0]
        rx, rx_n = ch.rings[1]
        queue, control = abi.VECTOR_QUEUE(0), abi.VECTOR_CONTROL
        if kind in ("broken", "backend"):
            side = "frontend" if kind == "broken" else "backend"
            st, ep = side + "_state", side + "_epoch"
            if ch.hdr(st) != abi.STATE_BROKEN or ch.hdr(ep) != epoch:
                ch.set_hdr(ep, epoch)
                ch.set_hdr(st, abi.STATE_BROKEN)
                self.bump(kind)
                self.kick([control])
        elif kind == "heartbeat":
            if ch.hdr("heartbeat") != self.frozen:
                ch.set_hdr("heartbeat", self.frozen)
                self.bump(kind)
        elif kind == "stall":
            # both sides "ready" (hiding the client's own complaint), work left waiting
            if self.both_ready(epoch):
                self.bump(kind)
            prod, cons = ch.get(RING, "prod", tx), ch.get(RING, "cons", tx)
            if prod == cons:
                ch.put(RING, "prod", cons + 1, tx)
                self.bump(kind)
        elif kind == "unanswered":
            self.both_ready(epoch)
            want = (ch.get(RING, "prod", rx) + 1) & 0xFFFFFFFF
            if ch.get(RING, "cons", tx) != want:
                ch.put(RING, "cons", want, tx)
                self.bump(kind)
        elif kind == "desc":
            for off, n in ((tx, tx_n), (rx, rx_n)):
                prod = ch.get(RING, "prod", off)
                d = off + abi.RING_CTL_SIZE + abi.DESC_SIZE * (prod % n)
                ch.mem[d:d + abi.DESC_SIZE] = self.garbage_desc()
                ch.put(RING, "prod", prod + r.randrange(1, 4), off)
                self.bump(kind)
            self.kick([queue])
        elif kind == "index":
            off = (tx, rx)[self.step % 2]
            field = ("prod", "cons", "cons_event", "prod_event")[(self.step // 2) % 4]
            ch.put(RING, field, ch.get(RING, field, off) + (1 << 31), off)
            self.bump(kind)
            self.kick([queue])
        elif kind == "layout":
            ch.set_hdr("magic", r.choice([r.getrandbits(32), 0, abi.MAGIC]))
            ch.mem[HDR.abi_major:HDR.abi_major + 4] = r.randbytes(4)  # major and minor
            ch.set_hdr("region_size", r.choice([1 << 40, 0, 0xFFFFFFFFFFFFF000, ch.size * 2,
                                                r.getrandbits(64)]))
            ch.set_hdr("kind", r.choice([abi.KIND_NONE, abi.KIND_BLK, 7, r.getrandbits(32)]))
            ch.set_hdr("num_rings", r.choice([0, abi.MAX_RINGS, abi.MAX_RINGS + 1,
                                              r.getrandbits(32)]))
            ch.set_hdr("num_queues", r.choice([0, abi.MAX_RINGS // 2, 200, r.getrandbits(32)]))
            for i in range(abi.MAX_RINGS):
                e = HDR.rings + abi.ring_layout.SIZE * i
                ch.mem[e:e + abi.ring_layout.SIZE] = pack(
                    abi.ring_layout,
                    ring_off=r.choice([0, 64, ch.size - 64, r.getrandbits(32)]),
                    entries=r.choice([0, 3, abi.RING_MAX_ENTRIES, 1 << 31, r.getrandbits(32)]),
                    data_off=r.choice([0, abi.HDR_SIZE, r.getrandbits(32)]),
                    data_size=r.getrandbits(32),
                    slot_size=r.choice([0, 1 << 30, r.getrandbits(32)]),
                    producer=r.getrandbits(16), vector=r.getrandbits(16))
            self.bump(kind)
            self.kick([control], every=0.2)
        elif kind == "control":
            ch.set_hdr("epoch", r.choice([epoch + 1, epoch - 1, r.getrandbits(32), 0]))
            ch.set_hdr("backend_peer", r.getrandbits(16))
            ch.set_hdr("frontend_peer", r.getrandbits(16))
            ch.set_hdr("ctl_flags", r.choice([abi.CTL_SHUTDOWN, abi.CTL_BACKEND_GONE,
                                              abi.CTL_SHUTDOWN | abi.CTL_BACKEND_GONE,
                                              r.getrandbits(32)]))
            ch.set_hdr("backend_target", os.urandom(HDR.fields["backend_target"][1]))
            self.bump(kind)
            self.kick([control], every=0.2)
        elif kind == "identity":
            n = HDR.fields["backend_target"][1]
            want = self.target.encode()[:n - 1].ljust(n, b"\0")
            off = HDR.backend_target
            if bytes(ch.mem[off:off + n]) != want:
                ch.mem[off:off + n] = want
                self.bump(kind)
        elif kind == "spare":
            if ch.hdr("backend_peer") != self.peer:
                ch.set_hdr("backend_peer", self.peer)
                self.bump(kind)
            self.kick([control], every=0.05)
        elif kind == "forged_once":
            if not self.count.get(kind):
                ch.set_hdr("backend_state", abi.STATE_ABSENT)
                ch.set_hdr("backend_epoch", (epoch - 1) & 0xFFFFFFFF)
                self.bump(kind)
                self.kick([control])
        elif kind == "sessions":
            ch.set_hdr("frontend_epoch", epoch)
            ch.set_hdr("frontend_session", (ch.hdr("frontend_session") + 1) & 0xFFFFFFFF or 1)
            ch.set_hdr("frontend_state", abi.STATE_ATTACHING)
            self.bump(kind)
            self.kick([control])
        elif kind == "noise":
            # both status lines and the device description: everything up to the ring table
            ch.mem[HDR.backend_state:HDR.rings] = os.urandom(HDR.rings - HDR.backend_state)
            for off, n in ((tx, tx_n), (rx, rx_n)):
                ch.mem[off:off + abi.RING_BYTES(n)] = os.urandom(abi.RING_BYTES(n))
            self.bump(kind)
            self.kick(every=0.1)
        elif kind == "storm":
            self.kick()
            self.bump(kind)
        elif kind == "stormidx":
            ch.put(RING, "prod", ch.get(RING, "prod", tx) + 1, tx)
            self.kick([queue])
            self.bump(kind)
        elif kind == "spin":
            self.ch.poll()
            self.bump(kind)
        else:
            raise ValueError(kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1].strip())
    ap.add_argument("sock")
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--period", type=float, default=6.0)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--target", default="", help="backend_target of kind identity")
    ap.add_argument("--peer", type=int, default=7, help="backend_peer of kind spare")
    a = ap.parse_args()
    kinds = [k for k in a.kinds.split(",") if k]
    for k in kinds:
        if k not in KINDS + EXTRA_KINDS:
            sys.exit(f"hostile_writer: unknown kind {k} (kinds: {', '.join(KINDS + EXTRA_KINDS)})")
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ch = Channel(a.sock)
    w = Writer(ch, random.Random(seed))
    w.target = a.target
    w.peer = a.peer
    log(f"connected as peer {ch.me}, region {ch.size} bytes, {ch.nrings} rings, "
        f"epoch {ch.hdr('epoch')}, doorbells of peers {sorted(ch.doorbells)}, seed {seed}")
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
            log(f"+{now - t0:.1f}s kind {kind} (epoch {ch.hdr('epoch')}, "
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
