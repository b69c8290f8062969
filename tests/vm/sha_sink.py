#!/usr/bin/env python3
"""A checksumming TCP sink for net tests: for each connection, read up to SIZE bytes
(or to EOF), answer the SHA-256 of what arrived as 64 hex digits and a newline, close.

    sha_sink.py PORT [SIZE]     (SIZE in bytes, default 4 MiB; listens on every address)

Run it inside the test's network namespace; it serves until killed (by its pid)."""
import hashlib
import socket
import sys


def main():
    port = int(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 4 << 20
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        conn.settimeout(120)
        h, n = hashlib.sha256(), 0
        try:
            while n < size:
                b = conn.recv(min(65536, size - n))
                if not b:
                    break
                h.update(b)
                n += len(b)
            conn.sendall((h.hexdigest() + "\n").encode())
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    main()
