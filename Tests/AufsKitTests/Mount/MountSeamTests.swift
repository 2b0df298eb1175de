// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Syscalls for unit tests without root: the kernel calls are recorded and scripted, the lock is
/// an in-process no-op, and directories are made for real (in the test's temp dirs).
class ScriptedSyscalls: Syscalls, @unchecked Sendable {
    var mounts: [MountCall] = []
    var fsMounts: [[(String, String)]] = []
    var umounts: [(String, Int32)] = []
    var pauses = 0
    var locks = 0
    /// Errors for the next umount2 calls, in order.
    var umountErrors: [Int32] = []
    var mountError: Int32?
    var fsMountFailure: FsMountError? = FsMountError(step: .open(fstype: "overlay"), errno: SysErrno(ENOSYS))
    /// Failures for the next fsMount calls, in order, before `fsMountFailure`.
    var fsMountFailures: [FsMountError] = []
    var fsMountTargets: [String] = []
    var registered: Set<String> = []
    /// mountID answers: by path, else the mount at that path in this mountinfo, else 1.
    var mountIDs: [String: Int] = [:]
    var mountinfo: String?
    /// Runs inside each umount2 (as the kernel would act), before its result.
    var umountHook: ((String) -> Void)?

    final class NoLock: HeldLock { func release() {} }

    init() {}
    /// Mount ids answered from `root`'s mountinfo (the kernel's view a fixture root describes).
    init(root: HostRoot) { mountinfo = root.resolve("/proc/self/mountinfo") }

    func uname() -> Uname { Uname(release: "6.1.0-99-amd64", version: "#1", machine: "x86_64") }
    func geteuid() -> UInt32 { 0 }
    func statfs(_ path: String) -> Result<FSStat, SysErrno> { LinuxSyscalls().statfs(path) }
    func deviceID(_ path: String) -> Result<UInt64, SysErrno> { LinuxSyscalls().deviceID(path) }
    func mount(source: String, target: String, fstype: String, flags: UInt, data: String) -> Result<Void, SysErrno> {
        mounts.append(
            MountCall(source: source, target: unanchored(target), fstype: fstype, flags: flags, data: unanchored(data)))
        return mountError.map { .failure(SysErrno($0)) } ?? .success(())
    }
    func umount2(_ target: String, flags: Int32) -> Result<Void, SysErrno> {
        umounts.append((unanchored(target), flags))
        umountHook?(unanchored(target))
        return umountErrors.isEmpty ? .success(()) : .failure(SysErrno(umountErrors.removeFirst()))
    }
    func fsMount(
        fstype: String, source: String, parameters: [FsParameter], readOnly: Bool, target: AnchoredDirectory
    ) -> Result<Void, FsMountError> {
        fsMounts.append(parameters.map { ($0.key, $0.value) })
        fsMountTargets.append(target.path)
        if !fsMountFailures.isEmpty { return .failure(fsMountFailures.removeFirst()) }
        return fsMountFailure.map { .failure($0) } ?? .success(())
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
    func mountID(in dir: AnchoredDirectory, _ name: String) -> Result<Int, SysErrno> {
        let p = name.isEmpty ? dir.path : Paths.join(dir.path, name)
        if let id = mountIDs[p] { return .success(id) }
        if let mountinfo, let e = MountTable.read(mountinfo)?.mount(at: p) { return .success(e.id) }
        return .success(1)
    }
    func unmount(in dir: AnchoredDirectory, _ name: String, flags: Int32) -> Result<Void, SysErrno> {
        umounts.append((Paths.join(dir.path, name), flags))
        umountHook?(Paths.join(dir.path, name))
        return umountErrors.isEmpty ? .success(()) : .failure(SysErrno(umountErrors.removeFirst()))
    }
    func removeTree(in dir: AnchoredDirectory, _ name: String, identity: FileIdentity?) -> TreeRemoval {
        LinuxSyscalls().removeTree(in: dir, name, identity: identity)
    }
    func lock(_ path: String, what: String) throws -> any HeldLock {
        locks += 1
        return NoLock()
    }
    func pause(microseconds: UInt32) { pauses += 1 }
}

/// A fixture root whose /proc/self/mountinfo lists the given mounts (fstype, source, target, options).
func fixtureRoot(
    _ t: TempDir, mounts: [(String, String, String, String)], filesystems: [String] = ["overlay"]
) -> HostRoot {
    var lines: [String] = []
    for (i, m) in mounts.enumerated() {
        lines.append("\(100 + i) 1 0:\(50 + i) / \(m.2) rw,relatime shared:\(i + 1) - \(m.0) \(m.1) \(m.3)")
    }
    t.write("root/proc/self/mountinfo", lines.joined(separator: "\n") + "\n")
    t.write("root/proc/filesystems", filesystems.map { "nodev\t\($0)" }.joined(separator: "\n") + "\n")
    return HostRoot(t.path + "/root")
}

@Suite struct MountSeamTests {
    func layout(_ t: TempDir) -> String {
        let d = canonical(t.path)
        for n in ["rw", "ro1", "ro2", "mnt"] { makeDir(d + "/" + n) }
        return d
    }

