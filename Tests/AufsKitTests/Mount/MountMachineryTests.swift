// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

private func inode(_ p: String) -> UInt64 {
    var st = stat()
    precondition(stat(p, &st) == 0, p)
    return UInt64(st.st_ino)
}

/// A fake union: HostRoot(tmp) with /mnt (the union's view), /rw (writable branch), /ro, and
/// /proc/fs/aufs/plink_maint as a regular file that records what is written to it.
private func fakeUnion(_ t: TempDir, plinks: Bool = true, options: String = "rw,si=1a2b") -> UnionMount {
    t.write("mnt/dir/linked-a", "x")
    _ = link(t.path + "/mnt/dir/linked-a", t.path + "/mnt/dir/linked-b")
    t.write("mnt/plain", "y")
    t.mkdirs(t.path + "/rw/.wh..wh.plnk")
    t.mkdirs(t.path + "/ro/.wh..wh.plnk")
    t.write("proc/fs/aufs/plink_maint", "")
    if plinks {
        t.write("rw/.wh..wh.plnk/\(inode(t.path + "/mnt/dir/linked-a")).777", "")
        t.write("rw/.wh..wh.plnk/not-a-plink", "")
        t.write("ro/.wh..wh.plnk/\(inode(t.path + "/mnt/plain")).1", "")  // ro branch: ignored, as auplink does
    }
    return UnionMount(
        target: "/mnt", filesystem: .aufs, branches: ["/rw=rw", "/ro=ro"], xino: nil, si: "1a2b",
        workdir: nil, options: options)
}

@Suite struct PseudoLinkTests {
    @Test func listFindsEveryNameOfAPseudoLinkedInode() {
        let t = TempDir()
        let m = fakeUnion(t)
        let r = PseudoLinks(root: HostRoot(t.path)).list(m)
        #expect(r.entries.map(\.branch) == ["/rw"])
        #expect(r.entries[0].branchInode == 777)
        #expect(r.paths == [t.path + "/mnt/dir/linked-a", t.path + "/mnt/dir/linked-b"])
        #expect(FileRead.string(t.path + "/proc/fs/aufs/plink_maint") == "")  // list never enters maintenance
    }

    @Test func flushFollowsAuplink() throws {
        let t = TempDir()
        let m = fakeUnion(t)
        let entry = FileRead.list(t.path + "/rw/.wh..wh.plnk")!.first { $0.hasSuffix(".777") }!
        let r = try PseudoLinks(root: HostRoot(t.path)).flush(m)
        // si=<id> first (maintenance), then clean, on one open file.
        #expect(FileRead.string(t.path + "/proc/fs/aufs/plink_maint") == "si=1a2bclean")
        #expect(r.paths == [t.path + "/mnt/dir/linked-a", t.path + "/mnt/dir/linked-b"])
        #expect(r.removed == ["/rw/.wh..wh.plnk/" + entry])
        #expect(!FileRead.exists(t.path + "/rw/.wh..wh.plnk/" + entry))
        #expect(FileRead.exists(t.path + "/rw/.wh..wh.plnk/not-a-plink"))
        #expect(FileRead.list(t.path + "/ro/.wh..wh.plnk")!.count == 1)
        #expect(FileRead.string(t.path + "/mnt/dir/linked-b") == "x")
    }

    @Test func whichRemountsNeedAFlush() {
        #expect(PseudoLinks.remountNeedsFlush("del=/a"))
        #expect(PseudoLinks.remountNeedsFlush("udba=none,mod=/rw=ro"))
        #expect(PseudoLinks.remountNeedsFlush("add=1:/x=ro"))
        #expect(PseudoLinks.remountNeedsFlush("append=/x=ro"))
        #expect(PseudoLinks.remountNeedsFlush("noplink"))
        #expect(!PseudoLinks.remountNeedsFlush(""))
        #expect(!PseudoLinks.remountNeedsFlush("udba=notify,plink"))
    }

