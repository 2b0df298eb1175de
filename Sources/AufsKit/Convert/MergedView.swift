// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// What a union shows: every visible path with its kind, attributes, xattrs and hard-link group,
/// as a walker that lists each directory and lstat()s each name sees it (a name readdir lists but
/// lookup does not find, such as a whiteout in an overlay directory that is not merged, is absent).
public struct MergedView: Equatable, Sendable {
    public enum Kind: Hashable, Sendable {
        case directory
        case regular(Content)
        case symlink([UInt8])
        case charDevice(UInt64)
        case blockDevice(UInt64)
        case fifo
        case socket

        init(_ p: Payload) {
            switch p {
            case .regular(let c): self = .regular(c)
            case .symlink(let t): self = .symlink(t)
            case .charDevice(let d): self = .charDevice(d)
            case .blockDevice(let d): self = .blockDevice(d)
            case .fifo: self = .fifo
            case .socket: self = .socket
            }
        }
    }

    public struct Entry: Equatable, Sendable {
        public var path: [FileName]
        public var kind: Kind
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var mtime: Timestamp
        /// Sorted by name.
        public var xattrs: [Xattr]
        /// The smallest path (in byte order) of the names that share this inode, when more than one
        /// does; nil for a directory or a file with one visible name.
        public var linkGroup: [FileName]?
    }

    public struct Xattr: Hashable, Sendable {
        public var name: FileName
        public var value: [UInt8]
    }

    /// Sorted by path (component-wise, bytes).
    public var entries: [Entry]

    /// Builds a view from unsorted entries and the identity of each non-directory (its branch and
    /// inode, or a real mount's st_dev and st_ino): names sharing an identity form a link group.
    public init(_ raw: [(Entry, Identity?)]) {
        var sorted = raw
        sorted.sort { $0.0.path.lexicographicallyPrecedes($1.0.path) }
        var first: [Identity: [FileName]] = [:]
        var count: [Identity: Int] = [:]
        for (e, id) in sorted {
            guard let id else { continue }
            if first[id] == nil { first[id] = e.path }
            count[id, default: 0] += 1
        }
        entries = sorted.map { e, id in
            var e = e
            if let id, count[id]! > 1 { e.linkGroup = first[id] }
            return e
        }
    }

    public init(entries: [Entry]) { self.entries = entries }

    /// The same view without xattrs (for an aufs built without CONFIG_AUFS_XATTR, which shows none).
    public func withoutXattrs() -> MergedView {
        MergedView(
            entries: entries.map { e in
                var e = e
                e.xattrs = []
                return e
            })
    }

    /// Who a non-directory is: (branch, inode) in an evaluator, (st_dev, st_ino) on a mount.
    public struct Identity: Hashable, Sendable {
        public var a: UInt64
        public var b: UInt64
        public init(_ a: UInt64, _ b: UInt64) {
            self.a = a
            self.b = b
        }
    }

    /// The differences between two views, as sentences naming the path; at most `limit`.
    public func differences(
        from other: MergedView, limit: Int = 20, names: (String, String) = ("source", "result")
    )
        -> [String]
    {
        var out: [String] = []
        var i = 0
        var j = 0
        let a = entries
        let b = other.entries
        func add(_ s: String) { if out.count < limit { out.append(s) } }
        while i < a.count || j < b.count {
            if j >= b.count || (i < a.count && a[i].path.lexicographicallyPrecedes(b[j].path)) {
                add("\(Escaped.path(a[i].path)): in the \(names.0) (\(a[i].kind.name)), missing from the \(names.1)")
                i += 1
            } else if i >= a.count || b[j].path.lexicographicallyPrecedes(a[i].path) {
                add("\(Escaped.path(b[j].path)): in the \(names.1) (\(b[j].kind.name)), missing from the \(names.0)")
                j += 1
            } else {
                for d in a[i].fieldDifferences(b[j]) {
                    add("\(Escaped.path(a[i].path)): \(d) (\(names.0) -> \(names.1))")
                }
                i += 1
                j += 1
            }
        }
        return out
    }

