// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

@testable import AufsKit
@testable import AufsMount

/// A CentOS 7 host's yum, rpm, yum-config-manager, grub2-mkconfig and grubby, acting on a root
/// tree the way the real ones would (enough for the plan's checks), recording every argv.
final class FakeCentOS: CommandRunner, @unchecked Sendable {
    let root: String
    var calls: [[String]] = []
    /// A command (argv joined by spaces, without the chroot prefix) that fails, and its stderr.
    var failing: (String, String)?
    static let kver = "5.13.1-1.el7.x86_64"
    /// What the upstream .repo says about signatures.
    var upstreamGpgCheck = "1"
    /// The bytes yum installs as /boot/vmlinuz-KVER (a signing fixture's PE head, or empty).
    var image: [UInt8] = []

    init(root: String) { self.root = root }

    func which(_ name: String) -> String? { nil }

    func file(_ p: String) -> String { root + p }

    func write(_ p: String, _ s: String) {
        mkdirs(Paths.dirname(file(p)))
        try! AtomicFile.write(file(p), s)
    }

    func mkdirs(_ p: String) { try! AtomicFile.makeDirectories(p) }

    func run(_ full: [String], environment: [String: String]) async throws -> CommandResult {
        var argv = full
        if argv.first == "chroot" { argv.removeFirst(2) }
        calls.append(argv)
        let key = argv.joined(separator: " ")
        if let (f, err) = failing, key == f { return CommandResult(status: 1, stderr: err) }
        switch argv.first {
        case "rpm":
            if FileRead.exists(file("/var/lib/fake-rpm/kernel-ml-aufs")) {
                return CommandResult(status: 0, stdout: FakeCentOS.kver + "\n")
            }
            return CommandResult(status: 1, stdout: "package kernel-ml-aufs is not installed\n")
        case "yum":
            switch argv.dropFirst().joined(separator: " ") {
            case "install -y yum-utils": write("/usr/bin/yum-config-manager", "#!/bin/sh\n")
            case "install -y kernel-ml-aufs":
                write("/var/lib/fake-rpm/kernel-ml-aufs", "")
                mkdirs(file("/boot"))
                try! AtomicFile.write(file("/boot/vmlinuz-\(FakeCentOS.kver)"), image)
                write("/boot/config-\(FakeCentOS.kver)", "CONFIG_MODULES=y\nCONFIG_AUFS_FS=y\n")
            case "remove -y yum-utils": unlink(file("/usr/bin/yum-config-manager"))
            case "remove -y kernel-ml-aufs":
                for p in [
                    "/var/lib/fake-rpm/kernel-ml-aufs", "/boot/vmlinuz-\(FakeCentOS.kver)",
                    "/boot/config-\(FakeCentOS.kver)",
                ] { unlink(file(p)) }
            default: return CommandResult(status: 1, stderr: "fake yum: unexpected \(key)")
            }
            return CommandResult(status: 0)
        case "yum-config-manager":
            write(
                "/etc/yum.repos.d/kernel-ml-aufs.repo",
                "[kernel-ml-aufs]\nname=kernel-ml-aufs\nbaseurl=https://yum.spaceduck.org/kernel-ml-aufs/el7/x86_64\ngpgcheck=\(upstreamGpgCheck)\n"
            )
            return CommandResult(status: 0)
        case "grub2-mkconfig":
            let kernels = (FileRead.list(file("/boot")) ?? []).filter { $0.hasPrefix("vmlinuz-") }.sorted().reversed()
            write(argv[2], kernels.map { "menuentry '\($0)' {\n\tlinux16 /\($0)\n}\n" }.joined())
            return CommandResult(status: 0)
        case "grubby":
            let state = "/var/lib/fake-grubby-default"
            if argv.count == 2 && argv[1] == "--default-kernel" {
                return CommandResult(
                    status: 0, stdout: (FileRead.string(file(state)) ?? "/boot/vmlinuz-3.10.0-1160.el7.x86_64") + "\n")
            }
            if argv.count == 3 && argv[1] == "--set-default" { write(state, argv[2]); return CommandResult(status: 0) }
            return CommandResult(status: 1, stderr: "fake grubby: unexpected \(key)")
        default:
            return CommandResult(status: 127, stderr: "fake: no \(argv.first ?? "")")
        }
    }

    /// The commands that change something (queries left out).
    var mutating: [String] {
        calls.map { $0.joined(separator: " ") }.filter {
            !$0.hasPrefix("rpm -q") && $0 != "grubby --default-kernel"
        }
    }
}

/// Copies a fixture root into a fresh temporary directory.
func copyFixture(_ name: String) -> TempDir {
    let t = TempDir()
    let src = packageRoot() + "/Tests/Fixtures/roots/" + name
    var pid: pid_t = 0
    let argv = ["cp", "-a", src + "/.", t.path + "/"]
    let cargs = argv.map { strdup($0) } + [nil]
    posix_spawnp(&pid, "cp", nil, nil, cargs, environ)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    cargs.forEach { free($0) }
    return t
}