    @Test func emptyPlinkDirectorySkipsEverything() throws {
        let t = TempDir()
        let m = fakeUnion(t, plinks: false)
        unlink(t.path + "/proc/fs/aufs/plink_maint")  // would fail if it were opened
        let r = try PseudoLinks(root: HostRoot(t.path)).flush(m)
        #expect(r.skipped?.contains("empty") == true)
        #expect(r.removed.isEmpty)
    }

    @Test func noplinkSkips() throws {
        let t = TempDir()
        let m = fakeUnion(t, options: "rw,si=1a2b,noplink")
        let r = try PseudoLinks(root: HostRoot(t.path)).flush(m)
        #expect(r.skipped == "mounted with noplink")
        #expect(FileRead.string(t.path + "/proc/fs/aufs/plink_maint") == "")
    }

    @Test func missingMaintenanceFileNamesTheWayOut() {
        let t = TempDir()
        let m = fakeUnion(t)
        unlink(t.path + "/proc/fs/aufs/plink_maint")
        do {
            _ = try PseudoLinks(root: HostRoot(t.path)).flush(m)
            Issue.record("flushed without plink_maint")
        } catch let e as AufsError {
            #expect(e.message.contains("/proc/fs/aufs/plink_maint") && e.message.contains("--no-plink-flush"))
        } catch { Issue.record("\(error)") }
        #expect(FileRead.list(t.path + "/rw/.wh..wh.plnk")!.count == 2)  // nothing removed
    }
}

@Suite struct BusyHoldersTests {
    @Test func cwdRootFdAndMapsFromAFakeProc() {
        let t = TempDir()
        t.mkdirs(t.path + "/union/sub")
        t.write("union/file", "z")
        var st = stat()
        stat(t.path + "/union", &st)
        let dev = UInt64(st.st_dev)
        let maj = String(aufsctlMajor(dev), radix: 16)
        let min = String(aufsctlMinor(dev), radix: 16)
        // 100: cwd and fd 3 in the union; 200: root there and a mapping; 300: elsewhere (procfs).
        t.mkdirs(t.path + "/proc/100/fd")
        symlink(t.path + "/union/sub", t.path + "/proc/100/cwd")
        symlink("/proc", t.path + "/proc/100/root")
        symlink(t.path + "/union/file", t.path + "/proc/100/fd/3")
        symlink("/proc/self", t.path + "/proc/100/fd/0")
        t.write("proc/100/comm", "bash\n")
        t.mkdirs(t.path + "/proc/200/fd")
        symlink("/proc", t.path + "/proc/200/cwd")
        symlink(t.path + "/union", t.path + "/proc/200/root")
        t.write(
            "proc/200/maps",
            "7f00-7f10 r-xp 00000000 00:00 0 [vdso]\n"
                + "7f10-7f20 r-xp 00001000 \(maj):\(min) 1234 /union/lib.so\n")
        t.write("proc/200/comm", "daemon\n")
        t.mkdirs(t.path + "/proc/300/fd")
        symlink("/proc", t.path + "/proc/300/cwd")
        symlink("/proc", t.path + "/proc/300/root")
        t.write("proc/300/maps", "7f00-7f10 r-xp 00000000 00:00 0 [vdso]\n")
        t.mkdirs(t.path + "/proc/sys")  // not a pid
        let h = BusyHolders(proc: t.path + "/proc").holders(device: dev, excluding: -1)
        #expect(
            h == [
                BusyHolders.Holder(pid: 100, command: "bash", uses: ["cwd", "fd 3"]),
                BusyHolders.Holder(pid: 200, command: "daemon", uses: ["root", "mmap"]),
            ])
        #expect(BusyHolders.sentence(h, target: "/u") == "held by 100 (bash): cwd, fd 3; 200 (daemon): root, mmap")
        #expect(BusyHolders.sentence([], target: "/u").contains("no process"))
    }

    @Test func realProcFindsThisProcessCwd() {
        let t = TempDir()
        var st = stat()
        stat(t.path, &st)
        // This test process holds an open directory fd on the temp dir: it must be found.
        let fd = open(t.path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        let h = BusyHolders().holders(device: UInt64(st.st_dev), excluding: -1)
        #expect(h.contains { $0.pid == getpid() && $0.uses.contains("fd \(fd)") })
    }
}

