// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// The built helper started as mount.aufs / umount.aufs (a link named so), as mount(8) runs it:
/// aufsctl-helper, which `aufsctl helper install` links, or aufsctl itself (`binary: "aufsctl"`).
private func helper(
    _ name: String, _ args: [String], log: String? = nil, binary: String = "aufsctl-helper"
) async throws -> CommandResult {
    let bin = Paths.dirname(FileRead.readLink("/proc/self/exe") ?? "") + "/" + binary
    let dir = TempDir()
    symlink(bin, dir.path + "/" + name)
    var env: [String: String] = [:]
    if let log { env["AUFSCTL_HELPER_LOG"] = log }
    return try await SubprocessRunner().run([dir.path + "/" + name] + args, environment: env)
}

@Suite struct HelperCLITests {
    @Test(arguments: [
        (["none", "/mnt", "--frobnicate"], Int32(1), "unknown flag"),
        (["none"], Int32(1), "DIR is missing"),
        (["none", "/mnt", "-t", "ext4"], Int32(1), "aufs only"),
    ])
    func badInvocation(args: [String], code: Int32, reason: String) async throws {
        let r = try await helper("mount.aufs", args)
        #expect(r.status == code)
        #expect(r.stderr.contains(reason), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
        // aufsctl itself under the same name (links made before aufsctl-helper existed) answers alike.
        let same = try await helper("mount.aufs", args, binary: "aufsctl")
        #expect(same.status == r.status && same.stderr == r.stderr, "\(same.stderr)")
    }

    /// aufsctl-helper under any other name says what it is for: exit 1, one line.
    @Test func helperBinaryUnderItsOwnName() async throws {
        let r = try await helper("aufsctl-helper", ["none", "/mnt"])
        #expect(r.status == 1 && r.stderr.contains("run as mount.aufs or umount.aufs"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func unknownAufsOptionIs32() async throws {
        let t = TempDir()
        t.mkdirs(t.path + "/a")
        t.mkdirs(t.path + "/mnt")
        // -f (fake): everything is checked, nothing is mounted; root is not needed.
        let r = try await helper("mount.aufs", ["none", t.path + "/mnt", "-f", "-o", "br=\(t.path)/a=rw,frobnicate"])
        #expect(r.status == 32)
        #expect(r.stderr.contains("frobnicate") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        let sloppy = try await helper(
            "mount.aufs",
            [
                "none", t.path + "/mnt", "-f", "-s", "-v", "-o",
                "nosuid,nofail,br=\(t.path)/a=rw,frobnicate",
            ])
        #expect(sloppy.status == 0, "\(sloppy.stderr)")
        #expect(sloppy.stderr.contains("ignored the unknown option frobnicate"))
        #expect(
            sloppy.stdout.contains("mount(\"none\", \"\(t.path)/mnt\", \"aufs\", MS_NOSUID, \"br=\(t.path)/a=rw"),
            "\(sloppy.stdout)")
    }

    @Test func missingBranchIs32AndLogged() async throws {
        let t = TempDir()
        t.mkdirs(t.path + "/mnt")
        let log = t.path + "/helper.log"
        let r = try await helper("mount.aufs", ["none", t.path + "/mnt", "-f", "-o", "br=\(t.path)/nope=rw"], log: log)
        #expect(r.status == 32)
        #expect(r.stderr.contains("\(t.path)/nope"))
        let logged = FileRead.string(log) ?? ""
        #expect(logged.hasPrefix("mount.aufs none \(t.path)/mnt -f -o br=\(t.path)/nope=rw\n  exit 32: "), "\(logged)")
    }

    /// AUFSCTL_HELPER_LOG naming a FIFO (anything but a regular file) is not written, and the
    /// helper never waits for a reader.
    @Test func aLogThatIsAFifoNeverBlocks() async throws {
        let t = TempDir()
        let fifo = t.path + "/log.fifo"
        mkfifo(fifo, 0o600)
        symlink(Paths.dirname(FileRead.readLink("/proc/self/exe") ?? "") + "/aufsctl-helper", t.path + "/mount.aufs")
        let start = monotonicSeconds()
        let r = try await SubprocessRunner().run(
            ["timeout", "30", t.path + "/mount.aufs", "none"], environment: ["AUFSCTL_HELPER_LOG": fifo])
        #expect(r.status == 1, "\(r.stderr)")  // 124: timeout killed a helper waiting for a reader
        #expect(monotonicSeconds() - start < 25)
        #expect(r.stderr.contains("AUFSCTL_HELPER_LOG=\(fifo): not logged"), "\(r.stderr)")
    }

    @Test func umountBadInvocation() async throws {
        let r = try await helper("umount.aufs", [])
        #expect(r.status == 1 && r.stderr.contains("DIR is missing"))
        let r2 = try await helper("umount.aufs", ["/mnt", "-z"])
        #expect(r2.status == 1 && r2.stderr.contains("unknown flag -z"))
    }
}
