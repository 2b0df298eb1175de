// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// One hostile `aufsctl mount` invocation. `D` in args and fragments is the test's canonical temp
/// directory, which is also aufsctl's cwd; it holds directories a, b, c and mnt.
struct HostileCase: Sendable, CustomTestStringConvertible {
    var name: String
    var args: [String]
    var fragments: [String]
    /// Extra setup inside D (symlinks, odd directory names, files).
    var setup: @Sendable (String) -> Void = { _ in }

    var testDescription: String { name }

    /// Fragments use "@D" for D; args are relative to D (aufsctl's cwd) and need no substitution.
    func resolvedFragments(_ d: String) -> [String] { fragments.map { $0.replacing("@D", with: d) } }
}

private func symlinkIn(_ d: String, _ target: String, _ name: String) { symlink(target, d + "/" + name) }

let hostileCases: [HostileCase] = [
    HostileCase(
        name: "comma and xino= smuggled into the positional dirs= list",
        args: ["mount", "--fallback", "overlay", "dirs=./a,xino=/etc/x:./b", "./mnt"],
        fragments: ["dirs=./a,xino=/etc/x:./b", "',' at \",xino=/etc/x:./b\"", "options go in -o"]),
    HostileCase(
        name: "resolved path contains ':' (reached via a symlink without it)",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./lc=ro", "./mnt"],
        fragments: ["branch 1 (./lc)", "the resolved path @D/x:y contains ':'"],
        setup: { d in
            makeDir(d + "/x:y"); symlinkIn(d, "x:y", "lc")
        }),
    HostileCase(
        name: "resolved path contains ','",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./lk=ro", "./mnt"],
        fragments: ["branch 1 (./lk)", "the resolved path @D/x,y contains ','"],
        setup: { d in
            makeDir(d + "/x,y"); symlinkIn(d, "x,y", "lk")
        }),
    HostileCase(
        name: "resolved path contains '='",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./le=ro", "./mnt"],
        fragments: ["branch 1 (./le)", "the resolved path @D/x=y contains '='"],
        setup: { d in
            makeDir(d + "/x=y"); symlinkIn(d, "x=y", "le")
        }),
    HostileCase(
        name: "newline in a branch path",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./n\nl=ro", "./mnt"],
        fragments: ["branch 1 (./n\nl)", "contains a newline"],
        setup: { d in makeDir(d + "/n\nl") }),
    HostileCase(
        name: "symlink loop",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./loop1=ro", "./mnt"],
        fragments: ["branch 1 ./loop1", "has a symlink loop"],
        setup: { d in
            symlinkIn(d, "loop2", "loop1"); symlinkIn(d, "loop1", "loop2")
        }),
    HostileCase(
        // A regular file is an image branch (issue 23): one with no filesystem is refused by name.
        name: "a file that is no image instead of a directory",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./file.txt=ro", "./mnt"],
        fragments: [
            "image @D/file.txt", "libblkid finds no filesystem in it", "an image layer is a squashfs or erofs",
        ],
        setup: { d in writeFile(d + "/file.txt", "x\n") }),
    HostileCase(
        name: "missing branch directory",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./missing=ro", "./mnt"],
        fragments: ["branch 1 ./missing", "does not exist"]),
    HostileCase(
        name: "duplicate branch via ..",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b/../a=ro", "./mnt"],
        fragments: ["branch 1 (./b/../a)", "duplicate of an earlier branch (@D/a)"]),
    HostileCase(
        name: "duplicate branch via a symlink",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b=ro:./lb=ro", "./mnt"],
        fragments: ["branch 2 (./lb)", "duplicate of an earlier branch (@D/b)"],
        setup: { d in symlinkIn(d, "b", "lb") }),
    HostileCase(
        name: "nested branches (child after parent)",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b=ro:./b/sub=ro", "./mnt"],
        fragments: ["branch 2 (./b/sub)", "@D/b/sub and @D/b overlap"],
        setup: { d in makeDir(d + "/b/sub") }),
    HostileCase(
        name: "nested branches (parent after child)",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b/sub=ro:./b=ro", "./mnt"],
        fragments: ["branch 2 (./b)", "@D/b and @D/b/sub overlap"],
        setup: { d in makeDir(d + "/b/sub") }),
    HostileCase(
        name: "unknown permission",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b=rx", "./mnt"],
        fragments: ["branch 1 (./b)", "unknown permission \"rx\""]),
    HostileCase(
        name: "rw+wh",
        args: ["mount", "--fallback", "overlay", "dirs=./a=rw+wh:./b=ro", "./mnt"],
        fragments: ["branch 0 (./a)", "\"+wh\" applies to ro and rr branches only"]),
    HostileCase(
        name: "ro+nolwh",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b=ro+nolwh", "./mnt"],
        fragments: ["branch 1 (./b)", "\"+nolwh\" applies to rw branches only, not ro"]),
    // Without --fallback: overlay takes up to 500 layers, so 128 is only wrong for aufs.
    HostileCase(
        name: "128 branches",
        args: [
            "mount", "dirs=" + (0..<128).map { "./many/\($0)" + ($0 == 0 ? "" : "=ro") }.joined(separator: ":"),
            "./mnt",
        ],
        fragments: ["128 branches given; this aufs allows at most 127"],
        setup: { d in
            makeDir(d + "/many"); for i in 0..<128 { makeDir(d + "/many/\(i)") }
        }),
    HostileCase(
        name: "5000-byte path",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./" + String(repeating: "y", count: 4998) + "=ro", "./mnt"],
        fragments: ["branch 1: path is 5000 bytes; the limit is 4095"]),
    HostileCase(
        name: "/proc as a branch",
        args: ["mount", "--fallback", "overlay", "dirs=./a:/proc=ro", "./mnt"],
        fragments: ["branch 1 (/proc)", "/proc is on proc: aufs does not support proc as a branch"]),
    HostileCase(
        name: "/sys as a branch",
        args: ["mount", "--fallback", "overlay", "dirs=./a:/sys=ro", "./mnt"],
        fragments: ["branch 1 (/sys)", "/sys is on sysfs: aufs does not support sysfs as a branch"]),
    HostileCase(
        name: "target missing without --mkdir",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b=ro", "./nomnt"],
        fragments: ["mount point ./nomnt: does not exist"]),
    HostileCase(
        name: "newline in the target",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b=ro", "./m\nnt"],
        fragments: ["mount point ./m\nnt: contains a newline"]),
    HostileCase(
        name: "empty element a::b",
        args: ["mount", "--fallback", "overlay", "dirs=./a::./b", "./mnt"],
        fragments: ["branch list \"./a::./b\"", "empty element after branch 1 (\"::\")"]),
    HostileCase(
        name: "trailing ':'",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b:", "./mnt"],
        fragments: ["branch list \"./a:./b:\"", "empty element at the end (trailing ':')"]),
    HostileCase(
        name: "leading ':'",
        args: ["mount", "--fallback", "overlay", "dirs=:./a:./b", "./mnt"],
        fragments: ["branch list \":./a:./b\"", "empty element at the start"]),
    HostileCase(
        name: "-t ext4",
        args: ["mount", "-t", "ext4", "--fallback", "overlay", "dirs=./a:./b=ro", "./mnt"],
        fragments: ["-t ext4: aufsctl mounts aufs"]),
    HostileCase(
        name: "--fallback bogus",
        args: ["mount", "--fallback", "bogus", "dirs=./a:./b=ro", "./mnt"],
        fragments: ["The value 'bogus' is invalid for '--fallback <fallback>'", "'none'", "'overlay'"]),
    HostileCase(
        name: "two rw branches with --fallback overlay",
        args: ["mount", "--fallback", "overlay", "dirs=./a=rw:./b=rw:./c=ro", "./mnt"],
        fragments: ["overlay fallback: 2 rw branches (@D/a, @D/b)", "make all but the first ro"]),
    HostileCase(
        name: "rw branch not first with --fallback overlay",
        args: ["mount", "--fallback", "overlay", "dirs=./a=ro:./b=rw", "./mnt"],
        fragments: ["the rw branch @D/b is branch 1", "make it the first branch"]),
    HostileCase(
        name: "only a rw branch with --fallback overlay",
        args: ["mount", "--fallback", "overlay", "dirs=./a", "./mnt"],
        fragments: ["overlay fallback: needs at least one ro branch below the rw one"]),
    HostileCase(
        name: "xino= in a directory that does not exist (aufs dry run)",
        args: ["mount", "--dry-run", "-o", "xino=./nodir/x.xino", "dirs=./a:./b=ro", "./mnt"],
        fragments: ["xino=./nodir/x.xino: directory @D/nodir: does not exist"]),
    // Fixed in 39e2de3: xino= used to go unchecked when the overlay fallback was taken.
    HostileCase(
        name: "xino= in a directory that does not exist (--fallback overlay)",
        args: ["mount", "--fallback", "overlay", "-o", "xino=./nodir/x.xino", "dirs=./a:./b=ro", "./mnt"],
        fragments: ["xino=./nodir/x.xino: directory @D/nodir: does not exist"]),
    HostileCase(
        name: "-o noxino,udba=bogus",
        args: ["mount", "--fallback", "overlay", "-o", "noxino,udba=bogus", "dirs=./a:./b=ro", "./mnt"],
        fragments: ["-o udba=bogus: udba takes one of none, notify, reval"]),
    HostileCase(
        name: "unknown -o option",
        args: ["mount", "--fallback", "overlay", "-o", "frobnicate", "dirs=./a:./b=ro", "./mnt"],
        fragments: ["-o frobnicate: unknown aufs option"]),
    HostileCase(
        name: "branch list both in -o and as an argument",
        args: ["mount", "--fallback", "overlay", "-o", "dirs=./a:./b=ro", "dirs=./c", "./mnt"],
        fragments: ["branches given both in -o and as dirs=", "give one list"]),
    HostileCase(
        name: "rw branch on -o ro",
        args: ["mount", "--fallback", "overlay", "-o", "ro", "dirs=./a=rw:./b=ro", "./mnt"],
        fragments: ["branch 0 (./a): a rw branch on a read-only mount (-o ro)"]),
    HostileCase(
        name: "no branch list at all",
        args: ["mount", "--fallback", "overlay", "none", "./mnt"],
        fragments: ["no branches: give dirs=RW:RO1=ro:..."]),
    HostileCase(
        name: "three positional arguments",
        args: ["mount", "--fallback", "overlay", "dirs=./a:./b=ro", "./mnt", "./c"],
        fragments: ["expected [dirs=BRANCHES|SOURCE] TARGET, got 3 arguments"]),
]