private func aufsctlMajor(_ d: UInt64) -> UInt32 { UInt32((d >> 8) & 0xfff) | UInt32((d >> 32) & ~UInt64(0xfff)) }
private func aufsctlMinor(_ d: UInt64) -> UInt32 { UInt32(d & 0xff) | UInt32((d >> 12) & ~UInt64(0xff)) }

@Suite struct PersistTests {
    @Test(arguments: ["/mnt", "/srv/a-b", "/srv/my union", "/.hidden/x", "/", "//srv//u/", "/srv/ü:é_x.y", "/a\\b%c"])
    func unitNameIsSystemdEscape(path: String) async throws {
        let r = try await SubprocessRunner().run(["systemd-escape", "--path", "--suffix=mount", path])
        try #require(r.succeeded, "systemd-escape is needed (systemd package)")
        #expect(SystemdUnit.name(forPath: path) == r.stdout.trimmingBlanks)
    }

    @Test func unitText() {
        let s = PersistSpec(
            target: "/srv/c1", branches: ["/srv/rw=rw", "/srv/50%/img=ro"], xino: "/var/x/c.xino",
            options: ["udba=none"])
        let u = SystemdUnit.text(s)
        #expect(u.contains("\nWhat=none\nWhere=/srv/c1\nType=aufs\n"))
        #expect(u.contains("\nOptions=br=/srv/rw=rw:/srv/50%%/img=ro,xino=/var/x/c.xino,udba=none\n"))
        #expect(u.contains("\nRequiresMountsFor=/srv/rw /srv/50%%/img /var/x\n"))
        #expect(u.contains("\nAfter=systemd-modules-load.service\n"))
        #expect(u.contains("\n[Install]\nWantedBy=local-fs.target\n"))
    }

