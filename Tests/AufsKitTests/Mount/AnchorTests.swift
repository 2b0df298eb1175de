// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Paths resolved once into fds (issue 21): the walk, what the kernel is given, the refusals where
/// a path must still be named as a string, and umount by mount id.
@Suite struct AnchorTests {
    @Test func theWalkRefusesASymlinkOnACanonicalPath() throws {
        let t = TempDir()
        let d = canonical(t.path)
        t.mkdirs(d + "/a/b")
        t.mkdirs(d + "/elsewhere/b")
        guard case .success(let ok) = PathAnchor.open(d + "/a/b") else {
            Issue.record("the plain path did not open")
            return
        }
        #expect(ok.path == d + "/a/b" && ok.status.isDirectory && ok.currentPath == d + "/a/b")
        rename(d + "/a", d + "/a.away")
        symlink(d + "/elsewhere", d + "/a")
        guard case .failure(let f) = PathAnchor.open(d + "/a/b") else {
            Issue.record("the walk followed a symlink")
            return
        }
        #expect(f.symlink && f.at == d + "/a", "\(f)")
        // The validator says so: the user's own symlinks are followed (realpath), a swapped one not.
        let v = BranchValidator(syscalls: LinuxSyscalls(), cwd: d)
        #expect(try v.canonicalDirectory("a/b", what: "branch") == d + "/elsewhere/b")
    }