    func request(
        _ d: String, fallback: Fallback = .overlay, dryRun: Bool = false, opts: String = ""
    ) throws -> MountRequest {
        let o = try AufsOptions.parse(options: "br=\(d)/rw:\(d)/ro1=ro:\(d)/ro2=ro" + opts)
        return MountRequest(options: o, target: d + "/mnt", fallback: fallback, dryRun: dryRun)
    }

    /// The planner alone: facts in, plan out, no kernel.
    @Test func plannerChoosesOverlayWhenAufsIsAbsent() throws {
        let t = TempDir()
        let d = layout(t)
        let sys = ScriptedSyscalls()
        let req = try request(d)
        let facts = try MountFacts.gather(req, syscalls: sys, root: fixtureRoot(t, mounts: []))
        #expect(facts.branchLimit == nil, "the kernel config is not read when aufs cannot serve")
        guard case .overlay(let p) = try MountPlanner().plan(req, facts: facts) else {
            Issue.record("expected the overlay fallback"); return
        }
        #expect(p.workdir == d + "/.aufsctl-work.rw")
        #expect(p.layers.map(\.key) == ["lowerdir+", "lowerdir+", "upperdir"], "the workdir is added once made")
        #expect(p.layers.allSatisfy { if case .directory = $0 { return true } else { return false } })
        #expect(p.legacy.data == "lowerdir=\(d)/ro1:\(d)/ro2,upperdir=\(d)/rw,workdir=\(d)/.aufsctl-work.rw")
        #expect(sys.mounts.isEmpty && sys.locks == 0, "planning makes no calls")
    }

    @Test func plannerAufsPlanAndRules() throws {
        let t = TempDir()
        let d = layout(t)
        let req = try request(d, fallback: .none)
        var facts = try MountFacts.gather(req, syscalls: ScriptedSyscalls(), root: fixtureRoot(t, mounts: []))
        facts.aufsRegistered = true
        facts.branchLimit = 127
        guard case .aufs(let p) = try MountPlanner().plan(req, facts: facts) else {
            Issue.record("expected aufs"); return
        }
        #expect(p.calls.count == 1 && p.calls[0].data.hasPrefix("br=\(d)/rw=rw:\(d)/ro1=ro:\(d)/ro2=ro,xino="))
        #expect(p.loadModule == nil && p.ensureXinoDir)
        facts.branchLimit = 2
        #expect(throws: AufsError.self) { try MountPlanner().plan(req, facts: facts) }
        // Geometry is judged before a bad xino=: the first refusal the user sees is the same as before.
        facts.branchLimit = 127
        facts.xino = .failure(AufsError.usage("xino=bad"))
        facts.live = [
            UnionMount(
                target: "/elsewhere", filesystem: .aufs, branches: ["\(d)/rw=rw"], xino: nil, si: nil,
                workdir: nil, options: "")
        ]
        do {
            _ = try MountPlanner().plan(req, facts: facts)
            Issue.record("expected the geometry refusal")
        } catch let e as AufsError {
            #expect(e.message.contains("already the writable branch"), "\(e.message)")
        }
    }

