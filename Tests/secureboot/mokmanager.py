#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
"""Drives shim's MokManager over QEMU's serial console (Tests/secureboot/run.sh, SB_MOKMANAGER=1):
confirms the enrolment request a guest staged with `mokutil --import`, as a person would at the
console, then picks Reboot (QEMU runs with -no-reboot, so it exits there).

    mokmanager.py PASSWORD LOGFILE -- qemu-system-x86_64 ...

Every byte QEMU prints goes to LOGFILE. Exits 0 when QEMU exited after the whole dialogue, 1 when
a step's text never came."""
import os
import re
import select
import subprocess
import sys
import time

DOWN = b"\x1b[B"
ENTER = b"\r"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def main() -> int:
    password, logfile = sys.argv[1], sys.argv[2]
    argv = sys.argv[sys.argv.index("--") + 1 :]
    qemu = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b""
    log = open(logfile, "wb")

    def pump(seconds: float) -> bool:
        """Reads what QEMU prints for up to `seconds`; False once it has exited."""
        nonlocal seen
        end = time.time() + seconds
        while time.time() < end:
            r, _, _ = select.select([qemu.stdout], [], [], 0.2)
            if r:
                data = os.read(qemu.stdout.fileno(), 65536)
                if not data:
                    return False
                log.write(data)
                log.flush()
                seen += ANSI.sub(b"", data)
            elif qemu.poll() is not None:
                return False
        return True

    def wait_for(text: bytes, seconds: float) -> bool:
        nonlocal seen
        end = time.time() + seconds
        while time.time() < end:
            i = seen.find(text)
            if i >= 0:
                seen = seen[i + len(text) :]
                pump(1.5)  # let the screen finish drawing
                return True
            if not pump(0.5):
                return seen.find(text) >= 0
        return False

    def send(*keys: bytes) -> None:
        for k in keys:
            qemu.stdin.write(k)
            qemu.stdin.flush()
            pump(0.7)

    steps = [
        (b"Press any key to perform MOK management", [b" "]),
        (b"Enroll MOK", [DOWN, ENTER]),
        (b"View key 0", [DOWN, ENTER]),
        (b"Enroll the key(s)?", [DOWN, ENTER]),
        (b"Password:", [password.encode() + ENTER]),
        (b"Reboot", [ENTER]),
    ]
    for text, keys in steps:
        if not wait_for(text, 180):
            sys.stderr.write(f"mokmanager.py: never saw {text.decode()!r}\n")
            qemu.kill()
            return 1
        sys.stderr.write(f"mokmanager.py: saw {text.decode()!r}\n")
        send(*keys)
    while pump(5):
        pass
    return 0 if qemu.wait(timeout=30) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
