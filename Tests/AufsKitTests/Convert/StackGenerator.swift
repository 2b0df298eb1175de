// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CConvert
import Glibc

@testable import AufsKit

/// SplitMix64: a small seeded generator, so a failing stack is made again from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Writes a random branch stack of one format to disk (as root: owners, device nodes, trusted.*
/// xattrs): files, directories, symlinks, hard links across names and directories, fifos, sockets,
/// device nodes, whiteouts and opaque directories of the format, deep paths, and odd names (a
/// newline, a tab, an invalid UTF-8 byte, `.wh.` inside a name, 255 bytes). Some stacks carry what a
/// conversion must refuse (a `.wh.` name in an overlay layer, a redirect, aufs's dirren records, a
/// whiteout on a branch given without +wh...): the test counts those refusals by reason.
struct StackGenerator {
    var rng: SplitMix64
    let format: UnionFormat
    let dir: String
    /// Regular files made so far in the current branch, for hard links.
    var files: [(FD, FileName)] = []
    var branch = 0
    var baseMade = false
    var perms: [String] = []
    /// This stack may carry what a conversion refuses (a sixth of the stacks).
    var hostile = false

    init(seed: UInt64, format: UnionFormat, dir: String) {
        rng = SplitMix64(seed: seed)
        self.format = format
        self.dir = dir
    }

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    mutating func pick<T>(_ a: [T]) -> T { a[Int.random(in: 0..<a.count, using: &rng)] }

    /// xattr whiteouts only where the kernel reads them (6.7+): a 6.1 kernel shows them as files.
    static let xattrWhiteouts = OverlayEvaluator.readsXattrWhiteouts(LinuxSyscalls().uname().release)

    static let common: [[UInt8]] = ["a", "b", "c", "d", "e", "f"].map { Array($0.utf8) }
    static let odd: [[UInt8]] = [
        Array("new\nline".utf8), Array("tab\there".utf8), [0x66, 0xff, 0x67], Array("x.wh.y".utf8),
        Array("sp ace".utf8), Array("caf\u{e9}".utf8), Array(".hidden".utf8),
        Array(repeating: 0x6c, count: 242),  // aufs's longest (AUFS_MAX_NAMELEN)
    ]

    /// The stack: branch directories (top first) and their aufs permissions.
    mutating func make() throws -> [(path: String, perm: String)] {
        let n = Int.random(in: 1...4, using: &rng)
        hostile = chance(16)
        var out: [(String, String)] = []
        for i in 0..<n {
            branch = i
            files = []
            baseMade = false
            let p = dir + "/b\(i)"
            mkdir(p, 0o755)
            let perm = i == 0 ? "rw" : (format == .aufs ? (chance(hostile ? 50 : 90) ? "ro+wh" : "ro") : "ro")
            perms.append(perm)
            let fd = try Ops.openPathNoFollow(p)
            try fill(fd, p, depth: 0)
            if chance(8) { try deep(fd, p) }
            if format == .aufs && i > 0 && chance(6) { try pseudoLink(out.map(\.0) + [p]) }
            if format == .aufs && hostile && chance(10) {
                try touch(fd, p, FileName(".wh..wh..dr.abc"), content: [1])
            }
            if format == .overlay && chance(3) { try xattr(p, "trusted.overlay.opaque", "y") }  // on a root
            setTimes(p)
            out.append((p, perm))
        }
        return out
    }

    mutating func name(_ taken: Set<FileName>) -> FileName {
        for _ in 0..<20 {
            var n = FileName(chance(10) ? pick(StackGenerator.odd) : pick(StackGenerator.common))
            // Refused: aufs cannot show it.
            if hostile && chance(3) { n = FileName(Array(repeating: 0x6d, count: 255)) }
            if !taken.contains(n) { return n }
        }
        return FileName("z\(Int.random(in: 0..<1_000_000, using: &rng))")
    }