    /// The overlay executor without root: no lowerdir+ (fsopen fails) -> the legacy mount(2); a
    /// failing legacy mount removes the workdir it made.
    @Test func overlayExecutorFallsBackToLegacyMount() throws {
        let t = TempDir()
        let d = layout(t)
        let sys = ScriptedSyscalls()
        let root = fixtureRoot(t, mounts: [])
        var m = Mounter(syscalls: sys, root: root)
        m.lockPath = d + "/lock"
        let r = try m.mount(try request(d))
        #expect(r.filesystem == .overlay && sys.fsMounts.count == 1 && sys.mounts.count == 1 && sys.locks == 1)
        #expect(r.calls == [SyscallRecord(sys.mounts[0])])
        #expect(r.calls[0].syscall == "mount" && r.calls[0].fstype == "overlay" && r.calls[0].flags == [])
        #expect(FileRead.isDirectory(d + "/.aufsctl-work.rw"))
        rmdir(d + "/.aufsctl-work.rw")
        sys.mountError = EINVAL
        #expect(throws: AufsError.self) { try m.mount(try request(d)) }
        #expect(!FileRead.exists(d + "/.aufsctl-work.rw"), "the workdir made for a failed mount is removed")
    }

    /// --mkdir through the executor: the mount point is made under the lock and removed on failure.
    @Test func executorRemovesTheMountPointItMadeOnFailure() throws {
        let t = TempDir()
        let d = layout(t)
        let sys = ScriptedSyscalls()
        sys.mountError = EINVAL
        let m = Mounter(syscalls: sys, root: fixtureRoot(t, mounts: []))
        var req = try request(d, fallback: .none)
        req.target = d + "/new/mnt"
        req.mkdir = true
        #expect(throws: AufsError.self) { try m.mount(req) }
        #expect(sys.mounts.count == 1 && sys.mounts[0].target == d + "/new/mnt")
        #expect(!FileRead.exists(d + "/new"))
    }

    @Test func executorRefusesABusyMountPoint() throws {
        let t = TempDir()
        let d = layout(t)
        let sys = ScriptedSyscalls()
        let root = fixtureRoot(t, mounts: [("tmpfs", "tmpfs", d + "/mnt", "rw")])
        do {
            _ = try Mounter(syscalls: sys, root: root).mount(try request(d, fallback: .none))
            Issue.record("expected a refusal")
        } catch let e as AufsError {
            #expect(e.message.contains("already a mount point"), "\(e.message)")
        }
        #expect(sys.mounts.isEmpty)
    }

    @Test func unmounterRetriesBusyAndRemovesTheWorkdir() throws {
        let t = TempDir()
        let d = layout(t)
        makeDir(d + "/.aufsctl-work.rw")
        makeDir(d + "/.aufsctl-work.rw/work")
        let root = fixtureRoot(
            t,
            mounts: [
                (
                    "overlay", "aufsctl", d + "/mnt",
                    "rw,lowerdir=\(d)/ro1:\(d)/ro2,upperdir=\(d)/rw,workdir=\(d)/.aufsctl-work.rw"
                )
            ])
        let sys = ScriptedSyscalls(root: root)
        sys.umountErrors = [EBUSY, EBUSY]
        let r = try Unmounter(syscalls: sys, root: root).unmount(d + "/mnt", lazy: false, force: false)
        #expect(r.attempts == 3 && sys.pauses == 2 && r.schema == "aufsctl.umount/1")
        #expect(r.removedWorkdir == d + "/.aufsctl-work.rw" && !FileRead.exists(d + "/.aufsctl-work.rw"))
        sys.umountErrors = Array(repeating: EBUSY, count: 10)
        do {
            _ = try Unmounter(syscalls: sys, root: root).unmount(d + "/mnt", lazy: false, force: false)
            Issue.record("expected EBUSY to be reported")
        } catch let e as AufsError {
            #expect(e.message.contains("failed after 6 attempts"), "\(e.message)")
        }
    }

