// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Real sysfs-style reads over a fixture root, each path recorded.
final class RecordingSysfs: SysfsFiles, @unchecked Sendable {
    var reads: [String] = []
    var lists: [String] = []
    func read(_ path: String) -> Result<[UInt8], SysErrno> {
        reads.append(path)
        return RealSysfsFiles().read(path)
    }
    func list(_ path: String) -> [String]? {
        lists.append(path)
        return RealSysfsFiles().list(path)
    }
    func exists(_ path: String) -> Bool { RealSysfsFiles().exists(path) }
}

/// Three aufs unions in a fixture root, each with its sysfs directory (br0..br2, brid*, xi_path).
private func threeUnions(_ t: TempDir) -> (HostRoot, [(target: String, si: String)]) {
    // Targets on this host (umount opens the mount point's parent), listed in the fixture's mountinfo.
    let u = canonical(t.path) + "/u"
    let unions = [(u + "/a", "8c6833fb35c168ec"), (u + "/b", "8c6833fb35c16000"), (u + "/c", "1f2e")]
    let root = fixtureRoot(t, mounts: unions.map { ("aufs", "none", $0.0, "rw,si=\($0.1)") }, filesystems: ["aufs"])
    for (target, si) in unions {
        for (i, b) in ["rw=rw", "ro1=ro", "ro\\0402=ro+wh"].enumerated() {
            t.write("root/sys/fs/aufs/si_\(si)/br\(i)", "\(target)-\(b)\n")
            t.write("root/sys/fs/aufs/si_\(si)/brid\(i)", "\(64 + i)\n")
        }
        t.write("root/sys/fs/aufs/si_\(si)/xi_path", "/run/aufsctl/xino\(target).xino\n")
        t.mkdirs(root.path + target)
        t.mkdirs(target)
    }
    return (root, unions.map { (target: $0.0, si: $0.1) })
}

@Suite struct UnionLockTests {
    @Test func sharedLocksCoexistAndExcludeAnExclusiveOne() throws {
        let t = TempDir()
        let locks = UnionLocks(directory: t.path + "/si")
        let a = try locks.shared("1f2e").get()
        let b = try locks.shared("1f2e").get()
        #expect(throws: AufsError.self) { try locks.exclusive("1f2e", what: "test", timeout: 0.05) }
        a.release()
        b.release()
        let x = try locks.exclusive("1f2e", what: "test", timeout: 0.05)
        guard case .failure(let e) = locks.shared("1f2e", timeout: 0.05) else {
            Issue.record("a shared lock was granted while an exclusive one is held")
            return
        }
        #expect(e.message.contains(t.path + "/si/1f2e.lock") && e.message.contains("50 ms"), "\(e.message)")
        // Another union's lock is independent.
        _ = try locks.shared("2a", timeout: 0).get()
        x.release()
        var st = stat()
        #expect(lstat(t.path + "/si", &st) == 0 && st.st_mode & 0o777 == 0o700)
    }

    /// A reader that waited on a lock file the unmount then removed does not keep that inode: it
    /// locks the path's new file, the one every later locker meets.
    @Test func aRemovedLockFileIsNotKept() throws {
        let t = TempDir()
        let locks = UnionLocks(directory: t.path + "/si")
        let x = try locks.exclusive("ab", what: "test")
        var st = stat()
        #expect(lstat(locks.path("ab"), &st) == 0)
        let before = st.st_ino
        x.removeFileAndRelease()
        #expect(!FileRead.exists(locks.path("ab")))
        let r = try locks.shared("ab").get()
        #expect(lstat(locks.path("ab"), &st) == 0, "the next locker made a new file")
        _ = before
        // A stale file (nobody holds it) blocks nobody.
        r.release()
        _ = try locks.exclusive("ab", what: "test", timeout: 0)
    }

