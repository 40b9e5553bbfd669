#!/usr/bin/env python3
"""Drive the shell on a QEMU guest's serial console (a unix socket).

The guest (scripts/build-guest.sh) runs a shell on ttyS0 with echo off; QEMU
exposes ttyS0 as `-chardev socket,path=SOCK,server=on,wait=off`.  Only the
Python standard library is used (Debian package python3).

  guestctl.py run [-t SECS] SOCK -- COMMAND...
      Run COMMAND in the guest shell, print what it printed (stdout and stderr
      merged), exit with its exit status.  Exit 124 on timeout, 125 if the
      console cannot be reached.
  guestctl.py wait SOCK [-t SECS]
      Wait until the shell answers.  Exit 0, or 124 on timeout.
  guestctl.py send [-t SECS] SOCK -- COMMAND...
      Type COMMAND and return at once (for `reboot -f`, whose end nobody sees).

The output is found between two markers printed by the guest.  The markers
are typed with an empty string inside them ("__RS""B_...") so that an echo of
the typed line, if the tty echoes after all, never matches.
"""
import argparse
import os
import re
import socket
import sys
import time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.2)


def read_until(s, pattern, deadline, buf=b""):
    """Read from s until regex 'pattern' (bytes) matches buf; return (match, buf)."""
    while True:
        m = re.search(pattern, buf, re.S)
        if m:
            return m, buf
        left = deadline - time.monotonic()
        if left <= 0:
            return None, buf
        s.settimeout(min(left, 1.0))
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return None, buf
        if not data:
            return None, buf
        buf += data


def cmd_run(args):
    deadline = time.monotonic() + args.timeout
    s = connect(args.sock, deadline)
    if s is None:
        print("guestctl: cannot connect to %s" % args.sock, file=sys.stderr)
        return 125
    tag = "%d_%d" % (os.getpid(), int(time.monotonic() * 1000))
    command = " ".join(args.command)
    # Ctrl-U clears any half-typed line; the braces keep a failing command
    # from skipping the end marker.
    line = ('\x15echo "__RS""B_%s__"; { %s\n} 2>&1; echo "__RS""E_%s__ rc=$?"\n'
            % (tag, command, tag))
    s.sendall(line.encode())
    pat = rb"__RSB_" + tag.encode() + rb"__\r?\n(.*?)__RSE_" + tag.encode() + rb"__ rc=(\d+)"
    m, buf = read_until(s, pat, deadline)
    s.close()
    if not m:
        sys.stdout.write(buf.decode(errors="replace").replace("\r", ""))
        print("guestctl: timeout after %ss running: %s" % (args.timeout, command), file=sys.stderr)
        return 124
    sys.stdout.write(m.group(1).decode(errors="replace").replace("\r", ""))
    sys.stdout.flush()
    return int(m.group(2))


def cmd_wait(args):
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        s = connect(args.sock, deadline)
        if s is None:
            break
        tag = "%d" % int(time.monotonic() * 1000)
        try:
            # Re-type the probe every second: the shell may not be up yet.
            while time.monotonic() < deadline:
                s.sendall(('\x15echo "__RS""W_%s__"\n' % tag).encode())
                m, _ = read_until(s, rb"__RSW_" + tag.encode() + rb"__",
                                  min(deadline, time.monotonic() + 1.0))
                if m:
                    s.close()
                    return 0
        except OSError:
            pass
        s.close()
        time.sleep(0.2)
    print("guestctl: no shell on %s after %ss" % (args.sock, args.timeout), file=sys.stderr)
    return 124


def cmd_send(args):
    s = connect(args.sock, time.monotonic() + args.timeout)
    if s is None:
        print("guestctl: cannot connect to %s" % args.sock, file=sys.stderr)
        return 125
    s.sendall(("\x15" + " ".join(args.command) + "\n").encode())
    time.sleep(0.2)
    s.close()
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="op", required=True)
    for name in ("run", "wait", "send"):
        sp = sub.add_parser(name)
        sp.add_argument("sock")
        sp.add_argument("-t", "--timeout", type=float, default=30.0)
        if name != "wait":
            sp.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    if getattr(args, "command", None) and args.command[0] == "--":
        args.command = args.command[1:]
    return {"run": cmd_run, "wait": cmd_wait, "send": cmd_send}[args.op](args)


if __name__ == "__main__":
    sys.exit(main())