    mutating func fill(_ fd: FD, _ path: String, depth: Int) throws {
        var taken = Set<FileName>()
        let count = Int.random(in: (depth == 0 ? 2 : 0)...5, using: &rng)
        var opaque = false
        for _ in 0..<count {
            let n = name(taken)
            taken.insert(n)
            let p = path + "/" + n.description
            let k = Int.random(in: 0..<100, using: &rng)
            switch k {
            case 0..<28 where depth < 4:
                try makeDir(fd, n)
                let sub = try Ops.openDir(fd.fd, n)
                try fill(sub, p, depth: depth + 1)
                try meta(fd, n, dir: true)
            case 0..<50:
                try touch(fd, p, n, content: randomBytes())
                try meta(fd, n)
            case 50..<56:
                let t = Array("target-\(Int.random(in: 0..<9, using: &rng))".utf8)
                _ = Ops.withName(FileName(t)) { t in Ops.withName(n) { symlinkat(t, fd.fd, $0) } }
                try meta(fd, n, symlink: true)
            case 56..<64 where !files.isEmpty:
                let (d, t) = pick(files)
                _ = Ops.withName(t) { t in Ops.withName(n) { linkat(d.fd, t, fd.fd, $0, 0) } }
            case 64..<67:
                _ = Ops.withName(n) { mknodat(fd.fd, $0, S_IFIFO | 0o644, 0) }
                try meta(fd, n)
            case 67..<69:
                _ = Ops.withName(n) { mknodat(fd.fd, $0, S_IFCHR | 0o600, UInt(cv_makedev(1, 3))) }
                try meta(fd, n)
            case 69..<70:
                _ = Ops.withName(n) { mknodat(fd.fd, $0, S_IFSOCK | 0o600, 0) }
            case 70..<88 where format == .overlay || perms[branch] != "ro" || hostile:
                try whiteout(fd, path, n)
            case 88..<94 where !opaque && depth > 0 && (format == .overlay || perms[branch] != "ro" || hostile):
                opaque = true
                try makeOpaque(fd, path)
            default:
                try oddity(fd, path, n)
            }
        }
    }

    mutating func randomBytes() -> [UInt8] {
        let len = chance(15) ? 0 : Int.random(in: 1...40, using: &rng)
        return (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    func makeDir(_ fd: FD, _ n: FileName) throws {
        _ = Ops.withName(n) { mkdirat(fd.fd, $0, 0o755) }
    }

    mutating func touch(_ fd: FD, _ p: String, _ n: FileName, content: [UInt8]) throws {
        let f = Ops.withName(n) { openat(fd.fd, $0, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644) }
        guard f >= 0 else { return }
        _ = content.withUnsafeBytes { write(f, $0.baseAddress, $0.count) }
        if chance(3) { _ = pwrite(f, [1], 1, 1 << 20) }  // a sparse file
        close(f)
        files.append((fd, n))
    }

    /// Owner, mode, xattrs and times.
    mutating func meta(_ fd: FD, _ n: FileName, dir: Bool = false, symlink: Bool = false) throws {
        let uid = pick([0, 0, 1000, 65534] as [UInt32])
        _ = Ops.withName(n) { fchownat(fd.fd, $0, uid, pick([0, 100] as [UInt32]), AT_SYMLINK_NOFOLLOW) }
        if !symlink {
            let mode: UInt32 =
                dir ? pick([0o755, 0o700, 0o1777, 0o2775]) : pick([0o644, 0o600, 0o4755, 0o444, 0o2755])
            _ = Ops.withName(n) { fchmodat(fd.fd, $0, mode, 0) }
            if chance(25) { try? Ops.setXattr(.entry(fd.fd, n), "user.note", randomBytes() + [1], flags: 0) }
            if !dir && chance(5) {
                // cap_net_raw+ep (struct vfs_cap_data, revision 2), set after the chown that would clear it
                let cap: [UInt8] = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
                try? Ops.setXattr(.entry(fd.fd, n), "security.capability", cap, flags: 0)
            }
            if dir && chance(8) {
                // An ACL: user:1000:r-x on top of the mode (version 2, then tag/perm/id entries).
                var acl: [UInt8] = [2, 0, 0, 0]
                for (tag, perm, id) in [
                    (1, 7, UInt32.max), (2, 5, 1000), (4, 5, UInt32.max), (0x10, 5, UInt32.max), (0x20, 5, UInt32.max),
                ] {
                    acl += [UInt8(tag), 0, UInt8(perm), 0]
                    acl += withUnsafeBytes(of: id.littleEndian) { Array($0) }
                }
                try? Ops.setXattr(.entry(fd.fd, n), "system.posix_acl_access", acl, flags: 0)
                try? Ops.setXattr(.entry(fd.fd, n), "system.posix_acl_default", acl, flags: 0)
            }
            if format == .overlay && chance(20) {
                try? Ops.setXattr(
                    .entry(fd.fd, n), "trusted.overlay.origin", [0, 0xfb, 9, 1] + randomBytes(), flags: 0)
            }
            if format == .overlay && dir && chance(20) {
                try? Ops.setXattr(.entry(fd.fd, n), "trusted.overlay.impure", Array("y".utf8), flags: 0)
            }
        }
        var ts = [
            timespec(tv_sec: 1_600_000_000, tv_nsec: 0),
            timespec(
                tv_sec: Int.random(in: 1_500_000_000...1_700_000_000, using: &rng),
                tv_nsec: Int.random(in: 0..<1_000_000_000, using: &rng)),
        ]
        _ = Ops.withName(n) { utimensat(fd.fd, $0, &ts, AT_SYMLINK_NOFOLLOW) }
    }

    func setTimes(_ p: String) {
        var ts = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_650_000_000, tv_nsec: 123)]
        utimensat(AT_FDCWD, p, &ts, AT_SYMLINK_NOFOLLOW)
    }