    @Test(.enabled(if: isRoot, "needs root: directories of another user"))
    func exposureNamesWhoCanSwapAName() throws {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        for p in ["root", "root/x", "theirs", "theirs/x", "open", "open/x", "sticky", "sticky/mine", "sticky/their"] {
            makeDir(d + "/" + p)
        }
        chown(d + "/theirs", 65534, 65534)
        chmod(d + "/open", 0o777)
        chmod(d + "/sticky", 0o1777)
        chown(d + "/sticky/their", 65534, 65534)
        func exposure(_ p: String) -> [String] {
            guard case .success(let a) = PathAnchor.open(d + "/" + p) else { return ["(did not open)"] }
            return a.exposure
        }
        #expect(exposure("root/x").isEmpty)
        #expect(exposure("theirs/x") == ["\(d)/theirs belongs to uid 65534"])
        #expect(exposure("open/x") == ["\(d)/open is writable by every user (mode 777)"])
        #expect(exposure("sticky/mine").isEmpty, "the sticky bit keeps root's entry")
        #expect(
            exposure("sticky/their") == [
                "\(d)/sticky is writable by every user and the entry in it belongs to uid 65534"
            ])
        guard case .success(let s) = PathAnchor.open(d + "/sticky") else { return }
        #expect(s.entriesReplaceable == nil, "a root-owned entry made in a sticky directory stays root's")
        guard case .success(let o) = PathAnchor.open(d + "/open") else { return }
        #expect(o.entriesReplaceable != nil)
    }

    /// aufs is given the mount point and each branch as /proc/self/fd/N of the fds they were
    /// checked on; the report and a failure show the paths, and the call as made.
    @Test func aufsCallsNameDirectoriesByFD() throws {
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["rw", "ro", "mnt"] { makeDir(d + "/" + n) }
        let sys = RawRecordingSyscalls()
        let root = fixtureRoot(t, mounts: [], filesystems: ["aufs"])
        var m = Mounter(syscalls: sys, root: root)
        m.lockPath = d + "/lock"
        let o = try AufsOptions.parse(options: "br=\(d)/rw:\(d)/ro=ro,xino=\(d)/x.xino")
        let r = try m.mount(MountRequest(options: o, target: d + "/mnt"))
        #expect(
            r.calls.map(\.description) == [
                "mount(\"none\", \"\(d)/mnt\", \"aufs\", 0, \"br=\(d)/rw=rw:\(d)/ro=ro,xino=\(d)/x.xino\")"
            ])
        #expect(sys.raw.count == 1)
        #expect(sys.raw[0].target.hasPrefix("/proc/self/fd/"), "\(sys.raw[0])")
        #expect(sys.raw[0].data.hasPrefix("br=/proc/self/fd/"), "\(sys.raw[0])")
        #expect(sys.mounts[0].target == d + "/mnt")
        #expect(sys.mounts[0].data == "br=\(d)/rw=rw:\(d)/ro=ro,xino=\(d)/x.xino")
        // A refused call names both forms.
        sys.mountError = EINVAL
        do {
            _ = try m.mount(MountRequest(options: o, target: d + "/mnt"))
            Issue.record("expected the kernel's refusal")
        } catch let e as AufsError {
            #expect(e.details.contains { $0.contains("made as mount(\"none\", \"/proc/self/fd/") }, "\(e.details)")
        }
    }

    /// A kernel whose overlay takes no layer fds (< 6.13): the layers go by path, so a layout in
    /// which another user can change what a path names is refused, or with --force mounted with the
    /// reason in the report. Overlay on the new mount API (6.5 to 6.12) refuses FSCONFIG_SET_FD
    /// with EINVAL; before 6.5 it is a legacy filesystem, for which fsconfig(2) itself refuses it
    /// with EOPNOTSUPP (seen on Debian 12's 6.1 in the QEMU suite).
    @Test(arguments: [EINVAL, EOPNOTSUPP])
    func olderOverlayRefusesAnExposedLayoutUnlessForced(_ noFD: Int32) throws {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        for n in ["open", "open/c", "open/i", "mnt"] { makeDir(d + "/" + n) }
        chmod(d + "/open", 0o777)
        let sys = ScriptedSyscalls()
        sys.fsMountFailure = nil
        func noFDs() {
            sys.fsMountFailures = [
                FsMountError(step: .setFD(key: "lowerdir+", path: "x"), errno: SysErrno(noFD)),
                FsMountError(step: .setString(key: "lowerdir+", value: "x"), errno: SysErrno(EINVAL)),
            ]
        }
        noFDs()
        let root = fixtureRoot(t, mounts: [])
        var m = Mounter(syscalls: sys, root: root)
        m.lockPath = d + "/lock"
        let o = try AufsOptions.parse(options: "br=\(d)/open/c:\(d)/open/i=ro")
        var req = MountRequest(options: o, target: d + "/mnt", fallback: .overlay)
        do {
            _ = try m.mount(req)
            Issue.record("an exposed layout was mounted by path")
        } catch let e as AufsError {
            #expect(e.exitCode == .usage)
            #expect(e.message.contains("another user can change what they name"), "\(e.message)")
            #expect(e.message.contains("\(d)/open is writable by every user"), "\(e.message)")
        }
        #expect(sys.mounts.isEmpty)
        #expect(!FileRead.exists(d + "/open/.aufsctl-work.c"), "the workdir made for it was removed")
        noFDs()
        req.force = true
        var forced = Mounter(syscalls: sys, root: root)
        forced.lockPath = d + "/lock"
        forced.workdirRecords = WorkdirRecords(directory: d + "/records")
        let r = try forced.mount(req)
        #expect(sys.mounts.count == 1 && sys.mounts[0].data.contains("lowerdir=\(d)/open/i"))
        #expect(
            r.warnings.contains { $0.hasPrefix("--force: ") && $0.contains("\(d)/open is writable") }, "\(r.warnings)")
    }

    /// The new kernel's path: every layer and the workdir by fd, and onto the mount point's fd.
    @Test func overlayLayersGoByFD() throws {
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["c", "i", "mnt"] { makeDir(d + "/" + n) }
        let sys = ScriptedSyscalls()
        sys.fsMountFailure = nil
        var m = Mounter(syscalls: sys, root: fixtureRoot(t, mounts: []))
        m.lockPath = d + "/lock"
        m.workdirRecords = WorkdirRecords(directory: d + "/records")
        let r = try m.mount(
            MountRequest(
                options: try AufsOptions.parse(options: "br=\(d)/c:\(d)/i=ro"), target: d + "/mnt", fallback: .overlay))
        #expect(sys.fsMounts.count == 1 && sys.mounts.isEmpty)
        #expect(sys.fsMounts[0].map(\.0) == ["lowerdir+", "upperdir", "workdir"])
        #expect(sys.fsMounts[0].map(\.1) == [d + "/i", d + "/c", d + "/.aufsctl-work.c"])
        #expect(sys.fsMountTargets == [d + "/mnt"])
        #expect(
            SyscallRecord.lines(r.calls) == [
                "fsopen(\"overlay\") + 3 fsconfig(FSCONFIG_SET_FD, ...) + fsmount + move_mount(\"\(d)/mnt\")"
            ])
        var st = stat()
        stat(d + "/.aufsctl-work.c", &st)
        #expect(
            WorkdirRecords(directory: d + "/records").load(d + "/.aufsctl-work.c")
                == FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
    }

    /// umount acts on the mount whose id mountinfo lists at the path, by its parent's fd and name;
    /// when the mount found there has another id, nothing is unmounted.
    @Test func umountChecksTheMountID() throws {
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/mnt")
        let root = fixtureRoot(t, mounts: [("overlay", "aufsctl", d + "/mnt", "rw,lowerdir=/a,upperdir=/b,workdir=/c")])
        let sys = ScriptedSyscalls(root: root)
        sys.mountIDs[d + "/mnt"] = 999
        do {
            _ = try Unmounter(syscalls: sys, root: root).unmount(d + "/mnt", lazy: false, force: false)
            Issue.record("a mount with another id was unmounted")
        } catch let e as AufsError {
            #expect(e.message.contains("(id 999) is not the overlay mount mountinfo lists at that path (id 100)"))
        }
        #expect(sys.umounts.isEmpty)
        sys.mountIDs = [:]
        let r = try Unmounter(syscalls: sys, root: root).unmount(d + "/mnt", lazy: false, force: false)
        #expect(sys.umounts.count == 1 && sys.umounts[0].0 == d + "/mnt" && r.removedWorkdir == nil)
    }

    /// "removed overlay workdir" only when one was removed; one that is not the directory its mount
    /// made (another put under its name) is left, and the report says why.
    @Test func workdirRemovalIsTold() throws {
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["mnt", "c"] { makeDir(d + "/" + n) }
        let w = d + "/.aufsctl-work.c"
        let root = fixtureRoot(
            t, mounts: [("overlay", "aufsctl", d + "/mnt", "rw,lowerdir=\(d)/i,upperdir=\(d)/c,workdir=\(w)")])
        let sys = ScriptedSyscalls(root: root)
        var u = Unmounter(syscalls: sys, root: root)
        u.workdirRecords = WorkdirRecords(directory: d + "/records")
        #expect(try u.unmount(d + "/mnt", lazy: false, force: false).removedWorkdir == nil, "nothing was there")
        makeDir(w)
        var st = stat()
        stat(w, &st)
        try u.workdirRecords.save(w, FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        rename(w, d + "/moved")
        makeDir(w)
        writeFile(w + "/keep", "k")
        let r = try u.unmount(d + "/mnt", lazy: false, force: false)
        #expect(r.removedWorkdir == nil && r.leftWorkdir?.contains("not the directory made for this union") == true)
        #expect(readText(w + "/keep") == "k")
        #expect(u.workdirRecords.load(w) == nil, "the record goes with the union")
        RecursiveRemove.remove(w)
        makeDir(w)
        stat(w, &st)
        try u.workdirRecords.save(w, FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        #expect(try u.unmount(d + "/mnt", lazy: false, force: false).removedWorkdir == w)
        #expect(!FileRead.exists(w))
    }

    /// A PATH=PERM whose permission holds ':' (the Ansible `perm: "ro:/etc=rw"`) names the
    /// permission and its rule.
    @Test func permissionsOutsideAufsGrammar() throws {
        guard case .failure(let why) = BranchPermission.parse("ro:/etc=rw") else {
            Issue.record("accepted")
            return
        }
        #expect(why.description.contains("contains \":\""), "\(why)")
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/a")
        let root = fixtureRoot(t, mounts: [("aufs", "none", d + "/mnt", "rw,si=7,br:\(d)/rw=rw")])
        do {
            _ = try BranchEditor(syscalls: ScriptedSyscalls(root: root), root: root).edit(
                .add, target: d + "/mnt", branch: d + "/a=ro:/etc=rw", index: nil, dryRun: true)
            Issue.record("accepted")
        } catch let e as AufsError {
            #expect(e.message.contains("the permission \"ro:/etc=rw\" contains \":\""), "\(e.message)")
        }
    }

    /// An image's os-release with an escape sequence reaches the terminal escaped.
    @Test func controlCharactersFromAnImageAreEscaped() async throws {
        let t = minimalRoot(
            osRelease: "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian\u{1b}]0;pwned\u{07}\u{1b}[2J\"\n")
        let r = try await aufsctl(in: t.path, ["check", "--root", t.path])
        #expect(!r.stdout.unicodeScalars.contains("\u{1b}") && !r.stderr.unicodeScalars.contains("\u{1b}"))
        #expect(r.stdout.contains("Debian\\u001b]0;pwned\\u0007\\u001b[2J"), "\(r.stdout)")
    }

    /// The same on a terminal, where check colours its report: the image's sequence is escaped and
    /// aufsctl's own colours are written as they are.
    @Test func onATerminalTheImagesSequenceIsEscapedAndTheColoursStay() async throws {
        let t = minimalRoot(
            osRelease: "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian\u{1b}]0;pwned\u{07}\u{1b}[2J\"\n")
        let command = [aufsctlBinary(), "check", "--root", t.path].map { ShellQuote.quote($0) }.joined(separator: " ")
        let r = try await SubprocessRunner().run(
            ["env", "-i", "TERM=xterm", "script", "-qec", command, "/dev/null"], environment: [:])
        #expect(r.stdout.contains("\u{1b}[1mdistro"), "\(r.stdout)")
        #expect(r.stdout.contains("Debian\\u001b]0;pwned\\u0007\\u001b[2J"), "\(r.stdout)")
        #expect(!r.stdout.contains("\u{1b}]0;") && !r.stdout.contains("\u{1b}[2J"), "\(r.stdout)")
    }

    @Test func terminalEscapes() {
        #expect(TerminalText.escape("plain\ttext\n") == "plain\ttext\n")
        #expect(
            TerminalText.escape("a\u{1b}]0;owned\u{07}b\rc\u{7f}\u{9b}")
                == "a\\u001b]0;owned\\u0007b\\u000dc\\u007f\\u009b")
        #expect(TerminalText.escape("é ü 中") == "é ü 中")
    }

    /// Under --root, aufsctl's own directories are checked as named: a symlink planted at
    /// /var/lib/aufsctl or /run/aufsctl in the tree is refused, never followed.
    @Test func plantedStateAndLockDirectoriesInARootAreRefused() throws {
        let t = TempDir()
        t.mkdirs(t.path + "/elsewhere")
        t.mkdirs(t.path + "/var/lib")
        t.mkdirs(t.path + "/run")
        chmod(t.path + "/elsewhere", 0o700)
        t.write(
            "elsewhere/state.json",
            "{\"schema\":\"aufsctl.state/1\",\"installs\":[{\"method\":\"dkms\",\"kernel\":\"k\",\"steps\":[]}]}\n")
        chmod(t.path + "/elsewhere/state.json", 0o600)
        symlink("/elsewhere", t.path + "/var/lib/aufsctl")
        symlink("/elsewhere", t.path + "/run/aufsctl")
        let root = HostRoot(t.path)
        do {
            _ = try InstallState.load(root: root)
            Issue.record("a state file behind a planted symlink was read")
        } catch let e as AufsError {
            #expect(e.message.contains("is not a directory (a symlink"), "\(e.message)")
        }
        #expect(throws: AufsError.self) {
            _ = try FileLock(path: root.resolve(RuntimeDir.installLock, keepingLast: 2), what: "test", timeout: 1)
        }
        #expect(!FileRead.exists(t.path + "/elsewhere/install.lock"))
        #expect(root.resolve("/var/lib/aufsctl/state.json", keepingLast: 2) == t.path + "/var/lib/aufsctl/state.json")
    }
}