    /// A reader that opened the file before the unmount removed it ends up holding the path's new
    /// file, so the next exclusive locker waits for it (holding the removed inode, it would not).
    @Test func aReaderWaitingOnARemovedFileLocksTheNewOne() async throws {
        let t = TempDir()
        let locks = UnionLocks(directory: t.path + "/si")
        let x = try locks.exclusive("cd", what: "test")
        let dir = t.path
        let reader = Started { () -> Bool in
            guard case .success(let l) = locks.shared("cd", timeout: 20) else { return false }
            writeFile(dir + "/acquired", "")
            while !FileRead.exists(dir + "/done") { usleep(10_000) }
            l.release()
            return true
        }
        // Until the reader has the file open (and waits for the lock).
        func readerHasItOpen() -> Bool {
            // Two fds name the file: the exclusive lock's and the reader's.
            (FileRead.list("/proc/self/fd") ?? []).filter {
                FileRead.readLink("/proc/self/fd/" + $0) == locks.path("cd")
            }.count >= 2
        }
        var waited = 0
        while !readerHasItOpen() && waited < 1000 { usleep(10_000); waited += 1 }
        try #require(waited < 1000, "the reader never opened the lock file")
        x.removeFileAndRelease()
        waited = 0
        while !FileRead.exists(dir + "/acquired") && waited < 2000 { usleep(10_000); waited += 1 }
        try #require(waited < 2000, "the reader never got the lock")
        #expect(throws: AufsError.self, "the reader holds a removed inode, not the path's file") {
            try locks.exclusive("cd", what: "test", timeout: 0)
        }
        writeFile(dir + "/done", "")
        #expect(await reader.value)
        _ = try locks.exclusive("cd", what: "test", timeout: 1)
    }

    /// Status sweeps the lock files of unions that are gone (unmounted by something else): not a
    /// live union's, not one somebody holds.
    @Test func theSweepTakesOnlyUnheldFilesOfGoneUnions() throws {
        let t = TempDir()
        let locks = UnionLocks(directory: t.path + "/si")
        for si in ["a1", "b2", "c3"] { try locks.exclusive(si, what: "test").release() }
        let held = try locks.shared("b2").get()
        locks.sweep(keeping: ["a1"])
        #expect(FileRead.exists(locks.path("a1")), "a live union's file")
        #expect(FileRead.exists(locks.path("b2")), "a held file")
        #expect(!FileRead.exists(locks.path("c3")), "a gone union's file nobody holds")
        held.release()
        locks.sweep(keeping: [])
        #expect(FileRead.list(t.path + "/si") == [])
    }

    @Test func onlyHexIDsAreLockFiles() {
        #expect(UnionLocks.isValidID("8c6833fb35c168ec") && UnionLocks.isValidID("0"))
        for bad in ["", "../x", "8C68", "1/2", "8c6833fb35c168ec0", "g"] {
            #expect(!UnionLocks.isValidID(bad), "\(bad)")
        }
        let t = TempDir()
        guard case .failure = UnionLocks(directory: t.path + "/si").shared("../../etc/x") else {
            Issue.record("a path was locked")
            return
        }
        #expect(!FileRead.exists(t.path + "/si"))
    }

    @Test func aPlantedSymlinkIsRefused() throws {
        let t = TempDir()
        let locks = UnionLocks(directory: t.path + "/si")
        t.mkdirs(t.path + "/si")
        chmod(t.path + "/si", 0o700)
        symlink(t.path + "/elsewhere", locks.path("ab"))
        guard case .failure(let e) = locks.shared("ab") else {
            Issue.record("followed a symlink")
            return
        }
        #expect(e.message.contains("symlink"), "\(e.message)")
        #expect(!FileRead.exists(t.path + "/elsewhere"))
    }
}

@Suite struct UnionReadsTests {
    /// umount reads its own union's sysfs entries only (the branches for the pseudo-link flush,
    /// nothing of the other unions), under its exclusive lock, which it holds through umount2 and
    /// drops with the lock file once the kernel has removed the union's directory.
    @Test func umountReadsItsOwnUnionOnly() throws {
        let t = TempDir()
        let (root, unions) = threeUnions(t)
        let rec = RecordingSysfs()
        let sys = ScriptedSyscalls(root: root)
        var u = Unmounter(syscalls: sys, root: root)
        u.status.sysfs.files = rec
        let mine = unions[1]
        let locks = UnionLocks(root: root)
        var probe: Result<UnionLock, AufsError>?
        sys.umountHook = { _ in
            probe = locks.shared(mine.si, timeout: 0)  // a reader meanwhile
            // The kernel drops the superblock: its sysfs directory goes.
            let argv = ["rm", "-rf", root.path + "/sys/fs/aufs/si_\(mine.si)"]
            var pid: pid_t = 0
            let cargs = argv.map { strdup($0) } + [nil]
            posix_spawnp(&pid, "rm", nil, nil, cargs, environ)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            cargs.forEach { free($0) }
        }
        _ = try u.unmount(mine.target, lazy: false, force: false)
        let dir = root.path + "/sys/fs/aufs/si_\(mine.si)"
        #expect(rec.reads == (0..<3).map { "\(dir)/br\($0)" }, "\(rec.reads)")
        #expect(rec.lists == [dir], "\(rec.lists)")
        guard case .failure(let e) = probe else {
            Issue.record("a reader got the union's lock during umount2")
            return
        }
        #expect(e.message.contains(mine.si + ".lock"))
        #expect(!FileRead.exists(locks.path(mine.si)), "the lock file outlived the union")
        #expect(sys.umounts.map(\.0) == [mine.target])
    }