    /// How many entries differ in any way (the count behind a truncated `differences`).
    public func differenceCount(from other: MergedView) -> Int {
        var n = 0
        var i = 0
        var j = 0
        let a = entries
        let b = other.entries
        while i < a.count || j < b.count {
            if j >= b.count || (i < a.count && a[i].path.lexicographicallyPrecedes(b[j].path)) {
                n += 1
                i += 1
            } else if i >= a.count || b[j].path.lexicographicallyPrecedes(a[i].path) {
                n += 1
                j += 1
            } else {
                if a[i] != b[j] { n += 1 }
                i += 1
                j += 1
            }
        }
        return n
    }
}

extension FileName {
    /// Paths compare component by component, so `a/b` sorts before `a.b` as a walker lists them.
    static func pathLess(_ a: [FileName], _ b: [FileName]) -> Bool { a.lexicographicallyPrecedes(b) }
}

extension MergedView.Kind {
    public var name: String {
        switch self {
        case .directory: return "directory"
        case .regular(let c): return "file of \(c.size) bytes"
        case .symlink(let t): return "symlink to \(Escaped.bytes(t))"
        case .charDevice(let d): return "char device \(d >> 8 & 0xfff):\(d & 0xff | (d >> 12) & 0xfff00)"
        case .blockDevice(let d): return "block device \(d >> 8 & 0xfff):\(d & 0xff | (d >> 12) & 0xfff00)"
        case .fifo: return "fifo"
        case .socket: return "socket"
        }
    }
}

extension MergedView.Entry {
    func fieldDifferences(_ o: MergedView.Entry) -> [String] {
        var d: [String] = []
        if kind != o.kind {
            if case .regular(let x) = kind, case .regular(let y) = o.kind, x.size == y.size {
                d.append("content differs (same size \(x.size))")
            } else {
                d.append("\(kind.name) -> \(o.kind.name)")
            }
        }
        if mode != o.mode { d.append("mode \(String(mode, radix: 8)) -> \(String(o.mode, radix: 8))") }
        if uid != o.uid || gid != o.gid { d.append("owner \(uid):\(gid) -> \(o.uid):\(o.gid)") }
        if mtime != o.mtime { d.append("mtime \(mtime) -> \(o.mtime)") }
        if xattrs != o.xattrs {
            let a = Set(xattrs)
            let b = Set(o.xattrs)
            let names = Set(a.symmetricDifference(b).map(\.name)).sorted().map(\.description)
            d.append("xattrs differ: \(names.joined(separator: ", "))")
        }
        if linkGroup != o.linkGroup {
            func g(_ p: [FileName]?) -> String { p.map { "linked with \(Escaped.path($0))" } ?? "not hard-linked" }
            d.append("\(g(linkGroup)) -> \(g(o.linkGroup))")
        }
        return d
    }
}

/// A stack the evaluators cannot show: the union gives an error there (aufs's EIO for a whiteout
/// that is not a regular file), or it needs a feature the evaluator does not model.
public struct EvaluationProblem: Error, Sendable, CustomStringConvertible {
    public var path: [FileName]
    public var reason: String
    public var description: String { "\(Escaped.path(path)): \(reason)" }
}