    @Test func fstabLineGoesAfterTheMountsOfItsBranches() throws {
        let fstab = """
            # comment
            UUID=1 / ext4 defaults 0 1
            UUID=2 /srv ext4 defaults 0 2
            UUID=3 /home ext4 defaults 0 2
            tmpfs /srv/tmp tmpfs defaults 0 0
            UUID=4 /data xfs defaults 0 2

            """
        let s = PersistSpec(target: "/mnt/u", branches: ["/srv/tmp/rw=rw", "/srv/img=ro"])
        let out = try FstabLine.insert(s, into: fstab)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines[5] == FstabLine.marker("/mnt/u"))
        #expect(lines[6] == "none /mnt/u aufs br=/srv/tmp/rw=rw:/srv/img=ro 0 0")
        #expect(lines[4].hasPrefix("tmpfs /srv/tmp"))
        #expect(lines[7].hasPrefix("UUID=4 /data"))
        // Again: the line is replaced, not doubled.
        #expect(try FstabLine.insert(s, into: out) == out)
        #expect(FstabLine.remove(target: "/mnt/u", from: out) == fstab)
        let spaced = PersistSpec(target: "/mnt/my u", branches: ["/a b=rw"])
        #expect(FstabLine.line(spaced) == "none /mnt/my\\040u aufs br=/a\\040b=rw 0 0")
        #expect(FstabLine.unescape("/mnt/my\\040u") == "/mnt/my u")
        #expect(throws: AufsError.self) { try FstabLine.insert(s, into: "UUID=9 /mnt/u ext4 defaults 0 2\n") }
    }

    @Test func persistAndRemoveUnderARoot() async throws {
        let t = TempDir()
        t.write("etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
        let root = HostRoot(t.path)
        let runner = ScriptedRunner()
        let p = Persister(root: root, runner: runner, printer: { _ in })
        let s = PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw", "/srv/ro=ro"])
        try await p.apply(s, via: .systemd)
        let unit = t.path + "/etc/systemd/system/srv-u.mount"
        #expect(FileRead.string(unit) == SystemdUnit.text(s))
        #expect(FileRead.readLink(t.path + "/etc/systemd/system/local-fs.target.wants/srv-u.mount") == "../srv-u.mount")
        #expect(FileRead.string(t.path + "/etc/modules-load.d/aufs.conf") == "aufs\n")
        let rec = try UnionRecords(root: root).records()
        #expect(rec.count == 1 && rec[0].target == "/srv/u" && rec[0].via == "systemd-unit srv-u.mount")
        // fstab way for a second union; the first stays.
        let s2 = PersistSpec(target: "/srv/v", branches: ["/srv/rw2=rw"])
        try await p.apply(s2, via: .fstab)
        #expect(
            FileRead.string(t.path + "/etc/fstab")
                == "UUID=1 / ext4 defaults 0 1\n\(FstabLine.marker("/srv/v"))\nnone /srv/v aufs br=/srv/rw2=rw 0 0\n")
        #expect(try await p.remove(target: "/srv/u"))
        #expect(!FileRead.exists(unit))
        #expect(FileRead.readLink(t.path + "/etc/systemd/system/local-fs.target.wants/srv-u.mount") == nil)
        #expect(FileRead.exists(t.path + "/etc/modules-load.d/aufs.conf"))  // /srv/v still uses it
        #expect(try await p.remove(target: "/srv/v"))
        #expect(FileRead.string(t.path + "/etc/fstab") == "UUID=1 / ext4 defaults 0 1\n")
        #expect(!FileRead.exists(t.path + "/etc/modules-load.d/aufs.conf"))
        #expect(try await !p.remove(target: "/srv/v"))
        #expect(try UnionRecords(root: root).records().isEmpty)
        #expect(runner.calls.isEmpty)  // no systemctl for a --root tree
    }

    /// Two unions in fstab: removing one takes its line only; the other's line and an edit the
    /// administrator made meanwhile stay.
    @Test func fstabRemoveTakesOnlyItsLine() async throws {
        let t = TempDir()
        t.write("etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
        let p = Persister(root: HostRoot(t.path), runner: ScriptedRunner(), printer: { _ in })
        try await p.apply(PersistSpec(target: "/srv/a", branches: ["/srv/ra=rw"]), via: .fstab)
        try await p.apply(PersistSpec(target: "/srv/b", branches: ["/srv/rb=rw"]), via: .fstab)
        let edited = (FileRead.string(t.path + "/etc/fstab") ?? "") + "tmpfs /tmp tmpfs defaults 0 0\n"
        t.write("etc/fstab", edited)
        #expect(try await p.remove(target: "/srv/a"))
        #expect(
            FileRead.string(t.path + "/etc/fstab")
                == "UUID=1 / ext4 defaults 0 1\n\(FstabLine.marker("/srv/b"))\nnone /srv/b aufs br=/srv/rb=rw 0 0\n"
                + "tmpfs /tmp tmpfs defaults 0 0\n")
        #expect(try await p.remove(target: "/srv/b"))
        #expect(FileRead.string(t.path + "/etc/fstab") == "UUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs defaults 0 0\n")
    }

    /// What would break out of a unit file, an fstab field or the emitted heredoc is refused.
    @Test(arguments: [
        PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw"], options: ["udba=reval\nExecStart=/bin/sh"]),
        PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw"], xino: "/run/x\nAUFSCTL_EOF\nid"),
        PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw"], options: ["create=rr\\"]),
        PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw"], xino: "relative.xino"),
    ])
    func unsafeSpecsAreRefused(_ s: PersistSpec) async throws {
        let t = TempDir()
        let p = Persister(root: HostRoot(t.path), printer: { _ in })
        #expect(throws: AufsError.self) { try p.shellScript(s, via: .systemd) }
        #expect(throws: AufsError.self) { try p.preview(s, via: .systemd) }
        await #expect(throws: AufsError.self) { try await p.apply(s, via: .systemd) }
        #expect(!FileRead.exists(t.path + "/etc/systemd/system/srv-u.mount"))
    }

    @Test func emitShWritesTheSameUnit() async throws {
        let t = TempDir()
        let s = PersistSpec(target: "/srv/it's", branches: ["/srv/rw=rw"])
        let script = try Persister(root: HostRoot(t.path), printer: { _ in }).shellScript(s, via: .systemd)
        t.write("persist.sh", script)
        let r = try await SubprocessRunner().run(["env", "ROOT=" + t.path, "sh", t.path + "/persist.sh"])
        #expect(r.succeeded, "\(r.stderr)")
        let name = SystemdUnit.name(forPath: "/srv/it's")
        #expect(FileRead.string(t.path + "/etc/systemd/system/" + name) == SystemdUnit.text(s))
        #expect(FileRead.readLink(t.path + "/etc/systemd/system/local-fs.target.wants/" + name) == "../" + name)
        #expect(FileRead.string(t.path + "/etc/modules-load.d/aufs.conf") == "aufs\n")
    }
}

