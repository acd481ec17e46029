#!/usr/bin/python3
"""maxrss.py: run a command and write its peak resident memory, as GNU
time's %M does (the kernel's ru_maxrss of the child, from wait4), for
tests/lab/test_hostile.sh without needing the `time` package.

  maxrss.py FILE CMD ARGS...   writes "KIB SECONDS" to FILE; exits as CMD did
                               (128 + N when a signal N ended it)."""
import os
import signal
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    # pass TERM/INT on (timeout(1) sends TERM to us)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda n, f: os.kill(pid, n))
    while True:
        try:
            _, status, ru = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    with open(out, "w") as f:
        f.write("%d %.2f\n" % (ru.ru_maxrss, time.monotonic() - t0))
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