    @Test func unmounterRefusesForeignMounts() throws {
        let t = TempDir()
        let d = layout(t)
        let root = fixtureRoot(t, mounts: [("ext4", "/dev/sda1", d + "/mnt", "rw")])
        let sys = ScriptedSyscalls(root: root)
        #expect(throws: AufsError.self) {
            try Unmounter(syscalls: sys, root: root).unmount(d + "/mnt", lazy: false, force: false)
        }
        #expect(sys.umounts.isEmpty)
        _ = try Unmounter(syscalls: sys, root: root).unmount(d + "/mnt", lazy: true, force: true)
        #expect(sys.umounts.count == 1 && sys.umounts[0].1 == Int32(MNT_DETACH))
    }

    @Test func statusReadsBranchesFromSysfs() throws {
        let t = TempDir()
        let d = layout(t)
        let root = fixtureRoot(
            t,
            mounts: [
                ("aufs", "none", d + "/mnt", "rw,si=1f2e,xino=/run/x.xino"),
                ("overlay", "overlay", "/var/lib/docker/x", "rw,lowerdir=/a,upperdir=/b,workdir=/c"),
            ])
        t.write("root/sys/fs/aufs/si_1f2e/br0", "\(d)/rw=rw\n")
        t.write("root/sys/fs/aufs/si_1f2e/br1", "\(d)/ro1=ro\n")
        t.write("root/sys/fs/aufs/si_1f2e/br10", "\(d)/ro2=ro\n")
        t.write("root/sys/fs/aufs/si_1f2e/xi_path", "/run/aufsctl/xino/mnt.xino\n")
        let s = try StatusReader(root: root).read()
        #expect(s.mounts.count == 1, "overlays not made by aufsctl are not listed")
        #expect(s.mounts[0].branches == ["\(d)/rw=rw", "\(d)/ro1=ro", "\(d)/ro2=ro"])
        #expect(s.mounts[0].xino == "/run/aufsctl/xino/mnt.xino" && s.mounts[0].si == "1f2e")
    }

