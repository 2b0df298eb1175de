// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// The user walk-through: container (rw) over image1..3 (ro).
private func seedLayers(_ d: String) {
    for n in ["layers", "layers/container", "layers/image1", "layers/image2", "layers/image3", "work"] {
        makeDir(d + "/" + n)
    }
    writeFile(d + "/layers/image1/001.txt", "image1-001\n")
    writeFile(d + "/layers/image1/002.txt", "image1-002\n")
    writeFile(d + "/layers/image2/002.txt", "image2-002\n")
    writeFile(d + "/layers/image2/003.txt", "image2-003\n")
    writeFile(d + "/layers/image3/004.txt", "image3-004\n")
}

private func lstatOf(_ p: String) -> stat? {
    var st = stat()
    return lstat(p, &st) == 0 ? st : nil
}

@Suite(.enabled(if: isRoot, "needs root: these tests make real mounts (mount(2) needs CAP_SYS_ADMIN)"))
struct RealMountTests {
    @Test func seedScenarioThroughOverlayFallbackFromAnotherCwd() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        seedLayers(d)
        let cwd = d + "/work"
        let mnt = d + "/mnt"
        let r = try await aufsctl(
            in: cwd,
            [
                "mount", "--fallback", "overlay", "--mkdir",
                "dirs=../layers/container=rw:../layers/image1=ro:../layers/image2=ro:" + d + "/layers/image3=ro",
                "../mnt",
            ])
        try #require(r.status == 0, "mount failed: \(r.stderr)")
        #expect(r.stdout.contains("overlay, not aufs"))
        #expect(isMountPoint(mnt))

        // Merged listing and precedence.
        #expect(FileRead.list(mnt) == ["001.txt", "002.txt", "003.txt", "004.txt"])
        #expect(readText(mnt + "/002.txt") == "image1-002\n")
        #expect(readText(mnt + "/003.txt") == "image2-003\n")
        #expect(readText(mnt + "/004.txt") == "image3-004\n")

        // Copy-up.
        writeFile(mnt + "/001.txt", "changed\n")
        #expect(readText(mnt + "/001.txt") == "changed\n")
        #expect(readText(d + "/layers/container/001.txt") == "changed\n")
        #expect(readText(d + "/layers/image1/001.txt") == "image1-001\n")

        // Delete: the lower file stays, the upper gets an overlay whiteout (char device 0/0).
        #expect(unlink(mnt + "/003.txt") == 0)
        #expect(!FileRead.exists(mnt + "/003.txt"))
        #expect(readText(d + "/layers/image2/003.txt") == "image2-003\n")
        let wh = lstatOf(d + "/layers/container/003.txt")
        #expect(wh.map { $0.st_mode & S_IFMT } == S_IFCHR, "container/003.txt should be a whiteout")
        #expect(wh?.st_rdev == 0)
        #expect(!FileRead.exists(d + "/layers/container/.wh.003.txt"), "overlay does not write aufs whiteouts")

        // Status lists the overlay with its layers in order.
        let s = try await aufsctl(in: cwd, ["status", "../mnt", "--json"])
        #expect(s.status == 0, "\(s.stderr)")
        let status = try JSONDecoder().decode(StatusReport.self, from: Data(s.stdout.utf8))
        #expect(status.mounts.count == 1)
        let m = try #require(status.mounts.first)
        #expect(m.target == mnt)
        #expect(m.filesystem == .overlay)
        #expect(m.branches == ["container=rw", "image1=ro", "image2=ro", "image3=ro"].map { d + "/layers/" + $0 })
        let workdir = d + "/layers/.aufsctl-work.container"
        #expect(m.workdir == workdir)
        #expect(FileRead.isDirectory(workdir))

