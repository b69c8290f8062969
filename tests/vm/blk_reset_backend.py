#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A hostile driver VM for one blk channel: tests/vm/test_blk_backend_resets.sh.

    blk_reset_backend.py DIR [--wedge-at SECTOR] [--reset-after S] [--duration S] [--keep-one]
                         [--storm-at SECTOR]

Connects to ddvm-chan's DIR/backend.sock as the driver VM (peer 0), describes a 64 MiB
disk, and serves every session the client asks for (its own ring fields from zero,
READY in that session, the client rung). It answers requests (reads: whatever the
slot holds; writes and flushes: done) until one touches sector WEDGE_AT (2048); from
then on it answers nothing: RESET_AFTER seconds (3) after requests were first left
waiting it drops back to ATTACHING and rings the client, which asks for a new session
and sends its requests again. That is a driver VM that keeps a client's I/O neither
answered nor failed by resetting the channel short of the client's io_timeout, round
after round. --keep-one: it takes the request at WEDGE_AT and keeps it, answering every
other request, and resets RESET_AFTER seconds after it took it: the client's queue
makes progress, only that one request is held for ever. --storm-at: it answers
everything, and after answering a request that touches SECTOR it rings the client's
queue doorbell as fast as it can for 8 s, moving the response ring's prod before each
ring (so that each looks like work; the client breaks the channel at the first, and
every later one is a doorbell on a channel it does not use). Prints "BACKEND: ..." lines (answered, wedged, a reset, a session
served) and ends after DURATION seconds (300) or SIGTERM.
"""
import argparse
import os
import signal
import sys
import time

from ivshmem_peer import Peer, abi, pack, unpack

HDR, RING = abi.region_hdr, abi.ring_ctl


def desc(ring, index):
    return ring["ring_off"] + abi.RING_CTL_SIZE + (index & (ring["entries"] - 1)) * abi.DESC_SIZE


def log(msg):
    print("BACKEND: " + msg, flush=True)


def storm(ch, rsp):
    """8 s of queue doorbells, each after moving the response ring's prod."""
    fd = ch.doorbells[abi.SIDE_FRONTEND][abi.VECTOR_QUEUE(0)]
    one, n, p, t1 = (1).to_bytes(8, "little"), 0, ch.get(RING, "prod", rsp), time.monotonic()
    log("storm: 8 s of doorbells, prod moved before each")
    while time.monotonic() - t1 < 8:
        for _ in range(200):
            p = (p + 1) & 0xFFFFFFFF
            ch.put(RING, "prod", p, rsp)
            try:
                os.write(fd, one)
                n += 1
            except OSError:
                pass
    log("storm done: %d doorbells" % n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1].strip())
    ap.add_argument("dir")
    ap.add_argument("--wedge-at", type=int, default=2048)
    ap.add_argument("--reset-after", type=float, default=3.0)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--keep-one", action="store_true")
    ap.add_argument("--storm-at", type=int, default=-1)
    a = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    ch = Peer(os.path.join(a.dir, "backend.sock"))
    if ch.me != abi.SIDE_BACKEND or ch.hdr("magic") != abi.MAGIC:
        sys.exit("blk_reset_backend: not the backend of a ddvm region (peer %d)" % ch.me)
    rings = ch.ring_table(limit=2)  # queue pair 0: requests, responses
    req, rsp = rings[0]["ring_off"], rings[1]["ring_off"]
    answered, wedged = 0, False
    dev = HDR.device
    ch.put(abi.blk_config, "capacity", 64 << 11, dev)
    ch.put(abi.blk_config, "logical_block", 512, dev)
    ch.put(abi.blk_config, "physical_block", 512, dev)
    ch.put(abi.blk_config, "max_sectors", 256, dev)
    ch.put(abi.blk_config, "disk_driver", b"hostile", dev)
    ch.put(abi.blk_config, "disk_name", b"stall0", dev)
    ch.set_hdr("features", abi.BLK_F_FLUSH)
    serving, waiting_since, resets, t0 = 0, None, 0, time.monotonic()
    log("connected as peer %d, region %d bytes" % (ch.me, ch.size))
    while not stop and time.monotonic() - t0 < a.duration:
        ch.poll()
        epoch = ch.hdr("epoch")
        want = ch.hdr("frontend_session")
        if (ch.hdr("frontend_state") == abi.STATE_ATTACHING and
                ch.hdr("frontend_epoch") == epoch and want and want != serving):
            # a new session: our side of the rings from zero, READY in it
            for base, field in ((req, "cons"), (req, "prod_event"), (rsp, "prod"),
                                (rsp, "cons_event")):
                ch.put(RING, field, 0, base)
            serving, waiting_since = want, None
            ch.set_hdr("backend_session", serving)
            ch.set_hdr("backend_epoch", epoch)
            ch.set_hdr("backend_state", abi.STATE_READY)
            ch.kick(abi.SIDE_FRONTEND, abi.VECTOR_CONTROL)
            log("serving session %d at epoch %d" % (serving, epoch))
        while serving and not (wedged and not a.keep_one) and \
                ch.get(RING, "prod", req) != ch.get(RING, "cons", req):
            cons = ch.get(RING, "cons", req)
            r = unpack(abi.blk_req, ch.mem, desc(rings[0], cons))
            if r["len"] and r["sector"] <= a.wedge_at < r["sector"] + r["len"] // 512:
                wedged = True
                if a.keep_one:  # taken, never answered; the others are
                    ch.put(RING, "cons", cons + 1, req)
                    if waiting_since is None:
                        waiting_since = time.monotonic()
                    log("took and keeps the request for sector %d (%d answered so far)" %
                        (r["sector"], answered))
                    continue
                log("wedged at a request for sector %d, after %d answered" %
                    (r["sector"], answered))
                break
            prod = ch.get(RING, "prod", rsp)
            ch.mem[desc(rings[1], prod):desc(rings[1], prod) + abi.DESC_SIZE] = pack(
                abi.blk_rsp, id=r["id"], status=abi.BLK_S_OK, len=r["len"])
            ch.put(RING, "cons", cons + 1, req)
            ch.put(RING, "prod", prod + 1, rsp)
            ch.kick(abi.SIDE_FRONTEND, abi.VECTOR_QUEUE(0))
            answered += 1
            if r["len"] and r["sector"] <= a.storm_at < r["sector"] + r["len"] // 512:
                storm(ch, rsp)
        if a.keep_one:
            waiting = serving and waiting_since is not None
        else:
            waiting = serving and wedged and ch.get(RING, "prod", req) != ch.get(RING, "cons", req)
        if waiting and waiting_since is None:
            waiting_since = time.monotonic()
        if waiting and time.monotonic() - waiting_since >= a.reset_after:
            # (that request) not answered: reset instead, before the client's io_timeout
            resets += 1
            ch.set_hdr("backend_state", abi.STATE_ATTACHING)
            ch.kick(abi.SIDE_FRONTEND, abi.VECTOR_CONTROL)
            log("reset %d: %d requests left unanswered" %
                (resets, (ch.get(RING, "prod", req) - ch.get(RING, "cons", req)) & 0xFFFFFFFF))
            serving, waiting_since = 0, None
        time.sleep(0.05)
    log("done: %d resets" % resets)


if __name__ == "__main__":
    main()
