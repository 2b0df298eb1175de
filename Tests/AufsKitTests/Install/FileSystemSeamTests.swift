// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit

/// Reads from the disk; every change is left to the protocol's defaults, which refuse.
struct ReadOnlyFileSystem: HostFileSystem {
    let local = LocalFileSystem()
    func read(_ path: String) -> Result<[UInt8], SysErrno> { local.read(path) }
    func exists(_ path: String) -> Bool { local.exists(path) }
    func isDirectory(_ path: String) -> Bool { local.isDirectory(path) }
    func list(_ path: String) -> [String]? { local.list(path) }
    func readLink(_ path: String) -> String? { local.readLink(path) }
}

/// The real file system, recording each change it makes.
final class RecordingFileSystem: HostFileSystem, @unchecked Sendable {
    let local = LocalFileSystem()
    var changes: [String] = []
    func read(_ path: String) -> Result<[UInt8], SysErrno> { local.read(path) }
    func exists(_ path: String) -> Bool { local.exists(path) }
    func isDirectory(_ path: String) -> Bool { local.isDirectory(path) }
    func list(_ path: String) -> [String]? { local.list(path) }
    func readLink(_ path: String) -> String? { local.readLink(path) }
    func write(_ path: String, _ bytes: [UInt8], mode: UInt32) throws {
        changes.append("write \(path)")
        try local.write(path, bytes, mode: mode)
    }
    func makeDirectories(_ path: String) throws { try local.makeDirectories(path) }
    func remove(_ path: String) throws {
        changes.append("remove \(path)")
        try local.remove(path)
    }
    func symlink(_ target: String, at path: String) throws {
        changes.append("symlink \(path) -> \(target)")
        try local.symlink(target, at: path)
    }
    func setPermissions(_ path: String, _ mode: UInt32) throws {
        changes.append("chmod \(String(mode, radix: 8)) \(path)")
        try local.setPermissions(path, mode)
    }
}

/// The install wing changes files only through HostFileSystem: a file system that implements no
/// change makes a step fail without touching the disk; a recording one sees every change.
@Suite struct FileSystemSeamTests {
    static let steps = [
        Step(
            id: "conf", title: "c",
            actions: [.writeFile(.init(path: "/etc/modules-load.d/aufs.conf", content: "aufs\n"))]),
        Step(
            id: "grub", title: "g",
            actions: [.setAssignments(.init(file: "/etc/default/grub", [.init("GRUB_DEFAULT", "0")]))]),
        Step(id: "link", title: "l", actions: [.symlink(.init(link: "/etc/systemd/system/x.wants/u", target: "../u"))]),
    ]

    func run(_ t: TempDir, _ fs: any HostFileSystem) async throws -> StepsOutcome {
        let root = HostRoot(t.path)
        let ctx = InstallContext(root: root, runner: ScriptedRunner(), syscalls: FakeSyscalls(), fs: fs)
        let journal = StateJournal(state: InstallState(), root: root, key: .install(.dkms, kernel: "k"))
        return try await Executor(printer: { _ in }).apply(Self.steps, context: ctx, journal: journal, dryRun: false)
    }

    @Test func aFileSystemWithoutChangesRefuses() async throws {
        let t = TempDir()
        t.write("etc/default/grub", "GRUB_DEFAULT=saved\n")
        let outcome = try await run(t, ReadOnlyFileSystem())
        #expect(outcome.stop != nil)
        #expect(outcome.reports.first?.evidence.first?.contains("not supported by this file system") == true)
        #expect(outcome.reports.first?.status == .failed, "\(outcome.reports)")
        #expect(!FileRead.exists(t.path + "/etc/modules-load.d/aufs.conf"))
        #expect(FileRead.string(t.path + "/etc/default/grub") == "GRUB_DEFAULT=saved\n")
    }

    @Test func aRecordingFileSystemSeesEveryChange() async throws {
        let t = TempDir()
        t.write("etc/default/grub", "GRUB_DEFAULT=saved\n")
        let fs = RecordingFileSystem()
        let outcome = try await run(t, fs)
        #expect(outcome.stop == nil && outcome.changed)
        #expect(
            fs.changes == [
                "write \(t.path)/etc/modules-load.d/aufs.conf",
                "write \(t.path)/var/lib/aufsctl/backups/etc_default_grub.0",
                "write \(t.path)/etc/default/grub", "symlink \(t.path)/etc/systemd/system/x.wants/u -> ../u",
            ])
    }
}
