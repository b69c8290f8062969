#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Run one shell command in a ddvm test VM through its command serial port.

    vmsh.py SOCKET TIMEOUT COMMAND...

The VM's run script (tests/vm/net_common.sh: net_agent) reads one command per line
from its second serial port (a unix socket on the host), runs it, and answers with
the output followed by a line "@@END rc=N". Prints the output, exits with N
(124 on timeout, 125 if the VM is not reachable).
"""
import socket
import sys
import time


def main():
    path, timeout, cmd = sys.argv[1], float(sys.argv[2]), " ".join(sys.argv[3:])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        print(f"vmsh: cannot connect to {path}: {e}", file=sys.stderr)
        return 125
    s.sendall(cmd.encode() + b"\n")
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stdout.write(buf.decode(errors="replace"))
            print(f"vmsh: timed out after {timeout}s: {cmd}", file=sys.stderr)
            return 124
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            sys.stdout.write(buf.decode(errors="replace"))
            print("vmsh: VM closed the command port", file=sys.stderr)
            return 125
        buf += chunk
        text = buf.decode(errors="replace").replace("\r", "")
        marker = text.rfind("@@END rc=")
        if marker >= 0 and text.endswith("\n", marker):
            sys.stdout.write(text[:marker])
            return int(text[marker + 9:].split()[0])


if __name__ == "__main__":
    sys.exit(main())
