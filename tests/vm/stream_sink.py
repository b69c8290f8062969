#!/usr/bin/env python3
"""A TCP sink that watches one long connection for the warm spare tests
(test_spare_tap.sh): the client sends numbered 16-byte records ("%015d\\n", 0..4095,
over and over: tests/vm/spare_client.sh), this checks every byte against that pattern
and times the pauses between arrivals.

    stream_sink.py PORT STATUS_FILE

Every 0.2 s, and when a connection ends, STATUS_FILE is replaced by one JSON object:
  conns       connections accepted (a TCP connection that survives everything: 1)
  bytes       bytes received on the current (last) connection
  bad         bytes that were not what the pattern says at their offset
  ended       the last connection ended ("eof" or the error, e.g. "reset"), or null
  last_s      wall-clock time (s) of the last arrival
  gaps        [end_s, ms] of each pause between two arrivals over 20 ms, the last 4000
              (a pause spans end_s - ms/1000 .. end_s; test_spare_tap.sh looks for the
              one around each failover)
Run it inside the test's network namespace; it serves until killed (by its pid)."""
import json
import os
import socket
import sys
import time
from collections import deque

CHUNK = b"".join(b"%015d\n" % i for i in range(4096))  # 64 KiB
TWICE = CHUNK + CHUNK


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    st = {"conns": 0, "bytes": 0, "bad": 0, "ended": None, "last_s": 0.0}
    gaps = deque(maxlen=4000)

    def publish():
        with open(path + ".tmp", "w") as f:
            json.dump(dict(st, gaps=list(gaps)), f)
        os.replace(path + ".tmp", path)

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(4)
    publish()
    while True:
        conn, _ = srv.accept()
        conn.settimeout(0.2)
        st.update(conns=st["conns"] + 1, bytes=0, ended=None)
        last = time.monotonic()
        published = last
        while True:
            try:
                b = conn.recv(65536)
            except socket.timeout:
                b = None
            except OSError as e:
                st["ended"] = "reset" if isinstance(e, ConnectionResetError) else str(e)
                break
            now = time.monotonic()
            if b == b"":
                st["ended"] = "eof"
                break
            if b:
                gap = now - last
                if gap > 0.02:
                    gaps.append([round(time.time(), 3), round(gap * 1000)])
                last = now
                st["last_s"] = round(time.time(), 3)
                o = st["bytes"] % len(CHUNK)
                if TWICE[o : o + len(b)] != b:
                    want = TWICE[o : o + len(b)]
                    st["bad"] += sum(1 for x, y in zip(b, want) if x != y)
                st["bytes"] += len(b)
            if now - published >= 0.2:
                publish()
                published = now
        conn.close()
        publish()


if __name__ == "__main__":
    main()
