// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CConvert
import Glibc

/// The two on-disk formats of a union's branches.
public enum UnionFormat: String, Sendable, Codable, CaseIterable {
    case aufs, overlay
    public var other: UnionFormat { self == .aufs ? .overlay : .aufs }
}

/// One branch of the union being converted, top first.
public struct ConvertBranch: Sendable, Equatable {
    /// Canonical absolute path.
    public var path: String
    /// As aufs reads it; for an overlay stack, `rw` for the upper layer and `ro` for the rest.
    public var permission: BranchPermission
    public init(path: String, permission: BranchPermission) {
        self.path = path
        self.permission = permission
    }
    /// aufs honours its whiteouts and opaque markers (rw, or +wh).
    public var whable: Bool { permission.base == .rw || permission.attributes.contains("wh") }
}

/// One change the conversion makes (or, with --dry-run, would make).
public struct Change: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case whiteout, opaque, dropped, copied, pseudoLink, rootXattr
    }
    public var branch: String
    /// Inside the branch, `/` first, bytes escaped (`\n`, `\xNN`).
    public var path: String
    public var kind: Kind
    public var detail: String
}

/// Why a branch cannot be converted: what, where, the rule, and the way out. Nothing is changed.
public struct ConvertRefusal: Error, Sendable, CustomStringConvertible {
    public var branch: String
    public var path: String
    public var rule: String
    public var wayOut: String
    public var description: String { "\(branch)\(path == "/" ? "" : path): \(rule); \(wayOut)" }
}

/// Counts per branch.
public struct BranchStats: Sendable, Codable, Equatable {
    public var directories = 0
    public var linked = 0
    public var copied = 0
    public var whiteouts = 0
    public var opaques = 0
    public var dropped = 0
    public var pseudoLinks = 0
    public var changes: Int { copied + whiteouts + opaques + dropped + pseudoLinks }
}

/// Converts one branch, streaming: walks it by directory fd (never following a symlink) and
/// builds the converted tree in `stage` (nil: --dry-run, nothing is written): directories are new,
/// every unchanged non-directory is a hard link to the original, an inode whose metadata changes
/// is copied (never edited through a link, which would change the source), and whiteouts and
/// opaque markers are written in the other format. What aufs or overlayfs would show differently
/// is decided against the branches below (their directories at the same path, opened alongside),
/// so a branch of 100,000 files holds one getdents buffer per level in memory, not the tree.
final class BranchConverter {
    let branches: [ConvertBranch]
    let index: Int
    let to: UnionFormat
    /// `trusted.overlay.` or, with --userxattr, `user.overlay.`
    let prefix: [UInt8]
    /// No lower branches are known (one branch given alone): every whiteout is kept.
    let single: Bool
    let report: (Change) -> Void
    var stats = BranchStats()
    /// A copied inode with more names: where its first copy is, as a path in the stage.
    var copies: [CopyKey: [FileName]] = [:]
    /// The whiteout device made for an aufs whiteout inode, as a path in the stage.
    var whiteoutDevices: [CopyKey: [FileName]] = [:]
    /// The stage's whiteout base (`.wh..wh.aufs`), made on first use.
    var baseMade = false
    var stageRoot: Int32 = -1
    var srcRootStat: stat?

    struct CopyKey: Hashable {
        var dev: UInt64
        var ino: UInt64
    }

    static let container = FileName(".aufsctl-convert")

    init(
        branches: [ConvertBranch], index: Int, to: UnionFormat, prefix: String, single: Bool,
        report: @escaping (Change) -> Void
    ) {
        self.branches = branches
        self.index = index
        self.to = to
        self.prefix = Array(prefix.utf8)
        self.single = single
        self.report = report
    }

    var me: ConvertBranch { branches[index] }
    /// The way out when a file carries this namespace's overlay xattrs already.
    var otherNamespace: String {
        prefix.starts(with: Array("user".utf8))
            ? "convert without --userxattr (trusted.overlay.*)" : "convert with --userxattr (user.overlay.*)"
    }
    var opaqueName: FileName { FileName(prefix + Array("opaque".utf8)) }
    var whiteoutXattr: FileName { FileName(prefix + Array("whiteout".utf8)) }

    /// A lower directory merged at the current path: its branch and fd.
    struct Lower {
        var branch: Int
        var dir: FD
    }

    func refuse(_ path: [FileName], _ rule: String, _ way: String) -> ConvertRefusal {
        ConvertRefusal(branch: me.path, path: Escaped.path(path), rule: rule, wayOut: way)
    }

    func change(_ path: [FileName], _ kind: Change.Kind, _ detail: String) {
        report(Change(branch: me.path, path: Escaped.path(path), kind: kind, detail: detail))
    }

    func fail(_ path: [FileName], _ e: Error) -> AufsError {
        AufsError("\(me.path)\(Escaped.path(path)): \(e)")
    }

