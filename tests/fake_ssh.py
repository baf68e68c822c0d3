"""A stand-in for the SSH client in the mirror tests: `fake_ssh.py [OPTIONS] HOST WORDS...`
drops the options and HOST and runs WORDS joined by spaces with `sh -c` here, as sshd would run
them there; the command's stdout is relayed (through this process, as an SSH client relays the
channel) and its status is this one's.

Killing this process cuts the link as a dead SSH client does: the mirror sees its pipe end and
the command sees nobody reading its output.  SIGTERM/SIGHUP end the command too (sshd closes
the session), status 255 as ssh's for a lost connection.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

WITH_VALUE = set("bcDEeFIiJLlmOopQRSWw")  # ssh options that take an argument


def main(argv: list[str]) -> int:
    words = list(argv)
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option[-1] in WITH_VALUE and len(option) == 2:
            words.pop(0)
    if len(words) < 2:
        print("fake_ssh: no host or no command", file=sys.stderr)
        return 255
    command = " ".join(words[1:])
    child = subprocess.Popen(["sh", "-c", command], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE)

    def hang_up(_signum, _frame):
        child.terminate()
        os._exit(255)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, hang_up)
    log = os.environ.get("FAKE_SSH_LOG")
    if log:
        with open(log, "a") as out:
            out.write(f"{os.getpid()} {child.pid} {command}\n")
    fd = child.stdout.fileno()
    while True:
        data = os.read(fd, 1 << 16)
        if not data:
            break
        try:
            while data:
                data = data[os.write(1, data):]
        except BrokenPipeError:
            child.terminate()
            return 255
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