    mutating func whiteout(_ fd: FD, _ path: String, _ n: FileName) throws {
        if format == .aufs {
            if Ops.lstat(fd.fd, n) != nil && !chance(5) { return }
            try link(fd, n.whiteout)
        } else if chance(85) || !StackGenerator.xattrWhiteouts {
            _ = Ops.withName(n) { mknodat(fd.fd, $0, S_IFCHR | 0, 0) }
        } else {
            // An xattr whiteout (kernels 6.7+): a zero-size file in a directory marked opaque=x.
            try touch(fd, path + "/" + n.description, n, content: [])
            files.removeLast()
            try? Ops.setXattr(.entry(fd.fd, n), "trusted.overlay.whiteout", [], flags: 0)
            try? Ops.setXattr(.fd(fd.fd), "trusted.overlay.opaque", Array("x".utf8), flags: 0)
        }
    }

    /// aufs: a hard link of the branch's whiteout base.
    mutating func link(_ fd: FD, _ n: FileName) throws {
        let base = dir + "/b\(branch)/.wh..wh.aufs"
        if !baseMade {
            let f = open(base, O_WRONLY | O_CREAT | O_EXCL, 0o444)
            if f >= 0 { close(f) }
            baseMade = true
        }
        _ = Ops.withName(n) { linkat(AT_FDCWD, base, fd.fd, $0, 0) }
    }

    mutating func makeOpaque(_ fd: FD, _ path: String) throws {
        if format == .aufs {
            try link(fd, FileName.diropq)
        } else {
            try? Ops.setXattr(.fd(fd.fd), "trusted.overlay.opaque", Array("y".utf8), flags: 0)
        }
    }

    func xattr(_ p: String, _ n: String, _ v: String) throws {
        let fd = try Ops.openPathNoFollow(p)
        try? Ops.setXattr(.fd(fd.fd), FileName(n), Array(v.utf8), flags: 0)
    }

    /// Rare things a conversion refuses (or must handle): counted by the test.
    mutating func oddity(_ fd: FD, _ path: String, _ n: FileName) throws {
        switch hostile ? Int.random(in: 0..<6, using: &rng) : 5 {
        case 0 where format == .overlay:
            try touch(fd, path + "/.wh." + n.description, n.whiteout, content: [])  // a real .wh. name
        case 1 where format == .overlay:
            try makeDir(fd, n)
            let sub = try Ops.openDir(fd.fd, n)
            try? Ops.setXattr(.fd(sub.fd), "trusted.overlay.redirect", Array("/elsewhere".utf8), flags: 0)
        case 2 where format == .aufs:
            try makeDir(fd, n.whiteout)  // a whiteout that is a directory: aufs gives EIO
        case 3:
            try touch(fd, path + "/" + n.description, n, content: Array("both".utf8))
            try whiteout(fd, path, n)
        default:
            try touch(fd, path + "/" + n.description, n, content: randomBytes())
        }
    }

    /// A 30-level path, in this branch and (half the time) continued in the next.
    mutating func deep(_ fd: FD, _ path: String) throws {
        var cur = fd
        var p = path
        for i in 0..<30 {
            let n = FileName("deep\(i % 3)")
            try makeDir(cur, n)
            cur = try Ops.openDir(cur.fd, n)
            p += "/" + n.description
        }
        try touch(cur, p + "/leaf\(branch)", FileName("leaf\(branch)"), content: Array("deep".utf8))
    }

    /// aufs: a hard-linked pair in branch `paths.last`, one name copied up to the rw branch with a
    /// pseudo-link entry for the copy, as a union with plink leaves it before a flush.
    mutating func pseudoLink(_ paths: [String]) throws {
        let low = paths.last!
        let top = paths[0]
        let content = randomBytes()
        for p in [low + "/pl-a", top + "/pl-a"] {
            let f = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = (p.hasPrefix(top) ? Array("copied up".utf8) : content).withUnsafeBytes {
                write(f, $0.baseAddress, $0.count)
            }
            close(f)
        }
        Glibc.link(low + "/pl-a", low + "/pl-b")
        mkdir(top + "/.wh..wh.plnk", 0o700)
        var st = stat()
        lstat(top + "/pl-a", &st)
        Glibc.link(top + "/pl-a", top + "/.wh..wh.plnk/\(Int.random(in: 100...999, using: &rng)).\(st.st_ino)")
    }
}
