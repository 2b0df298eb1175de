// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct HelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helper",
        abstract: "Install, remove or show /usr/sbin/mount.aufs and /usr/sbin/umount.aufs (links to aufsctl-helper).",
        discussion: """
            mount(8), mount -a, /etc/fstab and systemd .mount units run /sbin/mount.aufs for -t aufs (/sbin is \
            /usr/sbin on a merged-/usr host). The links go to aufsctl-helper, installed beside aufsctl (or in \
            ../libexec/aufsctl), a small binary that is only the helper and starts faster; without it, to \
            aufsctl, which is the helper too when started under those names. A foreign helper (aufs-tools') is \
            replaced only with --force and comes back with `helper remove` or `uninstall`. The Debian package \
            ships the links itself. See mount.aufs(8).

            Examples:
              aufsctl helper status
              aufsctl helper install
              aufsctl helper remove

            Exit status:
              0  done (status: shown)
              1  not root, or a link could not be made
              2  a foreign helper is there (--force moves it aside), or an unknown action
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
            valueName: "PATH"),
        completion: .file())
    var binary: String?
    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
        let links = HelperLinks(root: root)
        switch action {
        case .status:
            for n in HelperLinks.names { print("\(HelperLinks.path(n)): \(links.state(n))") }
            for w in links.unsafeHelpers() { Terminal.error("aufsctl: warning: " + w) }
        case .install:
            guard geteuid() == 0 else {
                throw AufsError("helper install writes \(HelperLinks.directory) and needs root; run it with sudo")
            }
            try links.install(binary: binary ?? HelperLinks.helperBinary(for: HelperLinks.selfBinary()), force: force)
            // util-linux looks for helpers in /sbin alone; only a merged /usr makes that /usr/sbin.
            var sbin = stat()
            var usrSbin = stat()
            if stat(root.resolve("/sbin"), &sbin) == 0, stat(root.resolve(HelperLinks.directory), &usrSbin) == 0,
                sbin.st_dev != usrSbin.st_dev || sbin.st_ino != usrSbin.st_ino
            {
                Terminal.error(
                    "aufsctl: warning: /sbin is not \(HelperLinks.directory) on this host (/usr is not merged), and "
                        + "mount(8) looks for helpers in /sbin only: merge /usr (the usrmerge package), or link "
                        + "/sbin/mount.aufs and /sbin/umount.aufs to \(HelperLinks.directory)'s")
            }
        case .remove:
            guard geteuid() == 0 else {
                throw AufsError("helper remove writes \(HelperLinks.directory) and needs root; run it with sudo")
            }
            try await links.remove()
        }
    }
}
