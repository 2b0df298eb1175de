// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit

/// The reference evaluators on hand-made stacks from aufs's design notes
/// (Documentation/filesystems/aufs/design/02struct.txt, 03lookup.txt, 06xattr.txt, 08shwh.txt and
/// fs/aufs/dentry.c, whout.c, vdir.c) and the kernel's Documentation/filesystems/overlayfs.rst.
@Suite struct AufsEvaluatorTests {
    func aufs(_ layers: [(LayerBuilder, String)], plinks: Bool = true) throws -> MergedView {
        try AufsEvaluator.view(
            layers.map { AufsEvaluator.Branch($0.0.layer, permission: try! BranchPermission.parse($0.1).get()) },
            pseudoLinks: plinks)
    }

    @Test func lowerFileShowsThroughTheUnion() throws {
        // 02struct: /au = /rw + /ro, /ro/fileA exists but /rw/fileA does not: fileA comes from /ro.
        var rw = LayerBuilder()
        var ro = LayerBuilder(inodeBase: 2000)
        rw.dir("d")
        ro.file("fileA", "from ro")
        let v = try aufs([(rw, "rw"), (ro, "ro")])
        #expect(v.paths == ["", "d", "fileA"])
        #expect(v.content("fileA") == Content(Array("from ro".utf8)))
    }

    @Test func whiteoutHidesTheLowerFileAndItself() throws {
        // 02struct "Whiteout": removing a file of a readonly branch leaves .wh.NAME, a hard link of
        // the whiteout base, on the writable branch; lookup stops there; readdir does not list it.
        var rw = LayerBuilder()
        var ro = LayerBuilder(inodeBase: 2000)
        rw.aufsWhiteout("etc/fileA")
        ro.file("etc/fileA", "x")
        ro.file("etc/fileB", "y")
        let v = try aufs([(rw, "rw"), (ro, "ro")])
        #expect(v.paths == ["", "etc", "etc/fileB"])
    }

    @Test func opaqueDirectoryStopsTheMergeBelow() throws {
        var rw = LayerBuilder()
        var ro = LayerBuilder(inodeBase: 2000)
        rw.file("dirA/mine")
        rw.aufsOpaque("dirA")
        ro.file("dirA/theirs")
        ro.file("dirB/kept")
        let v = try aufs([(rw, "rw"), (ro, "ro")])
        #expect(v.paths == ["", "dirA", "dirA/mine", "dirB", "dirB/kept"])
    }

    @Test func directoriesMergeWithTheTopmostAttributes() throws {
        // 06xattr: aufs shows the attributes of the topmost existing entry.
        var rw = LayerBuilder()
        var ro = LayerBuilder(inodeBase: 2000)
        rw.dir("d", meta: Meta(mode: 0o700, uid: 5, xattrs: ["user.top": [1]]))
        rw.file("d/x")
        ro.dir("d", meta: Meta(mode: 0o755, uid: 0, xattrs: ["user.low": [2]]))
        ro.file("d/y")
        let v = try aufs([(rw, "rw"), (ro, "ro")])
        #expect(v.paths == ["", "d", "d/x", "d/y"])
        let d = try #require(v.entry("d"))
        #expect(d.mode == 0o700 && d.uid == 5 && d.xattrs.map(\.name) == ["user.top"])
    }

