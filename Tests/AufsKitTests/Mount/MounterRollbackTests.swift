// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Syscalls that record every mount/umount2 and fail the Nth mount(2) with a chosen errno.
final class RecordingSyscalls: Syscalls, @unchecked Sendable {
    var mounts: [MountCall] = []
    var umounts: [(String, Int32)] = []
    let failAt: Int
    let failWith: Int32

    init(failAt: Int, failWith: Int32 = EINVAL) {
        self.failAt = failAt
        self.failWith = failWith
    }

    func uname() -> Uname { LinuxSyscalls().uname() }
    func geteuid() -> UInt32 { 0 }
    func statfs(_ path: String) -> Result<FSStat, SysErrno> { LinuxSyscalls().statfs(path) }
    func deviceID(_ path: String) -> Result<UInt64, SysErrno> { LinuxSyscalls().deviceID(path) }
    func mount(source: String, target: String, fstype: String, flags: UInt, data: String) -> Result<Void, SysErrno> {
        mounts.append(
            MountCall(source: source, target: unanchored(target), fstype: fstype, flags: flags, data: unanchored(data)))
        return mounts.count == failAt ? .failure(SysErrno(failWith)) : .success(())
    }
    func umount2(_ target: String, flags: Int32) -> Result<Void, SysErrno> {
        umounts.append((unanchored(target), flags))
        return .success(())
    }
    func fsMount(
        fstype: String, source: String, parameters: [FsParameter], readOnly: Bool, target: AnchoredDirectory
    ) -> Result<Void, FsMountError> {
        .failure(FsMountError(step: .open(fstype: "overlay"), errno: SysErrno(ENOSYS)))
    }
    func anchorDirectory(_ path: String) -> Result<AnchoredDirectory, AnchorFailure> {
        LinuxSyscalls().anchorDirectory(path)
    }
    func openDirectory(in dir: AnchoredDirectory, _ name: String) -> Result<AnchoredDirectory, SysErrno> {
        LinuxSyscalls().openDirectory(in: dir, name)
    }
    func makeDirectory(in dir: AnchoredDirectory, _ name: String, mode: UInt32) -> Result<AnchoredDirectory, SysErrno> {
        LinuxSyscalls().makeDirectory(in: dir, name, mode: mode)
    }
    func mountID(in dir: AnchoredDirectory, _ name: String) -> Result<Int, SysErrno> { .success(1) }
    func unmount(in dir: AnchoredDirectory, _ name: String, flags: Int32) -> Result<Void, SysErrno> {
        umounts.append((Paths.join(dir.path, name), flags))
        return .success(())
    }
    func removeTree(in dir: AnchoredDirectory, _ name: String, identity: FileIdentity?) -> TreeRemoval {
        LinuxSyscalls().removeTree(in: dir, name, identity: identity)
    }
}

@Suite struct MounterRollbackTests {
    /// 150 branches with long names need remounts; a failing remount must unmount what was mounted.
    func layout(_ count: Int) -> (TempDir, MountRequest) {
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/mnt")
        var list: [String] = []
        for i in 0..<count {
            let name = d + "/branch-\(i)-" + String(repeating: "x", count: 60)
            makeDir(name)
            list.append(i == 0 ? name : name + "=ro")
        }
        let opts = try! AufsOptions.parse(options: "br=" + list.joined(separator: ":"))
        return (t, MountRequest(options: opts, target: d + "/mnt"))
    }

    @Test(
        .enabled(if: isRoot, "needs root: takes the mount lock in /run/lock"),
        .enabled(if: !aufsRegistered, "aufs is registered; the test fakes the kernel"))
    func failingRemountRollsBack() throws {
        let (t, req) = layout(120)
        let sys = RecordingSyscalls(failAt: 2)
        var m = Mounter(syscalls: sys)
        m.lockPath = t.path + "/lock"
        #expect {
            _ = try m.mount(req)
        } throws: { e in
            guard let e = e as? AufsError else { return false }
            return e.message.contains("EINVAL")
                && e.details.contains { $0.hasPrefix("call 2 of ") && $0.contains("MS_REMOUNT") }
                && e.details.contains { $0.contains("rolled back: unmounted") && $0.contains("after 1 of") }
        }
        #expect(sys.mounts.count == 2)
        #expect(sys.mounts[0].flags == 0 && sys.mounts[0].data.hasPrefix("br="))
        #expect(sys.umounts.count == 1 && sys.umounts[0].0 == req.target && sys.umounts[0].1 == 0)
    }

    @Test(
        .enabled(if: isRoot, "needs root: takes the mount lock in /run/lock"),
        .enabled(if: !aufsRegistered, "aufs is registered; the test fakes the kernel"))
    func failingFirstCallNeedsNoRollback() throws {
        let (t, req) = layout(3)
        let sys = RecordingSyscalls(failAt: 1, failWith: ENODEV)
        var m = Mounter(syscalls: sys)
        m.lockPath = t.path + "/lock"
        #expect {
            _ = try m.mount(req)
        } throws: { e in
            (e as? AufsError).map { $0.message.contains("ENODEV") && $0.message.contains("aufsctl check") } ?? false
        }
        #expect(sys.mounts.count == 1)
        #expect(sys.umounts.isEmpty)
    }

    @Test(
        .enabled(if: isRoot, "needs root: takes the mount lock in /run/lock"),
        .enabled(if: !aufsRegistered, "aufs is registered; the test fakes the kernel"))
    func allCallsSucceedInOrder() throws {
        let (t, req) = layout(120)
        let sys = RecordingSyscalls(failAt: -1)
        var m = Mounter(syscalls: sys)
        m.lockPath = t.path + "/lock"
        let report = try m.mount(req)
        #expect(report.filesystem == .aufs)
        #expect(sys.mounts.count == report.calls.count && sys.mounts.count > 1)
        #expect(sys.mounts.dropFirst().allSatisfy { $0.flags & UInt(MS_REMOUNT) != 0 && $0.data.hasPrefix("append=") })
        #expect(sys.umounts.isEmpty)
        // Every branch reached the kernel once, in order.
        let sent = sys.mounts.flatMap { call in
            call.data.split(separator: ",").flatMap { opt -> [Substring] in
                if opt.hasPrefix("br=") { return opt.dropFirst(3).split(separator: ":") }
                if opt.hasPrefix("append=") { return [opt.dropFirst(7)] }
                return []
            }
        }
        #expect(sent.map(String.init) == report.branches.map(\.spec))
    }
}

@Suite struct BranchOnOverlayTests {
    @Test(.enabled(if: isRoot, "needs root: mounts an overlay"))
    func branchAddRefusesAnOverlayFallbackMount() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["rw", "ro", "extra", "mnt"] { makeDir(d + "/" + n) }
        let m = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./rw:./ro=ro", "./mnt"])
        try #require(m.status == 0, "\(m.stderr)")
        defer { unmountAll(under: d) }
        let r = try await aufsctl(in: d, ["branch", "add", d + "/mnt", "./extra=ro"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("overlay fallback mount") && r.stderr.contains("unmount it and mount again"))
        let u = try await aufsctl(in: d, ["umount", "./mnt"])
        #expect(u.status == 0)
    }
}
