// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct UnionGeometryTests {
    func b(_ p: String, _ perm: BranchPermission.Base = .ro) -> Branch {
        Branch(path: p, permission: BranchPermission(base: perm), filesystem: "ext4")
    }
    let liveAufs = UnionMount(
        target: "/srv/mnt", filesystem: .aufs, branches: ["/srv/container1=rw", "/srv/image1=ro"],
        xino: nil, si: "1", workdir: nil, options: "")

    @Test func sharedWritableBranchIsRefused() {
        let f = UnionGeometry.check(
            target: "/srv/m2", branches: [b("/srv/container1", .rw), b("/srv/image2")], live: [liveAufs])
        #expect(f.refusals.count == 1)
        #expect(f.refusals[0].contains("/srv/container1 is already the writable branch of the aufs union on /srv/mnt"))
        // A read-only branch can be shared, and sharing it read-only here is fine too.
        #expect(
            UnionGeometry.check(target: "/srv/m2", branches: [b("/srv/c2", .rw), b("/srv/image1")], live: [liveAufs])
                .refusals.isEmpty)
        #expect(
            UnionGeometry.check(
                target: "/srv/m2", branches: [b("/srv/c2", .rw), b("/srv/container1")], live: [liveAufs]
            ).refusals.isEmpty)
    }

    @Test func targetInsideABranchIsRefused() {
        let f = UnionGeometry.check(target: "/srv/a/sub", branches: [b("/srv/a", .rw), b("/srv/b")], live: [])
        #expect(
            f.refusals.count == 1 && f.refusals[0].contains("the mount point /srv/a/sub is inside the branch /srv/a"))
        // A sibling whose name merely starts the same is not inside.
        #expect(UnionGeometry.check(target: "/srv/ab", branches: [b("/srv/a", .rw)], live: []).refusals.isEmpty)
    }

    @Test func unionOverItselfIsANote() {
        let f = UnionGeometry.check(target: "/etc", branches: [b("/tmp/rw", .rw), b("/etc")], live: [])
        #expect(f.refusals.isEmpty && f.warnings.isEmpty)
        #expect(
            f.notes == [
                "union over itself: the mount point /etc is also branch 1 (ro); after the mount the directory's own content is reachable only through the union"
            ])
    }

    @Test func branchBelowTheTargetIsAWarning() {
        let f = UnionGeometry.check(target: "/srv/mnt", branches: [b("/srv/c", .rw), b("/srv/mnt/x")], live: [])
        #expect(f.refusals.isEmpty)
        #expect(
            f.warnings.count == 1 && f.warnings[0].hasPrefix("branch /srv/mnt/x is inside the mount point /srv/mnt"))
    }

    @Test func canonicalPrefixResolvesTheExistingPart() {
        let t = TempDir()
        let d = canonical(t.path)
        symlink(d, d + "-link")
        defer { unlink(d + "-link") }
        #expect(canonicalPrefix(d + "-link/new/deeper") == d + "/new/deeper")
    }
}

/// Real mounts through the overlay fallback (the host has no aufs): what the kernel accepts but
/// breaks users is refused (exit 2, the other union named), allowed with a note or a warning.
@Suite(.serialized, .enabled(if: isRoot, "needs root: these tests make real mounts"))
struct RealGeometryTests {
    func layout() -> (TempDir, String) {
        let t = TempDir()
        let d = canonical(t.path)
        for p in ["c1", "c2", "i1", "i2", "m1", "m2", "a", "a/sub", "b", "mnt", "mnt/x"] { makeDir(d + "/" + p) }
        writeFile(d + "/i1/f", "i1\n")
        return (t, d)
    }

    @Test func sharedWritableBranchNamesTheOtherUnion() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let first = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./c1:./i1=ro", "./m1"])
        try #require(first.status == 0, "\(first.stderr)")
        let before = mountinfo()
        let second = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./c1:./i2=ro", "./m2"])
        #expect(second.status == 2)
        #expect(
            second.stderr.contains("\(d)/c1 is already the writable branch of the overlay union on \(d)/m1"),
            "\(second.stderr)")
        #expect(second.stderr.contains("--force"))
        expectMountinfoUnchanged(before, mountinfo(), concerning: d + "/m2")
        // --force gets past the check; overlay itself cannot share the upper's workdir, and says whose it is.
        let forced = try await aufsctl(
            in: d, ["mount", "--fallback", "overlay", "--force", "dirs=./c1:./i2=ro", "./m2"])
        #expect(forced.status == 2)
        #expect(forced.stderr.contains("belongs to the live overlay union on \(d)/m1"), "\(forced.stderr)")
        #expect(!isMountPoint(d + "/m2"))
        // Sharing the read-only branch is fine.
        let ro = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./c2:./i1=ro", "./m2"])
        #expect(ro.status == 0, "\(ro.stderr)")
    }

    @Test func targetInsideItsBranchIsRefusedUnlessForced() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        symlink(d + "/a", d + "/alink")
        let r = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./a:./b=ro", "./alink/sub"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("the mount point \(d)/a/sub is inside the branch \(d)/a"), "\(r.stderr)")
        #expect(!isMountPoint(d + "/a/sub"))
        let forced = try await aufsctl(
            in: d, ["mount", "--fallback", "overlay", "--force", "--json", "dirs=./a:./b=ro", "./a/sub"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let report = try JSONDecoder().decode(MountReport.self, from: Data(forced.stdout.utf8))
        #expect(report.warnings.contains { $0.hasPrefix("--force: the mount point \(d)/a/sub is inside the branch") })
    }

    @Test func unionOverItselfAndHiddenBranch() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let over = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "--json", "dirs=./c1:./i1=ro", "./i1"])
        #expect(over.status == 0, "\(over.stderr)")
        let r1 = try JSONDecoder().decode(MountReport.self, from: Data(over.stdout.utf8))
        #expect(r1.notes.contains { $0.hasPrefix("union over itself: the mount point \(d)/i1 is also branch 1") })
        #expect(readText(d + "/i1/f") == "i1\n")
        let hidden = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./c2:./mnt/x=ro", "./mnt"])
        #expect(hidden.status == 0, "\(hidden.stderr)")
        #expect(
            hidden.stderr.contains("warning: branch \(d)/mnt/x is inside the mount point \(d)/mnt"), "\(hidden.stderr)")
    }

    @Test func statusThroughASymlink() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let m = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./c1:./i1=ro", "./m1"])
        try #require(m.status == 0, "\(m.stderr)")
        symlink(d + "/m1", d + "/m1link")
        let s = try await aufsctl(in: d, ["status", "./m1link", "--json"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("\"target\" : \"\(d)/m1\""))
    }
}

/// `branch del` of a branch whose directory has vanished: the kernel's branch list decides.
@Suite struct BranchDelVanishedTests {
    @Test func vanishedBranchIsStillDeletable() throws {
        let t = TempDir()
        let gone = t.path + "/gone-branch"
        t.write(
            "proc/self/mountinfo", "30 1 0:40 / /srv/u rw,relatime shared:1 - aufs none rw,br:/srv/top=rw:\(gone)=ro\n")
        let editor = BranchEditor(syscalls: FakeSyscalls(euid: 1000), root: HostRoot(t.path))
        let call = try editor.edit(.del, target: "/srv/u", branch: gone, index: nil, dryRun: true)
        #expect(call.data == "del=\(gone)")
        #expect(throws: AufsError.self) {
            try editor.edit(.del, target: "/srv/u", branch: t.path + "/never-a-branch", index: nil, dryRun: true)
        }
    }
}