    @Test func theLowestOpaqueDirectoryBoundsTheMerge() throws {
        // dentry.c au_lkup_dentry: the lookup of a new (negative) dentry does not stop at an opaque
        // branch (isdir is false), and au_do_lookup records each opaque branch it meets, the last
        // one winning. aufs 6.1 in QEMU: b0/a (opaque) + b1/a/t1 + b2/a (opaque) lists t0 t1 t2.
        var b0 = LayerBuilder()
        var b1 = LayerBuilder(inodeBase: 2000)
        var b2 = LayerBuilder(inodeBase: 3000)
        var b3 = LayerBuilder(inodeBase: 4000)
        b0.file("a/t0")
        b0.aufsOpaque("a")
        b1.file("a/t1")
        b2.file("a/t2")
        b2.aufsOpaque("a")
        b3.file("a/t3")
        #expect(
            try aufs([(b0, "ro+wh"), (b1, "ro+wh"), (b2, "ro+wh"), (b3, "ro+wh")]).paths == [
                "", "a", "a/t0", "a/t1", "a/t2",
            ])
        // Only the upper one: it bounds the merge, as documented.
        var c2 = LayerBuilder(inodeBase: 3000)
        c2.file("a/t2")
        #expect(try aufs([(b0, "ro+wh"), (b1, "ro+wh"), (c2, "ro+wh")]).paths == ["", "a", "a/t0"])
    }

    @Test func namesOverTheAufsLimitCannotBeShown() throws {
        // AUFS_MAX_NAMELEN: 255 - 2 * 4 - 1 - 4 = 242 bytes; aufs_lookup gives ENAMETOOLONG past it.
        var rw = LayerBuilder()
        rw.file(String(repeating: "x", count: 242))
        #expect(try aufs([(rw, "rw")]).paths.count == 2)
        rw.file(String(repeating: "y", count: 243))
        #expect(throws: EvaluationProblem.self) { try aufs([(rw, "rw")]) }
    }

    @Test func theFirstNonDirectoryWins() throws {
        var rw = LayerBuilder()
        var ro = LayerBuilder(inodeBase: 2000)
        rw.file("A", "file")
        ro.file("A/inside")
        let v = try aufs([(rw, "rw"), (ro, "ro")])
        #expect(v.paths == ["", "A"])
        #expect(v.content("A") == Content(Array("file".utf8)))
    }

    @Test func aDirectoryMergesPastALowerNonDirectory() throws {
        // dentry.c au_do_lookup: once the type is a directory, a lower entry of another type is
        // skipped and the lookup goes on below it.
        var top = LayerBuilder()
        var mid = LayerBuilder(inodeBase: 2000)
        var low = LayerBuilder(inodeBase: 3000)
        top.file("A/x")
        mid.file("A", "a file")
        low.file("A/y")
        let v = try aufs([(top, "rw"), (mid, "ro"), (low, "ro")])
        #expect(v.paths == ["", "A", "A/x", "A/y"])
    }

    @Test func whiteoutsCountOnlyOnBranchesThatHoldThem() throws {
        // A ro branch without +wh: aufs does not test its whiteouts (au_br_whable), nor list them.
        var rw = LayerBuilder()
        var mid = LayerBuilder(inodeBase: 2000)
        var low = LayerBuilder(inodeBase: 3000)
        rw.dir("d")
        mid.aufsWhiteout("d/f")
        low.file("d/f", "still here")
        #expect(try aufs([(rw, "rw"), (mid, "ro"), (low, "ro")]).paths == ["", "d", "d/f"])
        #expect(try aufs([(rw, "rw"), (mid, "ro+wh"), (low, "ro")]).paths == ["", "d"])
    }

    @Test func aNameBesideItsWhiteout() throws {
        // On the parent's first branch: EIO (au_do_lookup with ALLOW_NEG; aufs 6.1 gives EIO to stat).
        var rw = LayerBuilder()
        rw.file("f")
        rw.aufsWhiteout("f")
        #expect(throws: EvaluationProblem.self) { try aufs([(rw, "rw")]) }
        // Further down, the whiteout stops the lookup and the name is not shown.
        var top = LayerBuilder()
        var low = LayerBuilder(inodeBase: 2000)
        top.file("d/mine")
        low.file("d/f")
        low.aufsWhiteout("d/f")
        #expect(try aufs([(top, "rw"), (low, "ro+wh")]).paths == ["", "d", "d/mine"])
    }

    @Test func aWhiteoutThatIsNotARegularFileIsAnError() throws {
        // whout.c au_wh_test: "Invalid whiteout entry type" -> EIO.
        var rw = LayerBuilder()
        rw.dir(".wh.f")
        var ro = LayerBuilder(inodeBase: 2000)
        ro.file("f")
        #expect(throws: EvaluationProblem.self) { try aufs([(rw, "rw"), (ro, "ro")]) }
    }

    @Test func hardLinksFormOneGroup() throws {
        var rw = LayerBuilder()
        let i = rw.file("a", "same")
        rw.link("sub/b", i)
        rw.file("c", "same")
        let v = try aufs([(rw, "rw")])
        #expect(v.entry("a")?.linkGroup == [FileName("a")])
        #expect(v.entry("sub/b")?.linkGroup == [FileName("a")])
        #expect(v.entry("c")?.linkGroup == nil)
    }

    @Test func pseudoLinkShowsTheCopyUnderEveryName() throws {
        // 02struct "Pseudo-link": fileA and fileB are hard links on the readonly branch; writing
        // fileA copies it up and links it into the pseudo-link directory; fileB then reads the copy.
        var rw = LayerBuilder()
        var ro = LayerBuilder(inodeBase: 2000)
        let low = ro.file("dir/fileA", "old")
        ro.link("dir/fileB", low)
        let copy = rw.file("dir/fileA", "new")
        rw.link(".wh..wh.plnk/77.\(copy)", copy)
        let v = try aufs([(rw, "rw"), (ro, "ro")])
        #expect(v.paths == ["", "dir", "dir/fileA", "dir/fileB"])
        #expect(v.content("dir/fileB") == Content(Array("new".utf8)))
        #expect(v.entry("dir/fileB")?.linkGroup == [FileName("dir"), FileName("fileA")])
        // Without pseudo-links (an aufs 6.x remount): the lower file again.
        let cold = try aufs([(rw, "rw"), (ro, "ro")], plinks: false)
        #expect(cold.content("dir/fileB") == Content(Array("old".utf8)))
        #expect(cold.entry("dir/fileB")?.linkGroup == nil)
    }

    @Test func namesWithTheWhiteoutPrefixAreNeverShown() throws {
        // dentry.c au_test_shwh: a name beginning with .wh. gives EPERM (without shwh).
        var rw = LayerBuilder()
        rw.file(".wh.", "")
        rw.dir(".wh..wh.plnk")
        rw.file("visible")
        #expect(try aufs([(rw, "rw")]).paths == ["", "visible"])
    }
}