    /// Without the flush, umount reads no sysfs at all.
    @Test func umountWithoutFlushReadsNothing() throws {
        let t = TempDir()
        let (root, unions) = threeUnions(t)
        let rec = RecordingSysfs()
        var u = Unmounter(syscalls: ScriptedSyscalls(root: root), root: root)
        u.status.sysfs.files = rec
        u.flushPseudoLinks = false
        u.superblockWait = 0
        _ = try u.unmount(unions[0].target, lazy: false, force: false)
        #expect(rec.reads.isEmpty && rec.lists.isEmpty, "\(rec.reads) \(rec.lists)")
    }

    @Test func statusReadsEveryUnionAndOneTargetAlone() throws {
        let t = TempDir()
        let (root, unions) = threeUnions(t)
        let rec = RecordingSysfs()
        var s = StatusReader(root: root)
        s.sysfs.files = rec
        let all = try s.read()
        #expect(all.mounts.map(\.target) == unions.map(\.target))
        let a = unions[0].target
        #expect(all.mounts[0].branches == ["\(a)-rw=rw", "\(a)-ro1=ro", "\(a)-ro 2=ro+wh"], "escapes undone")
        #expect(all.mounts[0].xino == "/run/aufsctl/xino\(a).xino" && all.mounts[0].branchesFrom == "sysfs")
        #expect(rec.reads.count == 3 * 4)
        rec.reads = []
        let one = try s.union(at: unions[2].target, xino: false)
        #expect(one?.branches.count == 3)
        #expect(rec.reads.allSatisfy { $0.contains("si_\(unions[2].si)/br") } && rec.reads.count == 3, "\(rec.reads)")
    }

    /// A union whose lock an unmount holds: status waits, then shows the mount options and says why;
    /// the other unions are read as usual.
    @Test func statusFallsBackToMountinfoWhileAnUnmountHoldsTheLock() throws {
        let t = TempDir()
        let (root, unions) = threeUnions(t)
        let held = try UnionLocks(root: root).exclusive(unions[0].si, what: "test")
        var s = StatusReader(root: root)
        s.lockTimeout = 0.1
        let r = try s.read()
        held.release()
        #expect(r.mounts[0].branches.isEmpty && r.mounts[0].branchesFrom == "mountinfo")
        #expect(r.mounts[0].branchesNote?.contains("\(unions[0].si).lock") == true, "\(r.mounts[0])")
        #expect(r.mounts[1].branchesFrom == "sysfs" && r.mounts[1].branchesNote == nil)
        let json = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
        #expect(json.contains("\"branchesFrom\"") && json.contains("\"branchesNote\""))
    }

    /// A union unmounted while status waited for its lock is left out (its directory is gone).
    @Test func aUnionGoneMeanwhileIsLeftOut() throws {
        let t = TempDir()
        let (root, unions) = threeUnions(t)
        let rec = RecordingSysfs()
        var s = StatusReader(root: root)
        s.sysfs.files = rec
        rename(root.path + "/sys/fs/aufs/si_\(unions[1].si)", root.path + "/sys/fs/aufs/gone")
        let r = try s.read()
        #expect(r.mounts.map(\.target) == [unions[0].target, unions[2].target])
        #expect(!rec.reads.contains { $0.contains(unions[1].si) })
        let locks = UnionLocks(root: root)
        #expect(!FileRead.exists(locks.path(unions[1].si)), "the reader left a lock file for a union that is gone")
        #expect(FileRead.exists(locks.path(unions[0].si)))
    }

    /// A remount holds the mount lock, then the union's lock, through its calls.
    @Test func remountHoldsTheUnionLock() throws {
        let t = TempDir()
        let (root, unions) = threeUnions(t)
        final class ProbingSyscalls: ScriptedSyscalls, @unchecked Sendable {
            var probes: [Bool] = []
            let unionLocks: UnionLocks
            let si: String
            init(locks: UnionLocks, si: String) {
                self.unionLocks = locks
                self.si = si
                super.init()
            }
            override func mount(
                source: String, target: String, fstype: String, flags: UInt, data: String
            ) -> Result<Void, SysErrno> {
                if case .success(let l) = unionLocks.shared(si, timeout: 0) {
                    l.release()
                    probes.append(false)
                } else {
                    probes.append(true)
                }
                return super.mount(source: source, target: target, fstype: fstype, flags: flags, data: data)
            }
        }
        let sys = ProbingSyscalls(locks: UnionLocks(root: root), si: unions[2].si)
        let calls = (0..<2).map {
            MountCall(
                source: "none", target: unions[2].target, fstype: "aufs", flags: UInt(MS_REMOUNT), data: "udba=\($0)")
        }
        try MountExecutor(syscalls: sys, root: root, lockPath: t.path + "/mount.lock").remount(calls, failure: "x")
        #expect(sys.probes == [true, true], "a reader got the lock between the remount calls")
        _ = try UnionLocks(root: root).exclusive(unions[2].si, what: "test", timeout: 0)
    }
}
