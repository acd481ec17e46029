#!/usr/bin/python3
"""pty_keys.py: run a command on a pseudo-terminal and type keys at it, as a
user would during a scan (Nmap's run-time keys v/V d/D p/P ?).

  pty_keys.py KEYS CMD...

Once the command has printed "Starting", each key of KEYS is typed after
the command has printed something since the previous key (its answer), or
after 5 s without output. Everything the command printed goes to stdout;
the exit status is the command's. The whole run is bounded to 120 s."""
import os
import pty
import select
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: pty_keys.py KEYS CMD...")
    keys, cmd = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out, sent, last = b"", 0, None
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
        ready = last is None or len(out) > last[1] or time.time() - last[0] > 5
        if b"Starting" in out and sent < len(keys) and ready:
            os.write(fd, keys[sent].encode())
            last = (time.time(), len(out))
            sent += 1
    else:
        os.kill(pid, 9)
    _, st = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    sys.exit(os.waitstatus_to_exitcode(st))


if __name__ == "__main__":
    main()