@Suite struct OverlayEvaluatorTests {
    @Test func upperNonDirectoryHidesLower() throws {
        // "If a given name appears in both upper and lower filesystems and refers to a
        // non-directory in either, then the lower object is hidden".
        var up = LayerBuilder()
        var low = LayerBuilder(inodeBase: 2000)
        up.file("a", "upper")
        low.file("a", "lower")
        up.file("b", "upper")
        low.file("b/inside")
        let v = try OverlayEvaluator.view([up.layer, low.layer])
        #expect(v.paths == ["", "a", "b"])
        #expect(v.content("a") == Content(Array("upper".utf8)))
    }

    @Test func directoriesMergeWithUpperAttributesOnly() throws {
        // "Other content such as metadata and extended attributes are reported for the upper
        // directory only."
        var up = LayerBuilder()
        var low = LayerBuilder(inodeBase: 2000)
        up.dir("d", meta: Meta(mode: 0o711, xattrs: ["user.u": [1], "trusted.overlay.origin": [9]]))
        up.file("d/x")
        low.dir("d", meta: Meta(mode: 0o755, xattrs: ["user.l": [2]]))
        low.file("d/y")
        let v = try OverlayEvaluator.view([up.layer, low.layer])
        #expect(v.paths == ["", "d", "d/x", "d/y"])
        let d = try #require(v.entry("d"))
        #expect(d.mode == 0o711 && d.xattrs.map(\.name) == ["user.u"])
    }

    @Test func whiteoutDeviceHidesTheLowerNameAndItself() throws {
        // "A whiteout is created as a character device with 0/0 device number ... any matching name
        // in the lower level is ignored, and the whiteout itself is also hidden."
        var up = LayerBuilder()
        var low = LayerBuilder(inodeBase: 2000)
        up.overlayWhiteout("d/gone")
        low.file("d/gone")
        low.file("d/kept")
        up.device("d/dev", rdev: 0x0103)
        #expect(try OverlayEvaluator.view([up.layer, low.layer]).paths == ["", "d", "d/dev", "d/kept"])
    }

    @Test func opaqueDirectoryIgnoresTheLowerOne() throws {
        var up = LayerBuilder()
        var low = LayerBuilder(inodeBase: 2000)
        up.file("d/mine")
        up.overlayOpaque("d")
        low.file("d/theirs")
        #expect(try OverlayEvaluator.view([up.layer, low.layer]).paths == ["", "d", "d/mine"])
        // opaque=x marks xattr whiteouts, it is not opaque.
        var up2 = LayerBuilder()
        up2.file("d/mine")
        up2.setDirXattr("d", "trusted.overlay.opaque", "x")
        #expect(try OverlayEvaluator.view([up2.layer, low.layer]).paths == ["", "d", "d/mine", "d/theirs"])
    }