/// A fresh canonical temp dir with a, b, c and mnt, kept alive by the returned TempDir.
func hostileFixture() -> (TempDir, String) {
    let t = TempDir()
    let d = canonical(t.path)
    for n in ["a", "b", "c", "mnt"] { makeDir(d + "/" + n) }
    return (t, d)
}

/// Runs a refused invocation and checks exit 2, every fragment on stderr, nothing
/// newly mounted below D, mountinfo unchanged and no overlay workdir created.
func expectRefused(
    _ args: [String], fragments: [String], in d: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let pointsBefore = mountPoints(under: d)
    let before = mountinfo()
    let r = try await aufsctl(in: d, args)
    let after = mountinfo()
    #expect(r.status == 2, "exit \(r.status); stderr: \(r.stderr)", sourceLocation: sourceLocation)
    for f in fragments {
        #expect(r.stderr.contains(f), "stderr lacks \"\(f)\": \(r.stderr)", sourceLocation: sourceLocation)
    }
    #expect(
        r.stderr.hasPrefix("aufsctl: ") || r.stderr.hasPrefix("Error: "), "\(r.stderr)", sourceLocation: sourceLocation)
    expectMountinfoUnchanged(before, after, concerning: d, sourceLocation: sourceLocation)
    #expect(mountPoints(under: d) == pointsBefore, "nothing new mounted under \(d)", sourceLocation: sourceLocation)
    #expect(!FileRead.exists(d + "/.aufsctl-work.a"), "no overlay workdir may be left", sourceLocation: sourceLocation)
}

