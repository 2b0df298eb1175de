// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CConvert
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit

private func put(_ p: String, _ text: String, mode: mode_t = 0o644) {
    let d = Paths.dirname(p)
    _ = try? AtomicFile.makeDirectories(d)
    let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    chmod(p, mode)
}

private func setx(_ p: String, _ n: String, _ v: [UInt8]) {
    _ = v.withUnsafeBytes { cv_lsetxattr(p, n, $0.baseAddress, v.count, 0) }
}

private func getx(_ p: String, _ n: String) -> [UInt8]? {
    var b = [UInt8](repeating: 0, count: 256)
    let r = cv_lgetxattr(p, n, &b, 256)
    return r < 0 ? nil : Array(b[0..<r])
}

private func st(_ p: String) -> stat? {
    var s = stat()
    return lstat(p, &s) == 0 ? s : nil
}

/// An aufs whiteout base and a whiteout linked to it.
private func aufsWhiteout(_ branch: String, _ rel: String) {
    let base = branch + "/.wh..wh.aufs"
    if st(base) == nil { put(base, "", mode: 0o444) }
    let c = rel.split(separator: "/")
    let p = branch + "/" + (c.dropLast() + [".wh." + c.last!]).joined(separator: "/")
    _ = try? AtomicFile.makeDirectories(Paths.dirname(p))
    link(base, p)
}

private func run(
    _ to: UnionFormat?, _ action: ConvertRequest.Action, _ spec: String, userxattr: Bool = false
)
    throws -> ConvertReport
{
    var r = ConvertRequest(to: to, action: action, spec: spec, userxattr: userxattr)
    r.listChanges = true
    return try Conversion().run(r)
}

@Suite(.serialized, .enabled(if: isRoot, "needs root: owners, device nodes, trusted.* xattrs, mounts"))
struct ConvertDiskTests {
    @Test func metadataSurvivesCopiesAndLinks() throws {
        let t = TempDir()
        let up = canonical(t.path) + "/upper"
        let low = canonical(t.path) + "/lower"
        mkdir(up, 0o755)
        mkdir(low, 0o755)
        // Files overlayfs copied up carry trusted.overlay.origin: aufs would show it, so they are copied.
        put(up + "/suid", "binary")
        chown(up + "/suid", 1000, 100)
        chmod(up + "/suid", 0o4755)
        let cap: [UInt8] = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        setx(up + "/suid", "security.capability", cap)
        setx(up + "/suid", "user.keep", [7])
        setx(up + "/suid", "trusted.overlay.origin", [0, 0xfb, 1])
        put(up + "/pair-a", "shared")
        link(up + "/pair-a", up + "/pair-b")
        setx(up + "/pair-a", "trusted.overlay.origin", [0, 0xfb, 2])
        let sparse = open(up + "/sparse", O_WRONLY | O_CREAT, 0o600)
        _ = pwrite(sparse, "end", 3, 64 << 20)
        close(sparse)
        setx(up + "/sparse", "trusted.overlay.origin", [0, 0xfb, 3])
        mknod(up + "/fifo", S_IFIFO | 0o640, 0)
        setx(up + "/fifo", "trusted.overlay.origin", [0, 0xfb, 4])
        mknod(up + "/null", S_IFCHR | 0o666, UInt(cv_makedev(1, 3)))
        symlink("target", up + "/link")
        setx(up + "/link", "trusted.overlay.origin", [0, 0xfb, 5])
        var ts = [timespec(tv_sec: 1_600_000_000, tv_nsec: 5), timespec(tv_sec: 1_234_567_890, tv_nsec: 987_654_321)]
        for n in ["suid", "pair-a", "sparse", "fifo", "null", "link"] {
            utimensat(AT_FDCWD, up + "/" + n, &ts, AT_SYMLINK_NOFOLLOW)
        }
        let before = try #require(st(up + "/suid"))
        let nullIno = try #require(st(up + "/null")).st_ino

        let r = try run(.aufs, .commit, "dirs=\(up):\(low)=ro")
        #expect(r.branches[0].state == "committed")
        #expect(r.branches[0].stats?.copied == 6)  // suid, the pair's two names (one copy), sparse, fifo, link

        let s = try #require(st(up + "/suid"))
        #expect(s.st_mode & 0o7777 == 0o4755 && s.st_uid == 1000 && s.st_gid == 100)
        #expect(s.st_mtim.tv_sec == 1_234_567_890 && s.st_mtim.tv_nsec == 987_654_321)
        #expect(s.st_ino != before.st_ino)
        #expect(getx(up + "/suid", "security.capability") == cap)
        #expect(getx(up + "/suid", "user.keep") == [7])
        #expect(getx(up + "/suid", "trusted.overlay.origin") == nil)
        // Never edited through a link: the original (kept for --rollback) still has its origin.
        #expect(getx(up + "/.aufsctl-convert/tree/suid", "trusted.overlay.origin") == [0, 0xfb, 1])
        #expect(st(up + "/pair-a")?.st_ino == st(up + "/pair-b")?.st_ino)
        #expect(st(up + "/pair-a")?.st_nlink == 2)
        let sp = try #require(st(up + "/sparse"))
        #expect(sp.st_size == (64 << 20) + 3 && sp.st_blocks < 1024, "the hole was filled: \(sp.st_blocks) blocks")
        #expect(try #require(st(up + "/fifo")).st_mode == S_IFIFO | 0o640)
        #expect(FileRead.readLink(up + "/link") == "target")
        #expect(try #require(st(up + "/link")).st_mtim.tv_nsec == 987_654_321)
        #expect(st(up + "/null")?.st_ino == nullIno, "an unchanged device node is linked, not copied")
        withExtendedLifetime(t) {}
    }