    /// Converts the branch whose root is `src` into `stage` (the empty tree directory); returns the
    /// counts. Root xattrs are applied to `stage` like any directory's: the journal carries them
    /// over to the branch root at commit.
    func run(src: FD, stage: FD?) throws -> BranchStats {
        stageRoot = stage?.fd ?? -1
        srcRootStat = Ops.fstat(src.fd)
        var lowers: [Lower] = []
        if !single {
            for j in (index + 1)..<branches.count {
                let fd = try Ops.openPathNoFollow(branches[j].path)
                lowers.append(Lower(branch: j, dir: fd))
            }
        }
        // Both directions look up too: a directory the union does not reach keeps no marker (overlay ->
        // aufs) and is not refused for what aufs would merge under it (aufs -> overlay).
        var uppers: [Lower] = []
        if !single {
            for j in 0..<index { uppers.append(Lower(branch: j, dir: try Ops.openPathNoFollow(branches[j].path))) }
        }
        try directory(src: src, stage: stage, lowers: lowers, path: [], uppers: uppers)
        if to == .overlay {
            try pseudoLinks(src: src, stage: stage)
            // A link added at the top changed the stage root's times: the branch root's again.
            if let stage, let st = Ops.fstat(src.fd) {
                var ts = Ops.times(st)
                futimens(stage.fd, &ts)
            }
        }
        return stats
    }