@Suite struct HostileInputTests {
    @Test(arguments: hostileCases)
    func refused(_ c: HostileCase) async throws {
        let (t, d) = hostileFixture()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        c.setup(d)
        // As root the calls are real, so a missed check would mount (and mountinfo would show it);
        // without root, mount refuses before validating unless it is a dry run.
        let args = isRoot || c.args.contains("--dry-run") ? c.args : c.args + ["--dry-run"]
        try await expectRefused(args, fragments: c.resolvedFragments(d), in: d)
    }

    @Test func tableIsLargeEnough() { #expect(hostileCases.count >= 25) }

    /// `..` that resolves fine is not hostile: the call carries the canonical paths.
    @Test func dotDotComponentsResolveToCanonicalPaths() async throws {
        let (t, d) = hostileFixture()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        makeDir(d + "/b/sub")
        let before = mountinfo()
        let r = try await aufsctl(in: d, ["mount", "--dry-run", "dirs=./b/sub/../../a:./c/../b=ro", "./c/../mnt"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "mount(\"none\", \"\(d)/mnt\", \"aufs\", 0, \"br=\(d)/a=rw:\(d)/b=ro,xino=/run/aufsctl/xino/\(Mounter.xinoName(target: d + "/mnt"))\")"
            ),
            "\(r.stdout)")
        #expect(!r.stdout.contains(".."))
        expectMountinfoUnchanged(before, mountinfo(), concerning: d)
    }

    /// A relative target works and is reported canonical.
    @Test func relativeTargetIsCanonicalised() async throws {
        let (t, d) = hostileFixture()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let r = try await aufsctl(
            in: d, ["mount", "--dry-run", "--fallback", "overlay", "--json", "dirs=a:b=ro", "mnt"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(MountReport.self, from: Data(r.stdout.utf8))
        #expect(report.target == d + "/mnt")
        #expect(report.branches.map(\.path) == [d + "/a", d + "/b"])
        #expect(report.workdir == d + "/.aufsctl-work.a")
        #expect(report.dryRun)
        #expect(mountPoints(under: d).isEmpty)
    }

    @Test(.enabled(if: isRoot, "needs root: mounts an overlay to use as a branch"))
    func overlayMountAsBranch() async throws {
        let (t, d) = hostileFixture()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        for n in ["l1", "l2", "ovl"] { makeDir(d + "/" + n) }
        let rc = sysMount("testovl", d + "/ovl", "overlay", "lowerdir=\(d)/l1:\(d)/l2")
        try #require(rc == 0, "could not mount the test overlay: errno \(rc)")
        try await expectRefused(
            ["mount", "--fallback", "overlay", "dirs=./a:./ovl=ro", "./mnt"],
            fragments: ["branch 1 (./ovl)", "@D/ovl is on overlay", "already a stacked filesystem"]
                .map { $0.replacing("@D", with: d) }, in: d)
    }

    @Test(.enabled(if: isRoot, "needs root: mounts a tmpfs on the target first"))
    func targetAlreadyMounted() async throws {
        let (t, d) = hostileFixture()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let rc = sysMount("testtmpfs", d + "/mnt", "tmpfs", "size=1m")
        try #require(rc == 0, "could not mount the test tmpfs: errno \(rc)")
        try await expectRefused(
            ["mount", "--fallback", "overlay", "dirs=./a:./b=ro", "./mnt"],
            fragments: ["\(d)/mnt is already a mount point (tmpfs from testtmpfs)", "unmount it first"], in: d)
    }
}