/// aufs's merged view of a branch stack, as fs/aufs/dentry.c (au_lkup_dentry, au_do_lookup) and
/// vdir.c (fillvdir) make it, checked against aufs 6.1 in QEMU: a `.wh.NAME` regular file on a
/// branch that holds whiteouts (rw, or +wh) hides NAME below it and on its own branch;
/// `.wh..wh..opq` in such a branch's directory stops the merge below it, and where several
/// directories of the merge have one, the lowest bounds it; the first non-directory found wins; a
/// directory merges with the directories below, skipping non-directories of the same name
/// (au_do_lookup's type check); a name beginning with `.wh.` is never shown. The root's opaque
/// marker is not consulted (the root is not looked up). A name longer than 242 bytes
/// (AUFS_MAX_NAMELEN) is listed but cannot be looked up (ENAMETOOLONG); a name beside its own
/// whiteout is not listed (lookup gives EIO). With pseudo-links, a lower file whose copied-up twin
/// has an entry in a writable branch's `.wh..wh.plnk` shows the twin under every name, as the live
/// union did (a fresh mount does not: `pseudoLinks: false`).
public enum AufsEvaluator {
    public struct Branch: Sendable {
        public var layer: Layer
        /// Whiteouts and opaque markers count (rw, or ro/rr with +wh).
        public var whable: Bool
        public var writable: Bool
        public init(_ layer: Layer, whable: Bool, writable: Bool = false) {
            self.layer = layer
            self.whable = whable
            self.writable = writable
        }
        public init(_ layer: Layer, permission: BranchPermission) {
            self.init(
                layer, whable: permission.base == .rw || permission.attributes.contains("wh"),
                writable: permission.base == .rw)
        }
    }

    enum Found {
        case absent
        case nonDir(branch: Int, inode: UInt64)
        case dir([(Int, Dir)])
    }

    public static func view(_ branches: [Branch], pseudoLinks: Bool = true) throws -> MergedView {
        let plinks = pseudoLinks ? try pseudoLinkMap(branches) : [:]
        var out: [(MergedView.Entry, MergedView.Identity?)] = []
        guard let top = branches.first else { return MergedView([]) }
        out.append((entry([], .directory, top.layer.root.meta), nil))
        try walk(branches, Array(branches.indices).map { ($0, branches[$0].layer.root) }, [], plinks, &out)
        return MergedView(out)
    }

