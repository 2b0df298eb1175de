// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

/// Options every host-reading command takes.
struct HostOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read every host file under DIR (a mounted image, chroot or fixture tree).", valueName: "DIR"),
        completion: .directory)
    var root: String = "/"

    func hostRoot() throws -> HostRoot {
        try HostRoot.validated(root)
    }
}

func parseKernel(_ s: String?) throws -> KernelRelease? {
    guard let s else { return nil }
    guard let k = KernelRelease(s) else {
        throw AufsError.usage(
            "--kernel \"\(s)\": not a kernel release; expected the form uname -r prints, e.g. 6.1.0-18-amd64")
    }
    return k
}