    func entryType(_ dir: Int32, _ item: DirStream.Item) throws -> UInt8 {
        if item.type != UInt8(DT_UNKNOWN) { return item.type }
        guard let st = Ops.lstat(dir, item.name) else { throw OpError(what: "lstat", errno: SysErrno(errno)) }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return UInt8(DT_DIR)
        case S_IFREG: return UInt8(DT_REG)
        case S_IFLNK: return UInt8(DT_LNK)
        case S_IFCHR: return UInt8(DT_CHR)
        case S_IFBLK: return UInt8(DT_BLK)
        case S_IFIFO: return UInt8(DT_FIFO)
        default: return UInt8(DT_SOCK)
        }
    }

    // MARK: one directory

    /// `marker`: write aufs's opaque marker into this directory (overlay -> aufs).
    /// `uppers`, `reachable` (overlay -> aufs): the upper branches' directories merged above this
    /// one, and whether the union reaches this one at all.
    func directory(
        src: FD, stage: FD?, lowers: [Lower], path: [FileName], marker: Bool = false, uppers: [Lower] = [],
        reachable: Bool = true
    ) throws {
        var marker = marker
        guard let dst = Ops.fstat(src.fd) else { throw fail(path, OpError(what: "fstat", errno: SysErrno(errno))) }
        if let r = srcRootStat, dst.st_dev != r.st_dev {
            throw refuse(
                path, "another filesystem is mounted here: the conversion stages by hard links, which cannot cross it",
                "unmount it (and convert it as a branch of its own if it is one), then convert")
        }
        var xattrs = try wrap(path) { try Ops.xattrs(.fd(src.fd)) }
        let isRoot = path.isEmpty
        if to == .overlay {
            if let n = xattrs.keys.first(where: { $0.hasPrefix(prefix) }) {
                throw refuse(
                    path, "the directory carries \(n), which overlayfs would read as its own",
                    "remove it (setfattr -x \(n)), or \(otherNamespace)")
            }
            // The root's marker is converted as it is (neither filesystem consults it).
            if marker || (isRoot && me.whable && Ops.lstat(src.fd, FileName.diropq) != nil) {
                xattrs[opaqueName] = Array("y".utf8)
            }
        } else {
            let ours = xattrs.keys.filter { $0.hasPrefix(prefix) }.sorted()
            if let r = ours.first(where: { $0.bytes.ends(with: Array("redirect".utf8)) }) {
                throw refuse(
                    path, "\(r) is set: overlayfs shows another directory's content here (redirect_dir)",
                    "converting redirects is not supported yet: copy the directory through the mounted overlay "
                        + "(cp -a) so it no longer needs one")
            }
            // opaque=y becomes aufs's marker (below for the root; overlayEntry decides for the others).
            let opaqueY = xattrs[opaqueName] == Array("y".utf8)
            for k in ours { xattrs[k] = nil }
            let dropped = ours.filter { !(opaqueY && $0 == opaqueName) }
            if !dropped.isEmpty {
                stats.dropped += 1
                change(path, isRoot ? .rootXattr : .dropped, "overlay xattrs dropped: \(names(dropped))")
            }
            if isRoot && opaqueY {
                stats.opaques += 1
                change(path, .opaque, "\(String(decoding: opaqueName.bytes, as: UTF8.self))=y -> .wh..wh..opq")
            }
            marker = marker || (isRoot && opaqueY)
        }
        let stream = DirStream(src)
        while let item = try wrap(path, { try stream.next() }) {
            if isRoot && Staging.isStaging(item.name) { continue }
            if to == .overlay {
                try aufsEntry(
                    src: src, stage: stage, lowers: lowers, path: path, item: item, opaqueKept: marker || isRoot,
                    uppers: uppers, reachable: reachable)
            } else {
                try overlayEntry(
                    src: src, stage: stage, lowers: lowers, path: path, item: item, uppers: uppers, reachable: reachable
                )
            }
        }
        stats.directories += 1
        if let stage {
            if marker && to == .aufs { try aufsMarker(stage, FileName.diropq, path) }
            try wrap(path) { try Ops.applyDirMeta(stage.fd, dst, xattrs) }
        }
    }

    func names(_ n: [FileName]) -> String { n.map(\.description).joined(separator: ", ") }

    func wrap<R>(_ path: [FileName], _ body: () throws -> R) throws -> R {
        do { return try body() } catch let e as OpError { throw fail(path, e) }
    }

    func link(_ src: FD, _ n: FileName, _ stage: FD?, _ path: [FileName]) throws {
        stats.linked += 1
        guard let stage else { return }
        let rc = Ops.withName(n) { linkat(src.fd, $0, stage.fd, $0, 0) }
        if rc != 0 { throw fail(path, OpError(what: "link into the staging", errno: SysErrno(errno))) }
    }

    func subdirectory(_ src: FD, _ n: FileName, _ stage: FD?, _ path: [FileName]) throws -> (FD, FD?) {
        let child = try wrap(path) { try Ops.openDir(src.fd, n) }
        guard let stage else { return (child, nil) }
        if Ops.withName(n, { mkdirat(stage.fd, $0, 0o700) }) != 0 {
            throw fail(path, OpError(what: "mkdir in the staging", errno: SysErrno(errno)))
        }
        return (child, try wrap(path) { try Ops.openDir(stage.fd, n) })
    }

    // MARK: aufs -> overlay

    func aufsEntry(
        src: FD, stage: FD?, lowers: [Lower], path: [FileName], item: DirStream.Item, opaqueKept: Bool,
        uppers: [Lower], reachable: Bool
    ) throws {
        let n = item.name
        let p = path + [n]
        if !n.hasPrefix(FileName.internalPrefix) { try refuseLong(n.whitedOut ?? n, p) }
        if n.hasPrefix(FileName.whPrefix) {
            try aufsWhName(src: src, stage: stage, lowers: lowers, path: path, n: n, opaqueKept: opaqueKept)
            return
        }
        let type = try wrap(p) { try entryType(src.fd, item) }
        if type == UInt8(DT_DIR) {
            try aufsSubdirectory(
                src: src, stage: stage, lowers: lowers, n: n, p: p, uppers: uppers, reachable: reachable)
            return
        }
        try aufsNonDirectory(src: src, stage: stage, n: n, type: type, p: p)
    }

    /// A name beginning with .wh.: aufs's opaque marker, a dirren record (refused), one of aufs's
    /// own entries (dropped), or a whiteout.
    func aufsWhName(src: FD, stage: FD?, lowers: [Lower], path: [FileName], n: FileName, opaqueKept: Bool) throws {
        let p = path + [n]
        let isRoot = path.isEmpty
        if n == FileName.diropq {
            try aufsOpaqueMarker(src: src, path: path, opaqueKept: opaqueKept)
            return
        }
        if n.hasPrefix(FileName.dirrenInfoPrefix) || (isRoot && n == FileName.dirrenHino) {
            throw refuse(
                p,
                "a record of aufs's dirren (a directory renamed across branches); overlayfs needs redirect_dir "
                    + "for that, and dropping the record loses the renamed directory's lower content",
                "mount the union with aufs and copy the renamed directory (cp -a) so that it no longer depends on "
                    + "dirren, then convert")
        }
        if n.hasPrefix(FileName.internalPrefix) {
            try dropAufsInternal(src: src, n: n, p: p, isRoot: isRoot)
            return
        }
        try aufsWhiteoutEntry(src: src, stage: stage, lowers: lowers, path: path, n: n)
    }

    /// `.wh..wh..opq`: becomes overlayfs's opaque xattr (written by `directory`) where it is kept.
    func aufsOpaqueMarker(src: FD, path: [FileName], opaqueKept: Bool) throws {
        let p = path + [FileName.diropq]
        guard me.whable else { throw inert(p, "an opaque marker") }
        guard let st = Ops.lstat(src.fd, FileName.diropq), Ops.isType(st, S_IFREG) else {
            throw refuse(p, "aufs's opaque marker is not a regular file (aufs gives EIO)", "remove it")
        }
        if opaqueKept {
            stats.opaques += 1
            change(path, .opaque, ".wh..wh..opq -> \(String(decoding: opaqueName.bytes, as: UTF8.self))=y")
        }
    }

    /// One of aufs's own entries (pseudo-links, orphans, the whiteout base, ...): dropped, with why.
    func dropAufsInternal(src: FD, n: FileName, p: [FileName], isRoot: Bool) throws {
        var detail = "aufs's own \(n): overlayfs has no use for it"
        if isRoot && n == FileName.orphDir, let d = Ops.openDirIfPresent(src.fd, n),
            try DirStream(d).next() != nil
        {
            detail = "aufs's orphans (files deleted while open, left by a crash): not part of the union"
        }
        if isRoot && n == FileName.plinkDir, let d = Ops.openDirIfPresent(src.fd, n) {
            let empty = try DirStream(d).next() == nil
            detail =
                empty
                ? "aufs's pseudo-link directory (empty)"
                : "aufs's pseudo-links: resolved into real hard links (see the pseudoLink changes)"
        }
        stats.dropped += 1
        change(p, .dropped, detail)
    }

    /// `.wh.NAME`: an overlayfs whiteout device, or dropped where it hides nothing below.
    func aufsWhiteoutEntry(src: FD, stage: FD?, lowers: [Lower], path: [FileName], n: FileName) throws {
        let p = path + [n]
        guard let x = n.whitedOut, x.count > 0 else {
            throw refuse(p, "\".wh.\" alone is a name aufs lists but cannot open", "rename or remove it")
        }
        guard me.whable else { throw inert(p, "a whiteout") }
        guard let st = Ops.lstat(src.fd, n) else { throw fail(p, OpError(what: "lstat", errno: SysErrno(errno))) }
        guard Ops.isType(st, S_IFREG) else {
            throw refuse(
                p, "an aufs whiteout that is not a regular file: aufs gives EIO for \(x)",
                "remove it if it is a leftover of aufs (a temporary rename directory), or rename it")
        }
        if Ops.lstat(src.fd, x) != nil {
            throw refuse(
                p,
                "both \(x) and its whiteout .wh.\(x) are in this directory: aufs hides \(x) (the whiteout "
                    + "wins) but may still list it", "remove the one that is stale")
        }
        if !single && !aufsHides(x, lowers) {
            stats.dropped += 1
            change(path + [x], .dropped, "whiteout .wh.\(x) hides nothing in the branches below")
            return
        }
        stats.whiteouts += 1
        change(path + [x], .whiteout, ".wh.\(x) -> whiteout (0/0 character device)")
        guard let stage else { return }
        try overlayWhiteout(stage, x, st, p)
    }

    /// A directory: converted against the lower directories aufs merges under it, keeping its
    /// opaque marker only where it bounds aufs's merge.
    func aufsSubdirectory(
        src: FD, stage: FD?, lowers: [Lower], n: FileName, p: [FileName], uppers: [Lower], reachable: Bool
    ) throws {
        let (child, childStage) = try subdirectory(src, n, stage, p)
        let opaque = me.whable && Ops.lstat(child.fd, FileName.diropq) != nil
        let (above, open, upperOpaque) = reachable ? try aufsUpperStack(uppers, n, p) : ([], false, false)
        let (below, lowerOpaque) = try aufsChildStack(
            lowers, n, p, ownOpaque: opaque, reached: { open && (!upperOpaque || opaque || $0) })
        // The lowest marker of the whole scan bounds aufs's merge: one here or below lets it reach here.
        let reached = open && (!upperOpaque || opaque || lowerOpaque)
        if opaque && lowerOpaque {
            stats.dropped += 1
            change(
                p, .dropped,
                ".wh..wh..opq that does not bound aufs's merge: a lower branch's directory has one too, and aufs's "
                    + "lookup stops at the lowest; overlayfs merges down to that one")
        }
        try directory(
            src: child, stage: childStage, lowers: below, path: p, marker: opaque && !lowerOpaque, uppers: above,
            reachable: reached)
    }

    /// Any other entry: linked as it is, unless overlayfs would read it differently from aufs.
    func aufsNonDirectory(src: FD, stage: FD?, n: FileName, type: UInt8, p: [FileName]) throws {
        let names = try wrap(p) { try Ops.listXattrs(.entry(src.fd, n)) }
        if let x = names.first(where: { $0.hasPrefix(prefix) }) {
            throw refuse(
                p, "carries \(x), which overlayfs would read as its own",
                "remove it (setfattr -h -x \(x)) if it is a leftover, or \(otherNamespace)")
        }
        if type == UInt8(DT_CHR), let st = Ops.lstat(src.fd, n), st.st_rdev == 0 {
            throw refuse(
                p,
                "a 0/0 character device: a real device node in aufs, a whiteout to overlayfs (has this branch been "
                    + "converted already?)", "remove or rename it")
        }
        try link(src, n, stage, p)
    }

    /// A whiteout device with the aufs whiteout's owner, mode and times. aufs's whiteouts are hard
    /// links of one base, and overlayfs links its own whiteouts too (since 5.8): whiteouts from one
    /// source inode become links of one device, so 10,000 whiteouts cost one new inode, not 10,000.
    func overlayWhiteout(_ stage: FD, _ x: FileName, _ st: stat, _ p: [FileName]) throws {
        let key = CopyKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        if let first = whiteoutDevices[key] {
            let rel = FileName(Array(first.map(\.bytes).joined(separator: [47])))
            let rc = Ops.withName(rel) { r in Ops.withName(x) { linkat(stageRoot, r, stage.fd, $0, 0) } }
            if rc == 0 { return }
            if errno != EMLINK { throw fail(p, OpError(what: "link whiteout", errno: SysErrno(errno))) }
        }
        let rc = Ops.withName(x) { mknodat(stage.fd, $0, S_IFCHR | (st.st_mode & 0o7777), 0) }
        if rc != 0 { throw fail(p, OpError(what: "mknod whiteout", errno: SysErrno(errno))) }
        var ts = Ops.times(st)
        if Ops.withName(x, { fchownat(stage.fd, $0, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) }) != 0
            || Ops.withName(x, { fchmodat(stage.fd, $0, st.st_mode & 0o7777, 0) }) != 0
            || Ops.withName(x, { utimensat(stage.fd, $0, &ts, AT_SYMLINK_NOFOLLOW) }) != 0
        {
            throw fail(p, OpError(what: "chown/chmod/utimensat whiteout", errno: SysErrno(errno)))
        }
        whiteoutDevices[key] = Array(p.dropLast()) + [x]
    }

    /// aufs looks up no name longer than AUFS_MAX_NAMELEN (242 bytes: room for a doubly whiteouted
    /// temporary name); it lists one, then gives ENAMETOOLONG (aufs 6.1, seen in QEMU). Such a name
    /// is refused either way: aufs never showed it, and could not show it after a conversion.
    func refuseLong(_ n: FileName, _ p: [FileName]) throws {
        guard n.count > 242 else { return }
        throw refuse(
            p,
            "a \(n.count)-byte name: aufs cannot look up names longer than 242 bytes (AUFS_MAX_NAMELEN: it lists "
                + "them, then gives ENAMETOOLONG)", "shorten the name")
    }

    func inert(_ p: [FileName], _ what: String) -> ConvertRefusal {
        refuse(
            p, "\(what) on a branch given as \(me.permission), where aufs ignores whiteouts and opaque markers",
            "give the branch as =\(me.permission.base.rawValue)+wh if the union honours them (Docker and Slax mount "
                + "such layers with +wh), or remove them")
    }

    /// Whether NAME exists below, as aufs would look it up: a whiteout on a branch holding them stops.
    func aufsHides(_ x: FileName, _ lowers: [Lower]) -> Bool {
        for l in lowers {
            if branches[l.branch].whable, Ops.lstat(l.dir.fd, x.whiteout) != nil { return false }
            if Ops.lstat(l.dir.fd, x) != nil { return true }
        }
        return false
    }

    /// The lower directories aufs merges under this branch's directory `n`, and whether one of them
    /// has an opaque marker: a whiteout stops the scan, a non-directory is skipped (au_do_lookup's
    /// type check), an opaque marker does not stop it, and the lowest marker met bounds the merge
    /// (the first only where no lower one exists). Overlayfs ends a merge at a non-directory
    /// instead, so a directory merged past one cannot be converted.
    func aufsChildStack(
        _ lowers: [Lower], _ n: FileName, _ p: [FileName], ownOpaque: Bool, reached: (Bool) -> Bool = { _ in true }
    ) throws -> (stack: [Lower], lowerOpaque: Bool) {
        var scan: [(lower: Lower, opaque: Bool, past: Int?)] = []
        var skipped: Int?
        for l in lowers {
            let br = branches[l.branch]
            if br.whable, Ops.lstat(l.dir.fd, n.whiteout) != nil { break }
            guard let st = Ops.lstat(l.dir.fd, n) else { continue }
            guard Ops.isType(st, S_IFDIR) else {
                skipped = skipped ?? l.branch
                continue
            }
            let fd = try wrap(p) { try Ops.openDir(l.dir.fd, n) }
            scan.append(
                (Lower(branch: l.branch, dir: fd), br.whable && Ops.lstat(fd.fd, FileName.diropq) != nil, skipped))
        }
        let last = scan.lastIndex { $0.opaque }
        let kept = last.map { Array(scan[...$0]) } ?? (ownOpaque ? [] : scan)
        // (Where the union never reaches this directory, what aufs would merge under it does not matter.)
        if reached(last != nil), let k = kept.first(where: { $0.past != nil }), let s = k.past {
            throw refuse(
                p,
                "aufs merges this directory with \(branches[k.lower.branch].path)\(Escaped.path(p)) past the "
                    + "non-directory \(branches[s].path)\(Escaped.path(p)); overlayfs stops at that non-directory",
                "remove \(branches[s].path)\(Escaped.path(p)) (the union never shows it), or make this directory "
                    + "opaque (touch \(me.path)\(Escaped.path(p))/.wh..wh..opq) if the lower one should stay hidden")
        }
        return (kept.map(\.lower), last != nil)
    }

    // MARK: overlay -> aufs

    func overlayEntry(
        src: FD, stage: FD?, lowers: [Lower], path: [FileName], item: DirStream.Item, uppers: [Lower], reachable: Bool
    ) throws {
        let n = item.name
        let p = path + [n]
        try refuseLong(n, p)
        if n.hasPrefix(FileName.whPrefix) {
            throw refuse(
                p, "a name beginning with .wh.: aufs reads it as a whiteout or its own and never shows it",
                "rename it before converting")
        }
        let type = try wrap(p) { try entryType(src.fd, item) }
        if type == UInt8(DT_CHR), let st = Ops.lstat(src.fd, n), st.st_rdev == 0 {
            try aufsWhiteout(stage, n, p, "whiteout (0/0 character device)")
            return
        }
        if type == UInt8(DT_DIR) {
            try overlaySubdirectory(
                src: src, stage: stage, lowers: lowers, n: n, p: p, uppers: uppers, reachable: reachable)
            return
        }
        try overlayNonDirectory(src: src, stage: stage, n: n, type: type, p: p)
    }

    /// A directory: converted against the lower directories overlayfs merges under it, with aufs's
    /// opaque marker where overlayfs's merge ends here and aufs's would not.
    func overlaySubdirectory(
        src: FD, stage: FD?, lowers: [Lower], n: FileName, p: [FileName], uppers: [Lower], reachable: Bool
    ) throws {
        let (child, childStage) = try subdirectory(src, n, stage, p)
        var opaque = try Ops.getXattr(.fd(child.fd), opaqueName) == Array("y".utf8)
        let (above, reached) = reachable ? try overlayUpperStack(uppers, n, p) : ([], false)
        var below: [Lower] = []
        if opaque && !reached {
            // aufs's lookup does not stop at the first opaque directory but at the lowest: a marker
            // here, where overlayfs never looks, would let aufs merge the directories above it.
            opaque = false
            stats.dropped += 1
            change(
                p, .dropped,
                "\(String(decoding: opaqueName.bytes, as: UTF8.self))=y of a directory the union does not reach: "
                    + "as aufs's marker it would extend aufs's merge above it (aufs stops at the lowest marker)")
        } else if opaque {
            stats.opaques += 1
            change(p, .opaque, "\(String(decoding: opaqueName.bytes, as: UTF8.self))=y -> .wh..wh..opq")
        } else {
            let (stack, stoppedByFile) = try overlayChildStack(lowers, n, p)
            below = stack
            if stack.isEmpty, reached, let f = stoppedByFile {
                opaque = true
                stats.opaques += 1
                change(
                    p, .opaque,
                    ".wh..wh..opq added: overlayfs ends this directory's merge at the non-directory \(f), aufs "
                        + "would merge the directory below it")
            }
        }
        try directory(
            src: child, stage: childStage, lowers: below, path: p, marker: opaque, uppers: above, reachable: reached)
    }

    /// Any other entry: an xattr whiteout becomes aufs's whiteout; a file with overlay xattrs is
    /// copied without them; the rest are linked as they are.
    func overlayNonDirectory(src: FD, stage: FD?, n: FileName, type: UInt8, p: [FileName]) throws {
        let xnames = try wrap(p) { try Ops.listXattrs(.entry(src.fd, n)) }
        if type == UInt8(DT_REG), xnames.contains(whiteoutXattr), let st = Ops.lstat(src.fd, n), st.st_size == 0 {
            try aufsWhiteout(stage, n, p, "xattr whiteout (\(whiteoutXattr))")
            return
        }
        let ours = xnames.filter { $0.hasPrefix(prefix) }
        if let m = ours.first(where: {
            $0.bytes.ends(with: Array("metacopy".utf8)) || $0.bytes.ends(with: Array("redirect".utf8))
        }) {
            throw refuse(
                p, "\(m) is set: the data lives in a lower layer (metacopy) or another path (redirect)",
                "converting metacopy and redirects is not supported yet: copy the file up through the mounted overlay "
                    + "(read and rewrite it, or cp -a and mv) so it is whole, then convert")
        }
        if ours.isEmpty {
            try link(src, n, stage, p)
            return
        }
        try copyWithoutOverlayXattrs(src: src, stage: stage, n: n, p: p, ours: ours)
    }

    func copyWithoutOverlayXattrs(src: FD, stage: FD?, n: FileName, p: [FileName], ours: [FileName]) throws {
        // Its overlay xattrs (origin, nlink, ...) are dropped: a new inode, never an edit through a link.
        stats.copied += 1
        change(p, .copied, "copied without \(names(ours.sorted()))")
        guard let stage else { return }
        guard let st = Ops.lstat(src.fd, n) else { throw fail(p, OpError(what: "lstat", errno: SysErrno(errno))) }
        let key = CopyKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        if st.st_nlink > 1, let first = copies[key] {
            let rel = FileName(Array(first.map(\.bytes).joined(separator: [47])))
            let rc = Ops.withName(rel) { r in Ops.withName(n) { linkat(stageRoot, r, stage.fd, $0, 0) } }
            if rc != 0 {
                throw fail(p, OpError(what: "link to the copy \(Escaped.path(first))", errno: SysErrno(errno)))
            }
            return
        }
        var keep = try wrap(p) { try Ops.xattrs(.entry(src.fd, n)) }
        for k in ours { keep[k] = nil }
        try wrap(p) { try Ops.copyEntry(src.fd, n, st, to: stage.fd, xattrs: keep) }
        if st.st_nlink > 1 { copies[key] = p }
    }

    func aufsWhiteout(_ stage: FD?, _ n: FileName, _ p: [FileName], _ what: String) throws {
        stats.whiteouts += 1
        change(p, .whiteout, "\(what) -> .wh.\(n)")
        if let stage { try aufsMarker(stage, n.whiteout, p) }
    }

    /// A whiteout or opaque marker: a hard link to the branch's whiteout base, as aufs makes them
    /// (a new 0444 file where the base has too many links).
    func aufsMarker(_ dir: FD, _ n: FileName, _ p: [FileName]) throws {
        if !baseMade {
            let fd = Ops.withName(FileName.whBase) {
                openat(stageRoot, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o444)
            }
            if fd < 0 { throw fail(p, OpError(what: "create .wh..wh.aufs", errno: SysErrno(errno))) }
            fchmod(fd, 0o444)
            // The branch root's times, not the clock's: the same branch converts to the same bytes.
            if var ts = srcRootStat.map(Ops.times) { futimens(fd, &ts) }
            close(fd)
            baseMade = true
        }
        let rc = Ops.withName(FileName.whBase) { b in Ops.withName(n) { linkat(stageRoot, b, dir.fd, $0, 0) } }
        if rc == 0 { return }
        if errno != EMLINK { throw fail(p, OpError(what: "link \(n) to .wh..wh.aufs", errno: SysErrno(errno))) }
        let fd = Ops.withName(n) { openat(dir.fd, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o444) }
        if fd < 0 { throw fail(p, OpError(what: "create \(n)", errno: SysErrno(errno))) }
        fchmod(fd, 0o444)
        if var ts = srcRootStat.map(Ops.times) { futimens(fd, &ts) }
        close(fd)
    }

    /// The upper branches' directories aufs scans above this branch's directory `n`, whether the scan
    /// gets here (no whiteout, and no non-directory found first), and whether one of them is opaque
    /// (then the union reaches here only if a marker here or below bounds the merge lower down).
    func aufsUpperStack(_ uppers: [Lower], _ n: FileName, _ p: [FileName]) throws -> ([Lower], Bool, Bool) {
        var out: [Lower] = []
        var opaque = false
        for u in uppers {
            if branches[u.branch].whable, Ops.lstat(u.dir.fd, n.whiteout) != nil { return ([], false, false) }
            guard let st = Ops.lstat(u.dir.fd, n) else { continue }
            guard Ops.isType(st, S_IFDIR) else {
                if out.isEmpty { return ([], false, false) }
                continue
            }
            let fd = try wrap(p) { try Ops.openDir(u.dir.fd, n) }
            out.append(Lower(branch: u.branch, dir: fd))
            if branches[u.branch].whable && Ops.lstat(fd.fd, FileName.diropq) != nil { opaque = true }
        }
        return (out, true, opaque)
    }

    /// The upper branches' directories overlayfs merges above this layer's directory `n`, and whether
    /// the merge reaches this layer at all (no upper whiteout, non-directory or opaque directory
    /// ends it first).
    func overlayUpperStack(_ uppers: [Lower], _ n: FileName, _ p: [FileName]) throws -> ([Lower], Bool) {
        var out: [Lower] = []
        for u in uppers {
            guard let st = Ops.lstat(u.dir.fd, n) else { continue }
            if try isOverlayWhiteout(u, n, st) || !Ops.isType(st, S_IFDIR) { return ([], false) }
            let fd = try wrap(p) { try Ops.openDir(u.dir.fd, n) }
            out.append(Lower(branch: u.branch, dir: fd))
            if try Ops.getXattr(.fd(fd.fd), opaqueName) == Array("y".utf8) { return ([], false) }
        }
        return (out, true)
    }

    func isOverlayWhiteout(_ l: Lower, _ n: FileName, _ st: stat) throws -> Bool {
        if Ops.isType(st, S_IFCHR) && st.st_rdev == 0 { return true }
        guard Ops.isType(st, S_IFREG), st.st_size == 0 else { return false }
        return try Ops.getXattr(.entry(l.dir.fd, n), whiteoutXattr) != nil
    }

    /// The lower directories overlayfs merges under this layer's directory `n`, and, when the merge
    /// ended at a non-directory before any lower directory joined it but aufs would go past that
    /// non-directory to a directory further down, where that non-directory is.
    func overlayChildStack(_ lowers: [Lower], _ n: FileName, _ p: [FileName]) throws -> ([Lower], String?) {
        var out: [Lower] = []
        for (k, l) in lowers.enumerated() {
            guard let st = Ops.lstat(l.dir.fd, n) else { continue }
            if try isOverlayWhiteout(l, n, st) { return (out, nil) }
            guard Ops.isType(st, S_IFDIR) else {
                for m in lowers[(k + 1)...] {
                    guard let s2 = Ops.lstat(m.dir.fd, n) else { continue }
                    if try isOverlayWhiteout(m, n, s2) { break }
                    if Ops.isType(s2, S_IFDIR) { return (out, "\(branches[l.branch].path)\(Escaped.path(p))") }
                }
                return (out, nil)
            }
            let fd = try wrap(p) { try Ops.openDir(l.dir.fd, n) }
            out.append(Lower(branch: l.branch, dir: fd))
            if try Ops.getXattr(.fd(fd.fd), opaqueName) == Array("y".utf8) { break }
        }
        return (out, nil)
    }

    // MARK: pseudo-links (aufs -> overlay)

    /// Resolves the unflushed pseudo-links of a writable branch: each entry of `.wh..wh.plnk` is a
    /// file copied up through one of its names; the union showed it under every name of the lower
    /// file it came from. Those names that the union still shows from the lower branch become hard
    /// links to the copy in the converted branch (what a flush through the live union would do).
    func pseudoLinks(src: FD, stage: FD?) throws {
        guard let pl = Ops.openDirIfPresent(src.fd, FileName.plinkDir) else { return }
        var wanted: [UInt64: FileName] = [:]
        let s = DirStream(pl)
        while let item = try wrap([FileName.plinkDir], { try s.next() }) {
            guard let st = Ops.lstat(pl.fd, item.name), !Ops.isType(st, S_IFDIR) else { continue }
            wanted[UInt64(st.st_ino)] = item.name
        }
        if wanted.isEmpty { return }
        let plPath = [FileName.plinkDir]
        guard me.permission.base == .rw else {
            throw refuse(
                plPath, "\(wanted.count) pseudo-link(s) left by a union in which this branch was writable",
                "mount that union again with this branch as rw and run aufsctl plink flush MOUNTPOINT, then convert")
        }
        if single {
            throw refuse(
                plPath,
                "\(wanted.count) unflushed pseudo-link(s): names of the same file in the lower branches "
                    + "must become hard links of the copy, and this branch was given alone",
                "give the whole union (dirs=THIS:LOWER=ro:...) so they are resolved from the lower branches, or flush "
                    + "them through the live union first (aufsctl plink flush MOUNTPOINT)")
        }
        // The copies' names in this branch.
        var upper: [([FileName], UInt64)] = []
        try findInodes(src, [], Set(wanted.keys), skipRoot: [FileName.plinkDir, BranchConverter.container], &upper)
        let named = Set(upper.map(\.1))
        if let orphan = wanted.first(where: { !named.contains($0.key) }) {
            throw refuse(
                plPath + [orphan.value],
                "a pseudo-linked file with no name left in the branch: the lower file it was "
                    + "copied from cannot be found without the live union's inode table",
                "mount the union with aufs and run aufsctl plink flush MOUNTPOINT (or remove the entry to keep the "
                    + "lower content)")
        }
        let roots = try branches.indices.map { try Ops.openPathNoFollow(branches[$0].path) }
        // The lower file each copy came from: what the branches below showed at the copy's path.
        var origins: [Int: [UInt64: ([FileName], UInt64)]] = [:]
        for (p, u) in upper {
            if case .nonDir(let j, let ino)? = try resolve(roots, from: index + 1, p) {
                origins[j, default: [:]][ino] = (p, u)
            }
        }
        var additions: [([FileName], [FileName])] = []  // (new name, the copy's name)
        for (j, inos) in origins.sorted(by: { $0.key < $1.key }) {
            var lowerNames: [([FileName], UInt64)] = []
            try findInodes(roots[j], [], Set(inos.keys), skipRoot: [BranchConverter.container], &lowerNames)
            for (q, ino) in lowerNames {
                // Only where the union shows the lower file: nothing above it has the name.
                guard case .nonDir(j, ino)? = try resolve(roots, from: 0, q) else { continue }
                additions.append((q, inos[ino]!.0))
            }
        }
        for (q, copy) in additions.sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) {
            stats.pseudoLinks += 1
            change(q, .pseudoLink, "hard link to \(Escaped.path(copy)) (resolved from .wh..wh.plnk)")
            if let stage { try addLink(stage, roots, q, copy, src) }
        }
    }

    enum Resolved {
        case nonDir(Int, UInt64)
        case dir
    }

    /// What the union of branches `from...` shows at `path` (aufs's lookup, on disk).
    func resolve(_ roots: [FD], from: Int, _ path: [FileName]) throws -> Resolved? {
        var stack = (from..<branches.count).map { Lower(branch: $0, dir: roots[$0]) }
        for (k, n) in path.enumerated() {
            var dirs: [Lower] = []
            var found: Resolved?
            var lastOpaque: Int?
            for l in stack {
                if branches[l.branch].whable, Ops.lstat(l.dir.fd, n.whiteout) != nil { break }
                guard let st = Ops.lstat(l.dir.fd, n) else { continue }
                if !Ops.isType(st, S_IFDIR) {
                    if dirs.isEmpty { found = .nonDir(l.branch, UInt64(st.st_ino)) }
                    if dirs.isEmpty { break }
                    continue
                }
                guard let fd = Ops.openDirIfPresent(l.dir.fd, n) else { continue }
                dirs.append(Lower(branch: l.branch, dir: fd))
                if branches[l.branch].whable, Ops.lstat(fd.fd, FileName.diropq) != nil { lastOpaque = dirs.count }
            }
            if let last = lastOpaque { dirs = Array(dirs.prefix(last)) }  // the lowest marker bounds it
            if k == path.count - 1 { return found ?? (dirs.isEmpty ? nil : .dir) }
            if found != nil || dirs.isEmpty { return nil }
            stack = dirs
        }
        return .dir
    }

    /// Every path below `dir` whose inode is in `inodes` (not crossing into other filesystems).
    func findInodes(
        _ dir: FD, _ path: [FileName], _ inodes: Set<UInt64>, skipRoot: [FileName], _ out: inout [([FileName], UInt64)]
    ) throws {
        let s = DirStream(dir)
        while let item = try wrap(path, { try s.next() }) {
            if path.isEmpty && (skipRoot.contains(item.name) || Staging.isStaging(item.name)) { continue }
            if item.name.hasPrefix(FileName.whPrefix) { continue }
            let t = try wrap(path) { try entryType(dir.fd, item) }
            if t == UInt8(DT_DIR) {
                guard let sub = Ops.openDirIfPresent(dir.fd, item.name) else { continue }
                try findInodes(sub, path + [item.name], inodes, skipRoot: [], &out)
            } else if let st = Ops.lstat(dir.fd, item.name), inodes.contains(UInt64(st.st_ino)) {
                out.append((path + [item.name], UInt64(st.st_ino)))
            }
        }
    }

    /// Links `copy` (a name in the source branch) as `q` in the stage, creating the parent
    /// directories aufs would have copied up (with the attributes the union showed for them).
    func addLink(_ stage: FD, _ roots: [FD], _ q: [FileName], _ copy: [FileName], _ src: FD) throws {
        var dir = stage
        var fixes: [(FD, stat)] = []
        for (k, c) in q.dropLast().enumerated() {
            let sub = Array(q[...k])
            if let existing = Ops.openDirIfPresent(dir.fd, c) {
                // Re-set its times after the link changes them: from the source directory.
                if let s = try? openIn(src, sub), let st = Ops.fstat(s.fd) { fixes.append((existing, st)) }
                dir = existing
                continue
            }
            guard let (metaFD, st) = try topDirectory(roots, sub) else {
                throw fail(sub, OpError(what: "find the directory to copy up", errno: SysErrno(ENOENT)))
            }
            if Ops.withName(c, { mkdirat(dir.fd, $0, 0o700) }) != 0 {
                throw fail(sub, OpError(what: "mkdir in the staging", errno: SysErrno(errno)))
            }
            let made = try wrap(sub) { try Ops.openDir(dir.fd, c) }
            let x = try wrap(sub) { try Ops.xattrs(.fd(metaFD.fd)) }
            try wrap(sub) { try Ops.applyDirMeta(made.fd, st, x) }
            fixes.append((made, st))
            dir = made
        }
        let target = FileName(Array(copy.map(\.bytes).joined(separator: [47])))
        let rc = Ops.withName(target) { t in Ops.withName(q.last!) { linkat(src.fd, t, dir.fd, $0, 0) } }
        if rc != 0 { throw fail(q, OpError(what: "link to \(Escaped.path(copy))", errno: SysErrno(errno))) }
        for (fd, st) in fixes.reversed() {
            var ts = Ops.times(st)
            futimens(fd.fd, &ts)
        }
    }

    func openIn(_ root: FD, _ path: [FileName]) throws -> FD {
        var cur = root
        for c in path { cur = try Ops.openDir(cur.fd, c) }
        return cur
    }

    /// The topmost directory the union shows at `path`, and its status.
    func topDirectory(_ roots: [FD], _ path: [FileName]) throws -> (FD, stat)? {
        for (j, r) in roots.enumerated() where j > index {
            if let fd = try? openIn(r, path), let st = Ops.fstat(fd.fd) { return (fd, st) }
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    func ends(with s: [UInt8]) -> Bool { count >= s.count && Array(self[(count - s.count)...]) == s }
}
