#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A hostile host tool for ddvm's net tests: write garbage into a LIVE channel.

    net_scribble.py HOST_SOCK < steps          (one step name per line)

Connects to a channel's host.sock (ddvm-chan, peer id 2) with the ivshmem-server
protocol, takes the shared-memory fd and the other peers' doorbell eventfds, and for
each step read from stdin prints "net_scribble: STEP done" once it did:

  desc     puts a garbage descriptor into the tx ring (client -> driver VM) and
           publishes it (prod + 1), then rings the driver VM's queue doorbell
  index    moves the rx ring's prod (driver VM -> client) far beyond anything
           legal, then rings the client's queue doorbell
  header   scribbles the status and device-description fields of the header
  noise    random bytes over both rings' control blocks and descriptors
  flap     for 1.5 s, every 10 ms: the backend ABSENT, then READY in the client's
           session, ringing the client's control doorbell each time (a driver VM
           that makes its client reconnect as fast as it can)

It stays connected for all steps: QEMU 7.2's ivshmem frees a departed peer's eventfd
array without forgetting it, so a peer id that leaves and comes back corrupts the
VMs' QEMU heaps (the same reason a restarted driver VM needs a fresh peer id).

The peer and the layout are tests/vm/ivshmem_peer.py's: the ring geometry from the
region header's ring table, field offsets from include/ddvm/ (build/py/ddvm_abi.py).
"""
import os
import random
import time
import sys

from ivshmem_peer import Peer, ProtocolError, abi, pack

# ddvm-chan gives the driver VM and the client these peer ids (tools/ddvm-chan.c)
BACKEND_PEER, FRONTEND_PEER = abi.SIDE_BACKEND, abi.SIDE_FRONTEND
RING, HDR = abi.ring_ctl, abi.region_hdr


def scribble(step, ch, rnd):
    tx, rx = ch.rings[0], ch.rings[1]
    tx_off, tx_n = tx["ring_off"], tx["entries"]
    rx_off, rx_n = rx["ring_off"], rx["entries"]
    if step == "desc":
        prod = ch.get(RING, "prod", tx_off)
        desc = tx_off + abi.RING_CTL_SIZE + abi.DESC_SIZE * (prod % tx_n)
        # off far outside any slot, len huge, offload bits set at random
        ch.mem[desc:desc + abi.DESC_SIZE] = pack(
            abi.net_desc, off=0xFFFF0000 + rnd.randrange(0xFFFF), len=0x7FFFFFFF, flags=0xFF,
            gso_type=0x77, hdr_len=0xFFFF, gso_size=1, csum_start=0xFFF0, csum_offset=0xFFF0)
        ch.put(RING, "prod", prod + 1, tx_off)
        ch.kick(BACKEND_PEER, abi.VECTOR_QUEUE(0))
    elif step == "index":
        cons = ch.get(RING, "cons", rx_off)
        ch.put(RING, "prod", cons + 100000, rx_off)
        ch.kick(FRONTEND_PEER, abi.VECTOR_QUEUE(0))
    elif step == "header":
        # the backend's status line up to its session, and every field of the device
        # description
        dev_end = max(off + size for off, size in abi.net_config.fields.values())
        for start, end in ((HDR.backend_state, HDR.backend_session),
                           (HDR.device, HDR.device + dev_end)):
            ch.mem[start:end] = rnd.randbytes(end - start)
        ch.kick(FRONTEND_PEER, abi.VECTOR_CONTROL)
        ch.kick(BACKEND_PEER, abi.VECTOR_CONTROL)
    elif step == "flap":
        t0, n = time.monotonic(), 0
        while time.monotonic() - t0 < 1.5:
            ch.set_hdr("backend_state", abi.STATE_ABSENT)
            ch.kick(FRONTEND_PEER, abi.VECTOR_CONTROL)
            time.sleep(0.01)
            ch.set_hdr("backend_epoch", ch.hdr("epoch"))
            ch.set_hdr("backend_session", ch.hdr("frontend_session"))
            ch.set_hdr("backend_state", abi.STATE_READY)
            ch.kick(FRONTEND_PEER, abi.VECTOR_CONTROL)
            time.sleep(0.01)
            n += 1
        print(f"net_scribble: flap: {n} cycles", flush=True)
    elif step == "noise":
        for off, n in ((tx_off, tx_n), (rx_off, rx_n)):
            ch.mem[off:off + abi.RING_BYTES(n)] = os.urandom(abi.RING_BYTES(n))
        for v in (abi.VECTOR_CONTROL, abi.VECTOR_QUEUE(0)):
            ch.kick(FRONTEND_PEER, v)
            ch.kick(BACKEND_PEER, v)
    else:
        return False
    ch.mem.flush()
    return True


def main():
    try:
        ch = Peer(sys.argv[1], quiet=1.0)
    except ProtocolError as e:
        sys.exit("net_scribble: %s" % e)
    ch.rings = ch.ring_table()
    rnd = random.Random(int.from_bytes(os.urandom(8), "little"))
    print(f"net_scribble: connected as peer {ch.me}, region {ch.size} bytes, "
          f"doorbells of peers {sorted(ch.doorbells)}", flush=True)
    for line in sys.stdin:
        step = line.strip()
        if step == "quit":
            break
        if step:
            ok = scribble(step, ch, rnd)
            print(f"net_scribble: {step} {'done' if ok else 'unknown'}", flush=True)
    ch.close()


if __name__ == "__main__":
    main()