    @Test func branchEditorPlansAndMakesTheRemount() throws {
        let t = TempDir()
        let d = layout(t)
        makeDir(d + "/ro3")
        let root = fixtureRoot(
            t, mounts: [("aufs", "none", d + "/mnt", "rw,si=7,br:\(d)/rw=rw:\(d)/ro1=ro:\(d)/gone=ro")])
        let sys = ScriptedSyscalls(root: root)
        var editor = BranchEditor(syscalls: sys, root: root)
        editor.lockPath = d + "/lock"
        let add = try editor.edit(.add, target: d + "/mnt", branch: d + "/ro3", index: nil, dryRun: false)
        #expect(add.data == "append=\(d)/ro3=ro" && add.flags == UInt(MS_REMOUNT | MS_RELATIME))
        // A branch whose directory vanished is still named by its path for del.
        let del = try editor.edit(.del, target: d + "/mnt", branch: d + "/gone", index: nil, dryRun: false)
        #expect(del.data == "del=\(d)/gone")
        #expect(sys.mounts.map(\.data) == [add.data, del.data] && sys.locks == 2)
        #expect(throws: AufsError.self) {
            try editor.edit(.del, target: d + "/mnt", branch: d + "/ro2", index: nil, dryRun: false)
        }
        sys.mountError = EINVAL
        do {
            _ = try editor.edit(.mod, target: d + "/mnt", branch: d + "/ro1=rw", index: nil, dryRun: false)
            Issue.record("expected the kernel's refusal")
        } catch let e as AufsError {
            #expect(e.message.hasPrefix("branch mod failed: EINVAL"), "\(e.message)")
        }
    }

    /// A branch remount passes the union's current flags again (the kernel resets what a remount
    /// leaves out): a ro,nosuid,nodev union stays so.
    @Test func branchRemountKeepsTheMountFlags() throws {
        let t = TempDir()
        let d = layout(t)
        makeDir(d + "/ro3")
        t.write(
            "root/proc/self/mountinfo",
            "100 1 0:50 / \(d)/mnt ro,nosuid,nodev,noatime shared:1 - aufs none ro,si=7,br:\(d)/rw=ro:\(d)/ro1=ro\n")
        t.write("root/proc/filesystems", "nodev\taufs\n")
        let sys = ScriptedSyscalls(root: HostRoot(t.path + "/root"))
        var editor = BranchEditor(syscalls: sys, root: HostRoot(t.path + "/root"))
        editor.lockPath = d + "/lock"
        let call = try editor.edit(.add, target: d + "/mnt", branch: d + "/ro3", index: nil, dryRun: false)
        #expect(call.flags == UInt(MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOATIME), "\(call.flags)")
    }

    /// The whiteout scan reads d_type from getdents64: it counts `.wh.*` and `.wh..wh..opq` at any
    /// depth, skips aufs's bookkeeping names, does not follow symlinks, and names the smallest
    /// whiteout of the first directory (in the order given) that has one.
    @Test func whiteoutScanCountsAtEveryDepth() throws {
        let t = TempDir()
        let d = canonical(t.path)
        t.write("a/plain", "")
        t.write("b/sub/deeper/.wh.zz", "")
        t.write("b/sub/deeper/.wh.aa", "")
        t.write("b/.wh..wh..opq", "")
        t.write("b/.wh..wh.plnk/12.3", "")  // aufs bookkeeping: neither counted nor a whiteout
        t.write("c/.wh.x", "")
        t.write("target/.wh.behind-a-link", "")
        makeDir(d + "/c/empty")
        #expect(symlink(d + "/target", d + "/c/link") == 0)
        #expect(MountFacts.countWhiteouts([d + "/a"]) == (0, nil))
        let r = MountFacts.countWhiteouts([d + "/a", d + "/b", d + "/c"])
        #expect(r.count == 4 && r.first == d + "/b/.wh..wh..opq", "\(r)")
        let deep = MountFacts.countWhiteouts([d + "/b/sub"])
        #expect(deep.count == 2 && deep.first == d + "/b/sub/deeper/.wh.aa", "\(deep)")
        #expect(MountFacts.countWhiteouts([d + "/missing"]) == (0, nil))
        #expect(MountFacts.countWhiteouts([d + "/b"], limit: 1).count == 1, "the limit stops the walk")
    }

    /// Branch paths are compared as bytes: "\u{e9}" and "e\u{301}" are equal as Swift Strings but
    /// name two directories, and neither is a duplicate of the other.
    @Test func branchPathsAreComparedAsBytes() throws {
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/\u{e9}")
        makeDir(d + "/e\u{301}")
        let v = BranchValidator(syscalls: LinuxSyscalls(), cwd: d)
        let b = try v.validate([RawBranch(path: d + "/\u{e9}"), RawBranch(path: d + "/e\u{301}")])
        #expect(b.map { Array($0.path.utf8) } == [Array((d + "/\u{e9}").utf8), Array((d + "/e\u{301}").utf8)])
        #expect(throws: AufsError.self) {
            try v.validate([RawBranch(path: d + "/\u{e9}"), RawBranch(path: d + "/\u{e9}/../\u{e9}")])
        }
        // A name that merely starts like an earlier branch is not inside it.
        makeDir(d + "/\u{e9}x")
        #expect(try v.validate([RawBranch(path: d + "/\u{e9}"), RawBranch(path: d + "/\u{e9}x")]).count == 2)
        #expect(BranchValidator.ancestors(Array("/a/b".utf8)) == [Array("/".utf8), Array("/a".utf8)])
        #expect(BranchValidator.ancestors(Array("/".utf8)).isEmpty)
    }
}