        // umount removes the mount and the workdir.
        let u = try await aufsctl(in: cwd, ["umount", "../mnt"])
        #expect(u.status == 0, "\(u.stderr)")
        #expect(u.stdout.contains("removed overlay workdir \(workdir)"))
        #expect(!isMountPoint(mnt))
        #expect(!FileRead.exists(workdir))
        // The layers keep what the union did to them.
        #expect(readText(d + "/layers/container/001.txt") == "changed\n")
    }

    /// Many lower layers through fsconfig lowerdir+: 126 lowers (+1 upper = 127 branches, aufs's limit)
    /// already pass mount(2)'s one-page limit; 200 is past aufs's 127 but within overlayfs's 500.
    @Test(arguments: [126, 200])
    func manyLayers(_ count: Int) async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        for n in ["up", "l", "mnt"] { makeDir(d + "/" + n) }
        for i in 0..<count {
            makeDir(d + "/l/layer-\(i)-abcdefghij")
            writeFile(d + "/l/layer-\(i)-abcdefghij/f\(i).txt", "\(i)\n")
            writeFile(d + "/l/layer-\(i)-abcdefghij/same.txt", "\(i)\n")
        }
        let lowers = (0..<count).map { d + "/l/layer-\($0)-abcdefghij" }
        #expect(
            ("lowerdir=" + lowers.joined(separator: ":")).utf8.count > 4095, "the layers must not fit one mount(2) page"
        )
        let list = "dirs=./up:" + (0..<count).map { "./l/layer-\($0)-abcdefghij=ro" }.joined(separator: ":")
        let r = try await aufsctl(in: d, ["mount", "--fallback", "overlay", list, "./mnt"])
        try #require(r.status == 0, "mount failed: \(r.stderr)")
        #expect(r.stdout.contains("done: fsopen(\"overlay\") + \(count + 2) fsconfig"), "\(r.stdout)")
        #expect(isMountPoint(d + "/mnt"))
        let names = FileRead.list(d + "/mnt") ?? []
        #expect(names.count == count + 1)
        for i in 0..<count where readText(d + "/mnt/f\(i).txt") != "\(i)\n" {
            Issue.record("layer \(i)'s file is not visible")
        }
        #expect(readText(d + "/mnt/same.txt") == "0\n", "the top lower layer wins")

        let s = try await aufsctl(in: d, ["status", d + "/mnt", "--json"])
        let status = try JSONDecoder().decode(StatusReport.self, from: Data(s.stdout.utf8))
        #expect(status.mounts.first?.branches.count == count + 1)
        #expect(status.mounts.first?.branches.first == d + "/up=rw")
        #expect(status.mounts.first?.branches.last == d + "/l/layer-\(count - 1)-abcdefghij=ro")

        let u = try await aufsctl(in: d, ["umount", "./mnt"])
        #expect(u.status == 0, "\(u.stderr)")
        #expect(!isMountPoint(d + "/mnt"))
        #expect(!FileRead.exists(d + "/.aufsctl-work.up"))
    }

    @Test(
        .enabled(
            if: !aufsRegistered,
            "aufs is registered in /proc/filesystems, so a real aufs mount would not fail with ENODEV"))
    func aufsWithoutFallbackFailsWithENODEV() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        for n in ["a", "b", "mnt"] { makeDir(d + "/" + n) }
        let before = mountinfo()
        let r = try await aufsctl(in: d, ["mount", "dirs=./a:./b=ro", "./mnt"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("ENODEV"))
        #expect(r.stderr.contains("aufsctl check"))
        #expect(r.stderr.contains("--fallback overlay"))
        #expect(
            r.stderr.contains(
                "call 1 of 1: mount(\"none\", \"\(d)/mnt\", \"aufs\", 0, \"br=\(d)/a=rw:\(d)/b=ro,xino=/run/aufsctl/xino/\(Mounter.xinoName(target: d + "/mnt"))\")"
            ),
            "\(r.stderr)")
        #expect(!isMountPoint(d + "/mnt"))
        expectMountinfoUnchanged(before, mountinfo(), concerning: d)
    }

    @Test func umountOfAForeignTmpfsNeedsAnyFilesystem() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        makeDir(d + "/mnt")
        let rc = sysMount("testtmpfs", d + "/mnt", "tmpfs", "size=1m")
        try #require(rc == 0, "could not mount a tmpfs: errno \(rc)")
        let r = try await aufsctl(in: d, ["umount", "./mnt"])
        #expect(r.status == 2)
        #expect(
            r.stderr.contains(
                "\(d)/mnt is a tmpfs mount from testtmpfs, neither aufs nor an overlay aufsctl made; add "
                    + "--any-filesystem"),
            "\(r.stderr)")
        #expect(isMountPoint(d + "/mnt"))
        let f = try await aufsctl(in: d, ["umount", "--any-filesystem", "--json", "./mnt"])
        #expect(f.status == 0, "\(f.stderr)")
        let report = try JSONDecoder().decode(UnmountReport.self, from: Data(f.stdout.utf8))
        #expect(report == UnmountReport(target: d + "/mnt", filesystem: "tmpfs", attempts: 1, removedWorkdir: nil))
        #expect(!isMountPoint(d + "/mnt"))
    }

    @Test func dryRunMakesNoMount() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        for n in ["a", "b", "mnt"] { makeDir(d + "/" + n) }
        let before = mountinfo()
        let r = try await aufsctl(in: d, ["mount", "--dry-run", "--fallback", "overlay", "dirs=./a:./b=ro", "./mnt"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("dry run: these calls would be made:"))
        #expect(r.stdout.contains("lowerdir=\(d)/b,upperdir=\(d)/a,workdir=\(d)/.aufsctl-work.a"))
        #expect(!isMountPoint(d + "/mnt"))
        #expect(!FileRead.exists(d + "/.aufsctl-work.a"), "a dry run creates no workdir")
        // --mkdir with --dry-run does not create the target either.
        let m = try await aufsctl(
            in: d, ["mount", "--dry-run", "--mkdir", "--fallback", "overlay", "dirs=./a:./b=ro", "./new/mnt"])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(!FileRead.exists(d + "/new"))
        expectMountinfoUnchanged(before, mountinfo(), concerning: d)
    }

    @Test func jsonReportOfARealMount() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        for n in ["a", "b", "c", "mnt"] { makeDir(d + "/" + n) }
        let r = try await aufsctl(
            in: d, ["mount", "--json", "--fallback", "overlay", "dirs=./a:./b=ro:./c=ro", "./mnt"])
        try #require(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(MountReport.self, from: Data(r.stdout.utf8))
        #expect(report.schema == "aufsctl.mount/2")
        #expect(report.filesystem == .overlay)
        #expect(!report.dryRun)
        #expect(report.target == d + "/mnt")
        #expect(report.branches.map(\.spec) == [d + "/a=rw", d + "/b=ro", d + "/c=ro"])
        #expect(report.workdir == d + "/.aufsctl-work.a")
        // Data: the new API's fsopen, 4 fsconfig strings (2 lowerdir+, upperdir, workdir), the
        // superblock created, fsmount, move_mount; or, on an older kernel, the one mount(2).
        let names = report.calls.map(\.syscall)
        #expect(
            names == ["fsopen", "fsconfig", "fsconfig", "fsconfig", "fsconfig", "fsconfig", "fsmount", "move_mount"]
                || (names == ["mount"] && report.calls[0].source == "aufsctl" && report.calls[0].fstype == "overlay"),
            "\(report.calls)")
        if names.first == "fsopen" {
            #expect(report.calls.compactMap(\.key) == ["lowerdir+", "lowerdir+", "upperdir", "workdir"])
            #expect(report.calls.compactMap(\.value) == [d + "/b", d + "/c", d + "/a", d + "/.aufsctl-work.a"])
            #expect(report.calls.last?.target == d + "/mnt")
        }
        #expect(isMountPoint(d + "/mnt"))
        let u = try await aufsctl(in: d, ["umount", "--json", "./mnt"])
        let ur = try JSONDecoder().decode(UnmountReport.self, from: Data(u.stdout.utf8))
        #expect(ur.filesystem == "overlay" && ur.schema == "aufsctl.umount/1")
        #expect(ur.removedWorkdir == d + "/.aufsctl-work.a")
        #expect(!isMountPoint(d + "/mnt"))
    }

    @Test func aufsWhiteoutsInLowerBranchesAreCountedInAWarning() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        seedLayers(d)
        writeFile(d + "/layers/image1/.wh.foo", "")  // hides image2/foo under aufs
        writeFile(d + "/layers/image2/foo", "image2-foo\n")
        makeDir(d + "/layers/image2/sub")
        writeFile(d + "/layers/image2/sub/.wh.bar", "")
        writeFile(d + "/layers/image3/.wh..wh..opq", "")  // an opaque-dir marker counts
        makeDir(d + "/layers/image3/.wh..wh.plnk")  // aufs bookkeeping does not
        let r = try await aufsctl(
            in: d + "/work",
            [
                "mount", "--fallback", "overlay", "--mkdir",
                "dirs=../layers/container:../layers/image1=ro:../layers/image2=ro:../layers/image3=ro", "../mnt",
            ])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("aufsctl: warning: 3 aufs whiteouts (.wh.*) in the lower branches"), "\(r.stderr)")
        #expect(r.stderr.contains("overlay does not honour them"))
        // The claim in the warning: the file aufs would hide shows through overlay.
        #expect(readText(d + "/mnt/foo") == "image2-foo\n")
        let u = try await aufsctl(in: d, ["umount", "./mnt"])
        #expect(u.status == 0, "\(u.stderr)")
        #expect(!isMountPoint(d + "/mnt"))
    }

    @Test func noWarningWithoutWhiteouts() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        seedLayers(d)
        makeDir(d + "/mnt")
        let r = try await aufsctl(
            in: d,
            [
                "mount", "--dry-run", "--fallback", "overlay",
                "dirs=./layers/container:./layers/image1=ro:./layers/image2=ro", "./mnt",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("whiteout"))
    }

    /// --mkdir creates the mount point only after validation, and not at all when the mount is refused.
    @Test(.enabled(if: isRoot, "needs root"))
    func mkdirLeavesNothingWhenRefused() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/rw")
        let r = try await aufsctl(
            in: d, ["mount", "--fallback", "overlay", "--mkdir", "dirs=./rw:./missing=ro", "./new/mnt"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(!FileRead.exists(d + "/new"), "a refused mount created its mount point")
        makeDir(d + "/ro")
        let ok = try await aufsctl(
            in: d, ["mount", "--fallback", "overlay", "--mkdir", "dirs=./rw:./ro=ro", "./new/mnt"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(isMountPoint(d + "/new/mnt"))
        unmountAll(under: d)
    }
}
