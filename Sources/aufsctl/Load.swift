// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load the aufs module through libkmod (like modprobe aufs), honouring blacklists.",
        discussion: """
            aufs declares no fs-aufs alias, so the kernel does not load it on demand; this does, the way modprobe \
            would. Already loaded and built in are success. A failed load shows the kernel's log lines.

            Examples:
              aufsctl load
              With a module parameter:
                aufsctl load --kernel-param brs=1

            Exit status:
              0  loaded, already loaded, or built in
              1  the load failed (the kernel's log lines say why) or a modprobe.d line blacklists aufs
              2  bad input
              3  no aufs module for this kernel: aufsctl install
              4  this kernel has no module tree at all
            """)

    @Option(
        name: .customLong("kernel-param"),
        help: ArgumentHelp("A module parameter, e.g. brs=1 (repeatable).", valueName: "K=V"))
    var kernelParams: [String] = []

    func run() throws {
        let loader = ModuleLoader(root: HostRoot()) { SigningProbe.keyHint(root: HostRoot(), kernel: $0) }
        let outcome = try loader.load(parameters: kernelParams)
        print(outcome.message)
    }
}