    @Test func dryRunListsEveryChangeAndWritesNothing() throws {
        let t = TempDir()
        let rw = canonical(t.path) + "/rw"
        let ro = canonical(t.path) + "/ro"
        put(rw + "/etc/a", "new")
        put(ro + "/etc/a", "old")
        put(ro + "/etc/b", "gone")
        put(ro + "/usr/x", "gone")
        aufsWhiteout(rw, "etc/b")
        aufsWhiteout(rw, "usr")
        aufsWhiteout(rw, "never-there")
        let before = try TreeReader.layer(rw)
        let r = try run(.overlay, .dryRun, "dirs=\(rw):\(ro)=ro")
        #expect(try TreeReader.layer(rw) == before)
        let lines = (r.changes ?? []).map { "\($0.path) \($0.kind.rawValue)" }.sorted()
        #expect(lines == ["/.wh..wh.aufs dropped", "/etc/b whiteout", "/never-there dropped", "/usr whiteout"])
        #expect(r.branches.map(\.state) == ["would change", "unchanged"])
        withExtendedLifetime(t) {}
    }

    @Test func aRefusalLeavesEveryBranchAsItWas() throws {
        let t = TempDir()
        let up = canonical(t.path) + "/up"
        let mid = canonical(t.path) + "/mid"
        let low = canonical(t.path) + "/low"
        put(up + "/x", "x")
        setx(up + "/x", "trusted.overlay.origin", [1])
        put(mid + "/.wh.real-name", "a real file aufs could not show")
        put(low + "/y", "y")
        let before = try [up, mid, low].map { try TreeReader.layer($0) }
        do {
            _ = try run(.aufs, .commit, "dirs=\(up):\(mid):\(low)")
            Issue.record("the conversion went through")
        } catch let e as AufsError {
            #expect(e.exitCode == .usage)
            #expect(e.message.contains("\(mid)/.wh.real-name: a name beginning with .wh."))
            #expect(e.message.contains("rename it before converting"))
        }
        #expect(try [up, mid, low].map { try TreeReader.layer($0) } == before)
        withExtendedLifetime(t) {}
    }

    @Test func aMountedBranchIsRefused() throws {
        let t = TempDir()
        let d = canonical(t.path)
        put(d + "/up/f", "f")
        put(d + "/low/g", "g")
        mkdir(d + "/mnt", 0o755)
        try #require(sysMount("overlay", d + "/mnt", "overlay", "lowerdir=\(d)/up:\(d)/low") == 0)
        defer { umount2(d + "/mnt", Int32(MNT_DETACH)) }
        do {
            _ = try run(.aufs, .stage, "dirs=\(d)/up:\(d)/low")
            Issue.record("a mounted branch was converted")
        } catch let e as AufsError {
            #expect(e.exitCode == .usage)
            #expect(e.message.contains("is a branch of the live overlay union on \(d)/mnt"))
        }
        #expect(st(d + "/up/.aufsctl-convert") == nil)
        withExtendedLifetime(t) {}
    }