@Suite(.enabled(if: isRoot, "needs root: the links go only to a root-owned binary"))
struct HelperLinksTests {
    @Test func installRefusesForeignThenForceAndRemoveRestore() async throws {
        let t = TempDir()
        t.write("usr/sbin/mount.aufs", "#!/bin/sh\necho aufs-tools\n")
        chmod(t.path + "/usr/sbin/mount.aufs", 0o755)
        t.write("usr/local/bin/aufsctl", "")
        chmod(t.path + "/usr/local/bin/aufsctl", 0o755)
        let root = HostRoot(t.path)
        let links = HelperLinks(root: root, runner: SubprocessRunner(), printer: { _ in })
        #expect(throws: AufsError.self) { try links.install(binary: "/usr/local/bin/aufsctl", force: false) }
        #expect(links.state("umount.aufs") == .missing)  // refused: nothing changed
        try links.install(binary: "/usr/local/bin/aufsctl", force: true)
        #expect(links.state("mount.aufs") == .ours("/usr/local/bin/aufsctl"))
        #expect(links.state("umount.aufs") == .ours("/usr/local/bin/aufsctl"))
        #expect(FileRead.exists(t.path + "/usr/sbin/mount.aufs.aufsctl-saved"))
        try await links.remove()
        #expect(FileRead.string(t.path + "/usr/sbin/mount.aufs") == "#!/bin/sh\necho aufs-tools\n")
        var st = stat()
        stat(t.path + "/usr/sbin/mount.aufs", &st)
        #expect(st.st_mode & 0o777 == 0o755)
        #expect(links.state("umount.aufs") == .missing)
    }

    /// The links go to aufsctl-helper beside aufsctl, else in ../libexec/aufsctl (the package's
    /// layout), else to aufsctl itself; a link to either is aufsctl's.
    @Test func theHelperBinaryIsFoundBesideOrInLibexec() throws {
        let t = TempDir()
        t.write("usr/bin/aufsctl", "")
        t.write("usr/libexec/aufsctl/aufsctl-helper", "")
        #expect(HelperLinks.helperBinary(for: t.path + "/usr/bin/aufsctl") == t.path + "/usr/bin/aufsctl")
        chmod(t.path + "/usr/libexec/aufsctl/aufsctl-helper", 0o755)
        #expect(
            HelperLinks.helperBinary(for: t.path + "/usr/bin/aufsctl")
                == t.path + "/usr/libexec/aufsctl/aufsctl-helper")
        t.write("usr/bin/aufsctl-helper", "")
        chmod(t.path + "/usr/bin/aufsctl-helper", 0o755)
        #expect(HelperLinks.helperBinary(for: t.path + "/usr/bin/aufsctl") == t.path + "/usr/bin/aufsctl-helper")
        let links = HelperLinks(root: HostRoot(t.path), runner: SubprocessRunner(), printer: { _ in })
        try links.install(binary: "/usr/libexec/aufsctl/aufsctl-helper", force: false)
        #expect(links.state("mount.aufs") == .ours("/usr/libexec/aufsctl/aufsctl-helper"))
    }

    /// The package's links are relative within /usr (Debian policy 10.5): they are aufsctl's, to the
    /// same binary, so helper install leaves them as they are.
    @Test func thePackagesRelativeLinksAreOursAndKept() throws {
        let t = TempDir()
        t.mkdirs(t.path + "/usr/sbin")
        // As the package installs it: root's, not writable by group or others.
        t.write("usr/libexec/aufsctl/aufsctl-helper", "#!/bin/sh\n")
        chmod(t.path + "/usr/libexec/aufsctl/aufsctl-helper", 0o755)
        for name in HelperLinks.names {
            symlink("../libexec/aufsctl/aufsctl-helper", t.path + "/usr/sbin/" + name)
        }
        let said = Said()
        let links = HelperLinks(root: HostRoot(t.path), runner: SubprocessRunner(), printer: { said.add($0) })
        #expect(links.state("mount.aufs") == .ours("/usr/libexec/aufsctl/aufsctl-helper"))
        try links.install(binary: "/usr/libexec/aufsctl/aufsctl-helper", force: false)
        #expect(said.lines.allSatisfy { $0.hasSuffix("already there") } && said.lines.count == 2, "\(said.lines)")
        #expect(FileRead.readLink(t.path + "/usr/sbin/mount.aufs") == "../libexec/aufsctl/aufsctl-helper")
    }

    final class Said: @unchecked Sendable {
        var lines: [String] = []
        func add(_ s: String) { lines.append(s) }
    }
}