    static func entry(_ path: [FileName], _ kind: MergedView.Kind, _ m: Meta) -> MergedView.Entry {
        MergedView.Entry(
            path: path, kind: kind, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime,
            xattrs: m.xattrs.map { MergedView.Xattr(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name },
            linkGroup: nil)
    }

    static func walk(
        _ branches: [Branch], _ stack: [(Int, Dir)], _ path: [FileName], _ plinks: [PLKey: (Int, UInt64)],
        _ out: inout [(MergedView.Entry, MergedView.Identity?)]
    ) throws {
        var names = Set<FileName>()
        for (_, d) in stack { for n in d.entries.keys where !n.hasPrefix(FileName.whPrefix) { names.insert(n) } }
        for n in names.sorted() {
            let p = path + [n]
            if n.count > 242 {
                throw EvaluationProblem(
                    path: p,
                    reason: "aufs gives ENAMETOOLONG: it looks up no name longer than 242 bytes (AUFS_MAX_NAMELEN)")
            }
            switch try lookup(branches, stack, n, p) {
            case .absent: continue
            case .nonDir(var b, var ino):
                if let t = plinks[PLKey(branch: b, inode: ino)] { (b, ino) = t }
                let node = branches[b].layer.inodes[ino]!
                out.append((entry(p, MergedView.Kind(node.payload), node.meta), MergedView.Identity(UInt64(b), ino)))
            case .dir(let s):
                out.append((entry(p, .directory, s[0].1.meta), nil))
                try walk(branches, s, p, plinks, &out)
            }
        }
    }

    /// au_lkup_dentry over the branches where the parent is a directory.
    static func lookup(_ branches: [Branch], _ stack: [(Int, Dir)], _ n: FileName, _ p: [FileName]) throws -> Found {
        var dirs: [(Int, Dir)] = []
        var lastOpaque: Int?
        for (k, (i, d)) in stack.enumerated() {
            let br = branches[i]
            if br.whable, let wh = d.entries[n.whiteout] {
                guard isRegular(br.layer, wh) else {
                    throw EvaluationProblem(
                        path: p, reason: "aufs gives EIO: its whiteout .wh.\(n) is not a regular file")
                }
                // On the parent's first branch the lookup may come back negative (ALLOW_NEG), and a
                // name there beside its own whiteout leaves no branch at all: EIO (aufs 6.1).
                if k == 0 && d.entries[n] != nil {
                    throw EvaluationProblem(
                        path: p, reason: "aufs gives EIO: the name and its whiteout .wh.\(n) on one branch")
                }
                break
            }
            guard let e = d.entries[n] else { continue }
            switch e {
            case .file(let ino):
                if dirs.isEmpty { return .nonDir(branch: i, inode: ino) }
                continue  // a lower non-directory under a directory: skipped, the merge goes on
            case .dir(let dd):
                dirs.append((i, dd))
                if br.whable, let o = dd.entries[FileName.diropq] {
                    guard isRegular(br.layer, o) else {
                        throw EvaluationProblem(path: p, reason: "aufs gives EIO: .wh..wh..opq is not a regular file")
                    }
                    lastOpaque = dirs.count
                }
            }
        }
        // The lowest opaque directory bounds the merge, not the first: the lookup of a new dentry
        // does not stop at an opaque branch (isdir is false while the dentry is negative) and
        // au_do_lookup records every opaque branch it meets, the last one winning (aufs 6.1 shows
        // b0/a/.wh..wh..opq + b1/a/t1 + b2/a/.wh..wh..opq as a merge of all three).
        if let last = lastOpaque { dirs = Array(dirs.prefix(last)) }
        return dirs.isEmpty ? .absent : .dir(dirs)
    }

    static func isRegular(_ l: Layer, _ e: Entry) -> Bool { l.inode(e)?.payload.isRegular ?? false }

    struct PLKey: Hashable {
        var branch: Int
        var inode: UInt64
    }

    /// (lower branch, lower inode) -> (writable branch, its copied-up inode), for every entry of a
    /// writable branch's `.wh..wh.plnk`, found through the copy's names in that branch: the file
    /// the union showed at the same path below it is the original.
    static func pseudoLinkMap(_ branches: [Branch]) throws -> [PLKey: (Int, UInt64)] {
        var map: [PLKey: (Int, UInt64)] = [:]
        for (r, br) in branches.enumerated() where br.writable {
            guard case .dir(let pl)? = br.layer.root.entries[FileName.plinkDir] else { continue }
            let wanted = Set(
                pl.entries.values.compactMap { e -> UInt64? in if case .file(let i) = e { i } else { nil } })
            if wanted.isEmpty { continue }
            var paths: [([FileName], UInt64)] = []
            collect(br.layer.root, [], wanted, &paths)
            for (p, u) in paths {
                if case .nonDir(let j, let l) = try resolve(branches, from: r + 1, p) {
                    map[PLKey(branch: j, inode: l)] = (r, u)
                }
            }
        }
        return map
    }

    static func collect(_ d: Dir, _ path: [FileName], _ wanted: Set<UInt64>, _ out: inout [([FileName], UInt64)]) {
        for (n, e) in d.entries where !n.hasPrefix(FileName.whPrefix) {
            switch e {
            case .file(let i): if wanted.contains(i) { out.append((path + [n], i)) }
            case .dir(let dd): collect(dd, path + [n], wanted, &out)
            }
        }
    }

    /// What the union of branches `from...` shows at `path`.
    static func resolve(_ branches: [Branch], from: Int, _ path: [FileName]) throws -> Found {
        guard from < branches.count else { return .absent }
        var stack = (from..<branches.count).map { ($0, branches[$0].layer.root) }
        for (k, n) in path.enumerated() {
            let f = try lookup(branches, stack, n, Array(path[...k]))
            if k == path.count - 1 { return f }
            guard case .dir(let s) = f else { return .absent }
            stack = s
        }
        return .dir(stack)
    }
}

/// overlayfs's merged view of a layer stack (top first; an upper layer is simply the first), as
/// fs/overlayfs/namei.c (ovl_lookup_single) and Documentation/filesystems/overlayfs.rst make it: a
/// 0/0 character device is a whiteout, and so (kernels 6.7+) is a zero-size regular file with the
/// `overlay.whiteout` xattr (its directory's `overlay.opaque=x` only tells readdir to look for them:
/// lookup honours one without it, as a 6.18 kernel shows); `overlay.opaque=y` stops
/// the merge below a directory; the first non-directory wins, and a non-directory below a
/// directory ends its merge; the `overlay.*` xattrs (trusted.* or, with userxattr, user.*) are
/// not shown. The roots always merge (opaque is not consulted on them).
public enum OverlayEvaluator {
    /// Whether a kernel release reads xattr whiteouts (6.7 and later).
    public static func readsXattrWhiteouts(_ release: String) -> Bool {
        guard let k = KernelRelease(release) else { return true }
        return (k.major, k.minor) >= (6, 7)
    }