    @Test func pseudoLinksAreResolvedFromTheLowerBranch() throws {
        // aufs 5.x leaves <rw>/.wh..wh.plnk/<aufs-ino>.<ino> for a file copied up through one of
        // its names; the union showed the copy under the other names too.
        let t = TempDir()
        let rw = canonical(t.path) + "/rw"
        let ro = canonical(t.path) + "/ro"
        put(ro + "/dir/a", "old")
        link(ro + "/dir/a", ro + "/dir/b")
        mkdir(ro + "/other", 0o750)
        link(ro + "/dir/a", ro + "/other/c")
        put(rw + "/dir/a", "new")
        mkdir(rw + "/.wh..wh.plnk", 0o700)
        let ino = try #require(st(rw + "/dir/a")).st_ino
        link(rw + "/dir/a", rw + "/.wh..wh.plnk/91.\(ino)")
        // Alone, the lower names cannot be found: refused, with the ways out.
        do {
            _ = try run(.overlay, .commit, rw)
            Issue.record("converted a branch with unflushed pseudo-links alone")
        } catch let e as AufsError {
            #expect(e.message.contains("unflushed pseudo-link"))
            #expect(e.message.contains("aufsctl plink flush"))
        }
        let r = try run(.overlay, .commit, "dirs=\(rw):\(ro)=ro")
        #expect(r.branches[0].stats?.pseudoLinks == 2)
        #expect(st(rw + "/dir/b")?.st_ino == ino)
        #expect(st(rw + "/other/c")?.st_ino == ino)
        #expect(st(rw + "/other")?.st_mode == S_IFDIR | 0o750, "the directory aufs would have copied up")
        #expect(st(rw + "/.wh..wh.plnk") == nil)
        let v = try Conversion().mounted("overlay", [rw, ro], prefix: "trusted.overlay.")
        #expect(v.entry("other/c")?.linkGroup == [FileName("dir"), FileName("a")])
        #expect(readText(ro + "/other/c") == "old")
        withExtendedLifetime(t) {}
    }

    @Test func commitTwiceRollbackAndFinish() throws {
        let t = TempDir()
        let rw = canonical(t.path) + "/rw"
        let ro = canonical(t.path) + "/ro"
        put(rw + "/keep", "k")
        put(rw + "/d/e/f", "deep")
        put(ro + "/gone", "g")
        put(ro + "/d/x", "x")
        aufsWhiteout(rw, "gone")
        aufsWhiteout(rw, "d/x")
        put(rw + "/d/.wh..wh..opq", "", mode: 0o444)
        let spec = "dirs=\(rw):\(ro)=ro"
        let original = try TreeReader.layer(rw)
        _ = try run(.overlay, .commit, spec)
        let converted = try TreeReader.layer(rw, skipRoot: [BranchConverter.container])
        #expect(try run(.overlay, .commit, spec).branches[0].state == "committed")
        #expect(try TreeReader.layer(rw, skipRoot: [BranchConverter.container]) == converted)
        #expect(try run(nil, .verify, spec).verify?.equal == true)
        _ = try run(nil, .rollback, spec)
        #expect(try TreeReader.layer(rw) == original, "rollback is not byte-identical (inodes, times, xattrs)")
        _ = try run(.overlay, .commit, spec)
        _ = try run(nil, .finish, spec)
        #expect(st(rw + "/.aufsctl-convert") == nil)
        #expect(getx(rw + "/d", "trusted.overlay.opaque") == Array("y".utf8))
        do {
            _ = try run(nil, .rollback, spec)
        } catch { Issue.record("rollback with nothing staged: \(error)") }
        withExtendedLifetime(t) {}
    }

