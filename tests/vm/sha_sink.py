#!/usr/bin/env python3
"""A checksumming TCP sink for net tests: for each connection, read up to SIZE bytes
(or to EOF), answer the SHA-256 of what arrived as 64 hex digits and a newline, close.

    sha_sink.py PORT [SIZE]     (SIZE in bytes, default 4 MiB; listens on every address)

Connections are served side by side (one thread each), so a peer whose transfer
stalls holds only its own connection, never the next NIC's. Each connection ends in
one line on stdout, for the test's log:

    SINK peer=ADDR:PORT bytes=N secs=S end=full|eof|ERROR sha=HEX

Run it inside the test's network namespace; it serves until killed (by its pid)."""
import hashlib
import socketserver
import sys
import time

SIZE = 4 << 20


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        conn.settimeout(120)
        h, n, end, t0 = hashlib.sha256(), 0, "full", time.monotonic()
        try:
            while n < SIZE:
                b = conn.recv(min(65536, SIZE - n))
                if not b:
                    end = "eof"
                    break
                h.update(b)
                n += len(b)
            conn.sendall((h.hexdigest() + "\n").encode())
        except OSError as e:
            end = type(e).__name__
        peer = "%s:%d" % self.client_address[:2]
        secs = time.monotonic() - t0
        print("SINK peer=%s bytes=%d secs=%.2f end=%s sha=%s" % (peer, n, secs, end, h.hexdigest()),
              flush=True)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global SIZE
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        SIZE = int(sys.argv[2])
    with Server(("0.0.0.0", port), Handler) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