/// The executor and the unmounter flush pseudo-links before what aufs's manual names.
@Suite struct PseudoLinkFlushPathsTests {
    func union(_ t: TempDir) -> (HostRoot, String) {
        // As aufs shows it by default (brs=1): si= in mountinfo, the branches in sysfs.
        let root = fixtureRoot(t, mounts: [("aufs", "none", "/mnt", "rw,si=ab12")], filesystems: ["aufs"])
        t.write("root/sys/fs/aufs/si_ab12/br0", "/rw=rw\n")
        t.write("root/sys/fs/aufs/si_ab12/br1", "/ro=ro\n")
        t.write("root/sys/fs/aufs/si_ab12/xi_path", "/run/aufsctl/xino/mnt.xino\n")
        let r = root.path
        t.mkdirs(r + "/mnt")
        t.mkdirs(r + "/ro")
        t.mkdirs(r + "/rw/.wh..wh.plnk")
        t.write("root/mnt/a", "x")
        t.write("root/proc/fs/aufs/plink_maint", "")
        let entry = "\(inode(r + "/mnt/a")).5"
        t.write("root/rw/.wh..wh.plnk/" + entry, "")
        return (root, r + "/rw/.wh..wh.plnk/" + entry)
    }

    @Test func branchRemountFlushesFirst() throws {
        let t = TempDir()
        let (root, entry) = union(t)
        let sys = ScriptedSyscalls()
        let del = MountCall(source: "none", target: "/mnt", fstype: "aufs", flags: UInt(MS_REMOUNT), data: "del=/ro")
        try MountExecutor(syscalls: sys, root: root).remount([del], failure: "del failed")
        #expect(FileRead.string(root.path + "/proc/fs/aufs/plink_maint") == "si=ab12clean")
        #expect(!FileRead.exists(entry))
        #expect(sys.mounts == [del])
    }

    @Test func noFlushWhenNotAsked() throws {
        let t = TempDir()
        let (root, entry) = union(t)
        let sys = ScriptedSyscalls()
        let udba = MountCall(source: "none", target: "/mnt", fstype: "aufs", flags: UInt(MS_REMOUNT), data: "udba=none")
        try MountExecutor(syscalls: sys, root: root).remount([udba], failure: "x")
        var off = MountExecutor(syscalls: sys, root: root)
        off.flushPseudoLinks = false
        let del = MountCall(source: "none", target: "/mnt", fstype: "aufs", flags: UInt(MS_REMOUNT), data: "del=/ro")
        try off.remount([del], failure: "x")
        #expect(FileRead.string(root.path + "/proc/fs/aufs/plink_maint") == "")
        #expect(FileRead.exists(entry))
        #expect(sys.mounts.count == 2)
    }

    @Test func unmountFlushesFirst() throws {
        let t = TempDir()
        let (root, entry) = union(t)
        let sys = ScriptedSyscalls(root: root)
        _ = try Unmounter(syscalls: sys, root: root).unmount("/mnt", lazy: false, force: false)
        #expect(FileRead.string(root.path + "/proc/fs/aufs/plink_maint") == "si=ab12clean")
        #expect(!FileRead.exists(entry))
        #expect(sys.umounts.map(\.0) == ["/mnt"])
    }
}