    @Test func aKilledRunsLeftoversAreFinishedAndForeignOnesRefused() throws {
        let t = TempDir()
        let rw = canonical(t.path) + "/rw"
        put(rw + "/f", "f")
        // What a kill while making or removing a staging leaves: the root's old times in the name.
        mkdir(rw + "/.aufsctl-convert.t1000.5.2000.7", 0o700)
        put(rw + "/.aufsctl-convert.t1000.5.2000.7/tree/x", "half made")
        _ = try run(nil, .rollback, rw)
        let r = try #require(st(rw))  // before anything reads the directory (relatime)
        #expect(r.st_mtim.tv_sec == 2000 && r.st_mtim.tv_nsec == 7 && r.st_atim.tv_sec == 1000)
        #expect(try TreeReader.layer(rw).root.entries.keys.map(\.description) == ["f"])
        // A staging directory another user could have written is never read.
        mkdir(rw + "/.aufsctl-convert", 0o700)
        chown(rw + "/.aufsctl-convert", 65534, 65534)
        do {
            _ = try run(nil, .rollback, rw)
            Issue.record("a foreign .aufsctl-convert was used")
        } catch let e as AufsError {
            #expect(e.exitCode == .usage && e.message.contains("not a private directory of uid 0"))
        }
        #expect(st(rw + "/.aufsctl-convert") != nil)
        withExtendedLifetime(t) {}
    }

    @Test func aLiveUnionIsUnmountedAndConverted() async throws {
        // The overlay fallback's union (aufs is missing here) converted to aufs by its mount point.
        let t = TempDir()
        let d = canonical(t.path)
        put(d + "/container/mine", "mine")
        put(d + "/image/theirs", "theirs")
        put(d + "/image/deleted", "x")
        mkdir(d + "/mnt", 0o755)
        let m = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./container:./image=ro", "./mnt"])
        try #require(m.status == 0, "mount failed: \(m.stderr)")
        defer { umount2(d + "/mnt", Int32(MNT_DETACH)) }
        #expect(unlink(d + "/mnt/deleted") == 0)
        let r = try run(.aufs, .commit, d + "/mnt")
        #expect(r.union == d + "/mnt")
        #expect(!isMountPoint(d + "/mnt"))
        #expect(st(d + "/container/.wh.deleted") != nil)
        #expect(r.mount == "aufsctl mount dirs=\(d)/container=rw:\(d)/image=ro MOUNTPOINT")
        withExtendedLifetime(t) {}
    }

    @Test func userxattrWritesTheUserNamespace() throws {
        let t = TempDir()
        let rw = canonical(t.path) + "/rw"
        let ro = canonical(t.path) + "/ro"
        put(rw + "/d/mine", "m")
        put(rw + "/d/.wh..wh..opq", "", mode: 0o444)
        put(ro + "/d/theirs", "t")
        let r = try run(.overlay, .commit, "dirs=\(rw):\(ro)=ro", userxattr: true)
        #expect(r.xattrs == "user")
        #expect(getx(rw + "/d", "user.overlay.opaque") == Array("y".utf8))
        #expect(getx(rw + "/d", "trusted.overlay.opaque") == nil)
        let v = try Conversion().mounted("overlay", [rw, ro], prefix: "user.overlay.")
        #expect(v.paths == ["", "d", "d/mine"])
        withExtendedLifetime(t) {}
    }
}

@Suite struct ConvertCLITests {
    @Test func usageErrorsExitTwo() async throws {
        let a = try await aufsctl(["convert", "--dry-run", "--commit", "--to", "overlay", "/tmp"])
        #expect(a.status == 2 && a.stderr.contains("exclude each other"))
        let b = try await aufsctl(["convert", "--dry-run", "/tmp"])
        #expect(b.status == 2 && b.stderr.contains("--to overlay or --to aufs is required"))
        let c = try await aufsctl(["convert", "--to", "overlay", "--dry-run", "dirs=/nonexistent-aufsctl:/tmp"])
        #expect(c.status == 2 && c.stderr.contains("/nonexistent-aufsctl"))
    }

    @Test(.enabled(if: isRoot, "needs root: trusted.* xattrs")) func jsonReport() async throws {
        let t = TempDir()
        let rw = canonical(t.path) + "/rw"
        put(rw + "/f", "f")
        aufsWhiteout(rw, "gone")
        let r = try await aufsctl(["convert", "--to", "overlay", "--dry-run", "--json", rw])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"schema\" : \"aufsctl.convert/1\""))
        let j = try JSONDecoder().decode(ConvertReport.self, from: Data(r.stdout.utf8))
        #expect(j.action == .dryRun && j.to == .overlay)
        #expect(j.changes?.map(\.kind) == [.whiteout, .dropped] || j.changes?.map(\.kind) == [.dropped, .whiteout])
        #expect(j.branches.first?.stats?.whiteouts == 1)
        withExtendedLifetime(t) {}
    }
}