    @Test func xattrWhiteoutHidesWithOrWithoutTheMarker() throws {
        // "A whiteout is created ... as a zero-size regular file with the xattr
        // trusted.overlay.whiteout"; the directory's opaque=x is for readdir: lookup (6.18, checked
        // by ConvertPropertyTests against the kernel) honours the whiteout without it.
        var up = LayerBuilder()
        var low = LayerBuilder(inodeBase: 2000)
        up.file("d/gone", meta: Meta(xattrs: ["trusted.overlay.whiteout": []]))
        up.file("d/kept", "not empty", meta: Meta(xattrs: ["trusted.overlay.whiteout": []]))
        low.file("d/gone", "x")
        #expect(try OverlayEvaluator.view([up.layer, low.layer]).paths == ["", "d", "d/kept"])
        up.setDirXattr("d", "trusted.overlay.opaque", "x")
        #expect(try OverlayEvaluator.view([up.layer, low.layer]).paths == ["", "d", "d/kept"])
        #expect(
            try OverlayEvaluator.view([up.layer, low.layer], xattrWhiteouts: false).paths == [
                "", "d", "d/gone", "d/kept",
            ])
    }

    @Test func multipleLowerLayersStackLeftToRight() throws {
        // "lowerdir=/lower1:/lower2:/lower3 ... lower1 will be the top".
        var l1 = LayerBuilder()
        var l2 = LayerBuilder(inodeBase: 2000)
        var l3 = LayerBuilder(inodeBase: 3000)
        l1.file("f", "1")
        l2.file("f", "2")
        l2.overlayWhiteout("g")
        l3.file("g", "3")
        l3.file("h", "3")
        let v = try OverlayEvaluator.view([l1.layer, l2.layer, l3.layer])
        #expect(v.paths == ["", "f", "h"])
        #expect(v.content("f") == Content(Array("1".utf8)))
    }

    @Test func aNonDirectoryBelowADirectoryEndsItsMerge() throws {
        // namei.c ovl_lookup_single: a non-directory under a directory stops the lookup (aufs would
        // go past it: see AufsEvaluatorTests.aDirectoryMergesPastALowerNonDirectory).
        var top = LayerBuilder()
        var mid = LayerBuilder(inodeBase: 2000)
        var low = LayerBuilder(inodeBase: 3000)
        top.file("A/x")
        mid.file("A", "a file")
        low.file("A/y")
        #expect(try OverlayEvaluator.view([top.layer, mid.layer, low.layer]).paths == ["", "A", "A/x"])
    }

    @Test func userxattrMovesTheNamespace() throws {
        var up = LayerBuilder()
        var low = LayerBuilder(inodeBase: 2000)
        up.file("d/mine", meta: Meta(xattrs: ["trusted.overlay.origin": [1]]))
        up.overlayOpaque("d", prefix: "user.overlay.")
        low.file("d/theirs")
        let v = try OverlayEvaluator.view([up.layer, low.layer], prefix: "user.overlay.")
        #expect(v.paths == ["", "d", "d/mine"])
        #expect(v.entry("d/mine")?.xattrs.map(\.name) == ["trusted.overlay.origin"])
        #expect(v.entry("d")?.xattrs == [])
    }

    @Test func redirectIsNotModelled() throws {
        var up = LayerBuilder()
        up.dir("d")
        up.setDirXattr("d", "trusted.overlay.redirect", "/e")
        #expect(throws: EvaluationProblem.self) { try OverlayEvaluator.view([up.layer]) }
    }

    @Test func differencesNameThePathAndTheField() throws {
        var a = LayerBuilder()
        a.file("f", "one")
        a.file("g")
        var b = LayerBuilder()
        b.file("f", "two")
        b.file("h")
        let d = try OverlayEvaluator.view([a.layer]).differences(from: try OverlayEvaluator.view([b.layer]))
        #expect(d.contains("/f: content differs (same size 3) (source -> result)"))
        #expect(d.contains("/g: in the source (file of 0 bytes), missing from the result"))
        #expect(d.contains("/h: in the result (file of 0 bytes), missing from the source"))
    }
}
