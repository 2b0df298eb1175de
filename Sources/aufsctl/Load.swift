// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load the aufs module through libkmod (like modprobe aufs), honouring blacklists.")

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
