// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import Glibc

/// /sbin/mount.aufs and /sbin/umount.aufs (links to this binary, chosen by argv[0]): util-linux's
/// helper contract, without aufsctl's subcommand parser, Foundation or Dispatch, so that a mount
/// from fstab or a systemd unit pays a small program's start-up. `nonisolated`: a main-actor entry
/// point would link the concurrency runtime and libdispatch, whose start-up this binary avoids.
@main
enum HelperEntry {
    nonisolated static func main() {
        MountHelper.runIfInvokedAsHelper(CommandLine.arguments)
        MountHelper.writeStderr(
            "aufsctl-helper: run as mount.aufs or umount.aufs (a link of that name to this file); "
                + "`aufsctl helper install` makes them")
        exit(1)
    }
}
