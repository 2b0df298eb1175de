// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct HelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helper",
        abstract: "Install, remove or show /sbin/mount.aufs and /sbin/umount.aufs (links to aufsctl-helper).",
        discussion: """
            mount(8), mount -a, /etc/fstab and systemd .mount units run /sbin/mount.aufs for -t aufs. The \
            links go to aufsctl-helper, installed beside aufsctl (or in ../libexec/aufsctl), a small binary \
            that is only the helper and starts faster; without it, to aufsctl, which is the helper too when \
            started under those names. A foreign helper (aufs-tools') is replaced only with --force and \
            comes back with `helper remove` or `uninstall`.
            """)

    enum Action: String, CaseIterable, ExpressibleByArgument {
        case install, remove, status

        init?(argument: String) { self.init(rawValue: argument) }
        static var allValueStrings: [String] { allCases.map { $0.rawValue } }
        static var allValueDescriptions: [String: String] { [:] }
        var defaultValueDescription: String { rawValue }
    }

    @Argument(help: "install, remove or status.") var action: Action
    @Flag(help: "install: replace a foreign mount.aufs/umount.aufs (moved aside).") var force = false
    @Option(
        help: ArgumentHelp(
            "install: the binary to link to (default: aufsctl-helper beside this aufsctl or in "
                + "../libexec/aufsctl, else this aufsctl).",
            valueName: "PATH"))
    var binary: String?
    @OptionGroup var host: HostOptions

    func run() async throws {
        let links = HelperLinks(root: try host.hostRoot())
        switch action {
        case .status:
            for n in HelperLinks.names { print("\(HelperLinks.path(n)): \(links.state(n))") }
        case .install:
            guard geteuid() == 0 else {
                throw AufsError("helper install writes /sbin and needs root; run it with sudo")
            }
            try links.install(binary: binary ?? HelperLinks.helperBinary(for: HelperLinks.selfBinary()), force: force)
        case .remove:
            guard geteuid() == 0 else { throw AufsError("helper remove writes /sbin and needs root; run it with sudo") }
            try await links.remove()
        }
    }
}
