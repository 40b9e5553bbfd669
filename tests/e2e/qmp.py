#!/usr/bin/env python3
"""A tiny QMP client (QEMU Machine Protocol over a unix socket).

QEMU exposes it with `-qmp unix:SOCK,server=on,wait=off`.  Only the Python
standard library is used (Debian package python3).

  qmp.py [-t SECS] SOCK 'COMMAND [JSON-ARGUMENTS]'...
      Connect (retrying until SECS), negotiate capabilities, run each
      COMMAND in turn and print its "return" value as one line of JSON.
      Exit 0; 1 when QEMU answered a command with an error (printed on
      stderr, later commands are not run); 124 on timeout; 125 when the
      socket cannot be reached.
      Example: qmp.py SOCK 'migrate {"uri": "tcp:127.0.0.1:4444"}'
  qmp.py [-t SECS] SOCK --wait-migrate [--interval S]
      Poll query-migrate until its status is completed, failed or
      cancelled; print the last answer (JSON).  Exit 0 when completed, 1
      when failed or cancelled, 124 when SECS pass first.
  qmp.py [-t SECS] SOCK --wait-status STATUS[,STATUS...]
      Poll query-status until the VM's status is one of STATUS (running,
      paused, postmigrate, inmigrate...); print it.  Exit 0, or 124.

Asynchronous events that QEMU interleaves with answers are skipped.
"""
import argparse
import json
import socket
import sys
import time


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.buf = b""
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError:
                s.close()
                if time.monotonic() >= deadline:
                    raise ConnectionError("cannot connect to %s" % path)
                time.sleep(0.1)
        self.s = s
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError("no QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")

    def _read(self):
        """One JSON message (QEMU ends each with CRLF)."""
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from QEMU")
            self.s.settimeout(min(left, 1.0))
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionError("QEMU closed the QMP socket")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.strip()
        return json.loads(line) if line else self._read()

    def execute(self, cmd, args=None):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                continue
            if "error" in r:
                raise QMPError("%s: %s: %s" % (cmd, r["error"].get("class"), r["error"].get("desc")))
            if "return" in r:
                return r["return"]

    def close(self):
        self.s.close()


def parse_command(text):
    text = text.strip()
    name, _, rest = text.partition(" ")
    args = json.loads(rest) if rest.strip() else None
    return name, args


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-t", "--timeout", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--wait-migrate", action="store_true")
    p.add_argument("--wait-status")
    p.add_argument("sock")
    p.add_argument("commands", nargs="*")
    a = p.parse_args()
    deadline = time.monotonic() + a.timeout
    try:
        q = QMP(a.sock, deadline)
    except (ConnectionError, OSError) as e:
        print("qmp: %s" % e, file=sys.stderr)
        return 125
    except TimeoutError as e:
        print("qmp: %s: %s" % (a.sock, e), file=sys.stderr)
        return 124
    try:
        for c in a.commands:
            name, args = parse_command(c)
            print(json.dumps(q.execute(name, args)), flush=True)
        if a.wait_migrate:
            while True:
                r = q.execute("query-migrate")
                st = r.get("status")
                if st in ("completed", "failed", "cancelled"):
                    print(json.dumps(r), flush=True)
                    return 0 if st == "completed" else 1
                if time.monotonic() + a.interval >= deadline:
                    print(json.dumps(r), flush=True)
                    print("qmp: migration still %s after %ss" % (st, a.timeout), file=sys.stderr)
                    return 124
                time.sleep(a.interval)
        if a.wait_status:
            want = a.wait_status.split(",")
            while True:
                r = q.execute("query-status")
                if r.get("status") in want:
                    print(json.dumps(r), flush=True)
                    return 0
                if time.monotonic() + a.interval >= deadline:
                    print(json.dumps(r), flush=True)
                    print("qmp: status still %s after %ss" % (r.get("status"), a.timeout), file=sys.stderr)
                    return 124
                time.sleep(a.interval)
    except QMPError as e:
        print("qmp: %s" % e, file=sys.stderr)
        return 1
    except TimeoutError as e:
        print("qmp: %s" % e, file=sys.stderr)
        return 124
    except (ConnectionError, OSError, ValueError) as e:
        print("qmp: %s" % e, file=sys.stderr)
        return 125
    finally:
        q.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