/// Records each mount(2) as made (fds) and as read (paths).
final class RawRecordingSyscalls: ScriptedSyscalls, @unchecked Sendable {
    var raw: [MountCall] = []
    override func mount(
        source: String, target: String, fstype: String, flags: UInt, data: String
    ) -> Result<Void, SysErrno> {
        raw.append(MountCall(source: source, target: target, fstype: fstype, flags: flags, data: data))
        return super.mount(source: source, target: target, fstype: fstype, flags: flags, data: data)
    }
}

/// Only a root-owned executable no other user can replace is what mount(8) runs as root.
@Suite(.enabled(if: isRoot, "needs root: root-owned and other users' files"))
struct HelperLinkSafetyTests {
    func tree() -> TempDir {
        let t = TempDir()
        t.write("usr/libexec/aufsctl/aufsctl-helper", "#!/bin/sh\n")
        chmod(t.path + "/usr/libexec/aufsctl/aufsctl-helper", 0o755)
        return t
    }

    @Test(arguments: [
        ("relative", "not an absolute path"), ("missing", "does not exist"), ("theirs", "belongs to uid 65534"),
        ("writable", "writable by group or others"), ("opendir", "the directory /usr/libexec/aufsctl is writable"),
        ("theirdir", "the directory /usr/libexec/aufsctl belongs to uid 65534"), ("notexec", "not executable"),
        ("notfile", "not a regular file"),
    ])
    func unsafeBinariesAreRefused(_ kind: String, _ why: String) throws {
        let t = tree()
        let bin = t.path + "/usr/libexec/aufsctl/aufsctl-helper"
        var target = "/usr/libexec/aufsctl/aufsctl-helper"
        switch kind {
        case "relative": target = "usr/libexec/aufsctl/aufsctl-helper"
        case "missing": target = "/usr/libexec/aufsctl/nope"
        case "theirs": chown(bin, 65534, 65534)
        case "writable": chmod(bin, 0o757)
        case "opendir": chmod(t.path + "/usr/libexec/aufsctl", 0o777)
        case "theirdir": chown(t.path + "/usr/libexec/aufsctl", 65534, 65534)
        case "notexec": chmod(bin, 0o644)
        default: target = "/usr/libexec/aufsctl"
        }
        let links = HelperLinks(root: HostRoot(t.path), runner: SubprocessRunner(), printer: { _ in })
        do {
            try links.install(binary: target, force: true)
            Issue.record("linked to an unsafe binary (\(kind))")
        } catch let e as AufsError {
            #expect(e.message.contains(why), "\(e.message)")
            #expect(e.exitCode == .usage)
        }
        #expect(links.state("mount.aufs") == .missing)
    }

    @Test func aSafeBinaryIsLinkedAndAnUnsafeExistingLinkIsReported() throws {
        let t = tree()
        let links = HelperLinks(root: HostRoot(t.path), runner: SubprocessRunner(), printer: { _ in })
        try links.install(binary: "/usr/libexec/aufsctl/aufsctl-helper", force: false)
        #expect(links.unsafeHelpers().isEmpty)
        chown(t.path + "/usr/libexec/aufsctl/aufsctl-helper", 65534, 65534)
        let warnings = links.unsafeHelpers()
        #expect(warnings.count == 2 && warnings[0].hasPrefix("/usr/sbin/mount.aufs is not safe"), "\(warnings)")
    }
}