    public static func view(
        _ layers: [Layer], prefix: String = "trusted.overlay.", xattrWhiteouts: Bool = true
    ) throws
        -> MergedView
    {
        let px = Array(prefix.utf8)
        var out: [(MergedView.Entry, MergedView.Identity?)] = []
        guard let top = layers.first else { return MergedView([]) }
        out.append((entry([], .directory, top.root.meta, px), nil))
        try walk(layers, Array(layers.indices).map { ($0, layers[$0].root) }, [], px, xattrWhiteouts, &out)
        return MergedView(out)
    }

    static func entry(_ path: [FileName], _ kind: MergedView.Kind, _ m: Meta, _ px: [UInt8]) -> MergedView.Entry {
        MergedView.Entry(
            path: path, kind: kind, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime,
            xattrs: m.xattrs.filter { !$0.key.hasPrefix(px) }.map { MergedView.Xattr(name: $0.key, value: $0.value) }
                .sorted { $0.name < $1.name },
            linkGroup: nil)
    }

    static func walk(
        _ layers: [Layer], _ stack: [(Int, Dir)], _ path: [FileName], _ px: [UInt8], _ xw: Bool,
        _ out: inout [(MergedView.Entry, MergedView.Identity?)]
    ) throws {
        var names = Set<FileName>()
        for (_, d) in stack { names.formUnion(d.entries.keys) }
        for n in names.sorted() {
            let p = path + [n]
            var dirs: [(Int, Dir)] = []
            var nonDir: (Int, UInt64)?
            for (i, d) in stack {
                guard let e = d.entries[n] else { continue }
                if isWhiteout(layers[i], e, px, xw) { break }
                if case .file(let ino) = e {
                    if dirs.isEmpty { nonDir = (i, ino) }
                    break
                }
                guard case .dir(let dd) = e else { break }
                try refuseUnmodelled(dd.meta, p, px)
                dirs.append((i, dd))
                if dd.meta.xattrs[FileName(px + Array("opaque".utf8))] == Array("y".utf8) { break }
            }
            if let (i, ino) = nonDir {
                let node = layers[i].inodes[ino]!
                try refuseUnmodelled(node.meta, p, px)
                out.append(
                    (entry(p, MergedView.Kind(node.payload), node.meta, px), MergedView.Identity(UInt64(i), ino)))
            } else if !dirs.isEmpty {
                out.append((entry(p, .directory, dirs[0].1.meta, px), nil))
                try walk(layers, dirs, p, px, xw, &out)
            }
        }
    }

    static func isWhiteout(_ l: Layer, _ e: Entry, _ px: [UInt8], _ xw: Bool) -> Bool {
        guard let node = l.inode(e) else { return false }
        if case .charDevice(0) = node.payload { return true }
        guard xw, case .regular(let c) = node.payload, c.size == 0 else { return false }
        return node.meta.xattrs[FileName(px + Array("whiteout".utf8))] != nil
    }

    static func refuseUnmodelled(_ m: Meta, _ p: [FileName], _ px: [UInt8]) throws {
        for k in ["redirect", "metacopy"] where m.xattrs[FileName(px + Array(k.utf8))] != nil {
            throw EvaluationProblem(
                path: p,
                reason: "\(String(decoding: px, as: UTF8.self))\(k) is set: not modelled (redirect_dir/metacopy)")
        }
    }
}
