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

It stays connected for all steps: QEMU 7.2's ivshmem frees a departed peer's eventfd
array without forgetting it, so a peer id that leaves and comes back corrupts the
VMs' QEMU heaps (the same reason a restarted driver VM needs a fresh peer id).

The layout comes from the region header (include/ddvm/abi.h): ring table at 0x200,
32 bytes per ring: ring_off, entries, data_off, data_size, slot_size (le32 each).
"""
import array
import mmap
import os
import random
import socket
import struct
import sys

BACKEND_PEER, FRONTEND_PEER = 0, 1


def recv_msg(s):
    fds = array.array("i")
    msg, anc, _, _ = s.recvmsg(8, socket.CMSG_LEN(fds.itemsize))
    if len(msg) != 8:
        return None, -1
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return struct.unpack("<q", msg)[0], (fds[0] if fds else -1)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    version, _ = recv_msg(s)
    me, _ = recv_msg(s)
    _, shm = recv_msg(s)
    if version != 0 or shm < 0:
        sys.exit("net_scribble: not an ivshmem server")
    doorbells = {}
    s.settimeout(1.0)
    try:
        while True:
            peer, fd = recv_msg(s)
            if peer is None:
                break
            if fd >= 0:
                doorbells.setdefault(peer, []).append(fd)
    except socket.timeout:
        pass
    return s, me, shm, doorbells


def ring(mem, i):
    ring_off, entries, data_off, data_size, slot = struct.unpack_from("<5I", mem, 0x200 + 32 * i)
    return ring_off, entries, data_off, slot


def kick(doorbells, peer, vector):
    fds = doorbells.get(peer, [])
    if vector < len(fds):
        os.write(fds[vector], struct.pack("<Q", 1))


def scribble(step, mem, doorbells, rnd):
    tx_off, tx_n, _, _ = ring(mem, 0)
    rx_off, rx_n, _, _ = ring(mem, 1)
    if step == "desc":
        prod = struct.unpack_from("<I", mem, tx_off)[0]
        desc = tx_off + 128 + 32 * (prod % tx_n)
        # off far outside any slot, len huge, offload bits set at random
        mem[desc : desc + 32] = struct.pack("<IIBBHHHHHIQ", 0xFFFF0000 + rnd.randrange(0xFFFF),
                                            0x7FFFFFFF, 0xFF, 0x77, 0xFFFF, 1, 0xFFF0,
                                            0xFFF0, 0, 0, 0)
        struct.pack_into("<I", mem, tx_off, (prod + 1) & 0xFFFFFFFF)
        kick(doorbells, BACKEND_PEER, 1)
    elif step == "index":
        cons = struct.unpack_from("<I", mem, rx_off + 64)[0]
        struct.pack_into("<I", mem, rx_off, (cons + 100000) & 0xFFFFFFFF)
        kick(doorbells, FRONTEND_PEER, 1)
    elif step == "header":
        for off in list(range(0x80, 0xA0, 4)) + list(range(0x100, 0x120, 4)):
            struct.pack_into("<I", mem, off, rnd.getrandbits(32))
        kick(doorbells, FRONTEND_PEER, 0)
        kick(doorbells, BACKEND_PEER, 0)
    elif step == "noise":
        for off, n in ((tx_off, tx_n), (rx_off, rx_n)):
            mem[off : off + 128 + 32 * n] = os.urandom(128 + 32 * n)
        for v in range(2):
            kick(doorbells, FRONTEND_PEER, v)
            kick(doorbells, BACKEND_PEER, v)
    else:
        return False
    mem.flush()
    return True


def main():
    s, me, shm, doorbells = connect(sys.argv[1])
    size = os.fstat(shm).st_size
    mem = mmap.mmap(shm, size)
    rnd = random.Random(int.from_bytes(os.urandom(8), "little"))
    print(f"net_scribble: connected as peer {me}, region {size} bytes, "
          f"doorbells of peers {sorted(doorbells)}", flush=True)
    for line in sys.stdin:
        step = line.strip()
        if step == "quit":
            break
        if step:
            ok = scribble(step, mem, doorbells, rnd)
            print(f"net_scribble: {step} {'done' if ok else 'unknown'}", flush=True)
    s.close()


if __name__ == "__main__":
    main()
