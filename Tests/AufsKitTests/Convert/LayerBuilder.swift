// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
@testable import AufsKit

/// Builds a branch (a `Layer`) by path for tests: `b.file("etc/a", "x")`, `b.aufsWhiteout("etc/b")`.
struct LayerBuilder {
    var layer = Layer()
    var nextInode: UInt64
    var base: UInt64?

    init(inodeBase: UInt64 = 1000) { nextInode = inodeBase }

    static func split(_ p: String) -> [FileName] { p.split(separator: "/").map { FileName(String($0)) } }

    mutating func newInode(_ payload: Payload, _ meta: Meta) -> UInt64 {
        nextInode += 1
        layer.inodes[nextInode] = Inode(payload, meta)
        return nextInode
    }

    /// Runs `body` on the directory at `path` (created, 0755, as needed).
    mutating func inDir(_ path: [FileName], _ body: (inout Dir) -> Void) {
        func go(_ d: inout Dir, _ rest: ArraySlice<FileName>) {
            guard let first = rest.first else { return body(&d) }
            var sub: Dir
            if case .dir(let s)? = d.entries[first] { sub = s } else { sub = Dir() }
            go(&sub, rest.dropFirst())
            d.entries[first] = .dir(sub)
        }
        go(&layer.root, path[...])
    }

    mutating func put(_ path: String, _ e: Entry) {
        let c = LayerBuilder.split(path)
        inDir(Array(c.dropLast())) { $0.entries[c.last!] = e }
    }

    @discardableResult
    mutating func file(_ path: String, _ text: String = "", meta: Meta = Meta()) -> UInt64 {
        let i = newInode(.regular(Content(Array(text.utf8))), meta)
        put(path, .file(i))
        return i
    }

    mutating func link(_ path: String, _ inode: UInt64) { put(path, .file(inode)) }

    mutating func symlink(_ path: String, _ target: String, meta: Meta = Meta(mode: 0o777)) {
        put(path, .file(newInode(.symlink(Array(target.utf8)), meta)))
    }

    mutating func device(_ path: String, char: Bool = true, rdev: UInt64, meta: Meta = Meta()) {
        put(path, .file(newInode(char ? .charDevice(rdev) : .blockDevice(rdev), meta)))
    }

    mutating func dir(_ path: String, meta: Meta = Meta(mode: 0o755)) {
        let c = LayerBuilder.split(path)
        inDir(c) { $0.meta = meta }
    }

    mutating func setDirXattr(_ path: String, _ name: String, _ value: String) {
        inDir(LayerBuilder.split(path)) { $0.meta.xattrs[FileName(name)] = Array(value.utf8) }
    }

    /// aufs: `.wh.NAME`, a hard link to the branch's `.wh..wh.aufs`.
    mutating func aufsWhiteout(_ path: String) {
        if base == nil {
            base = newInode(.regular(Content([])), Meta(mode: 0o444))
            put(".wh..wh.aufs", .file(base!))
        }
        let c = LayerBuilder.split(path)
        put((c.dropLast().map(\.description) + [".wh." + c.last!.description]).joined(separator: "/"), .file(base!))
    }

    mutating func aufsOpaque(_ dir: String) {
        if base == nil {
            base = newInode(.regular(Content([])), Meta(mode: 0o444))
            put(".wh..wh.aufs", .file(base!))
        }
        put(dir + "/.wh..wh..opq", .file(base!))
    }

    /// overlayfs: a 0/0 character device.
    mutating func overlayWhiteout(_ path: String, meta: Meta = Meta(mode: 0)) {
        put(path, .file(newInode(.charDevice(0), meta)))
    }

    mutating func overlayOpaque(_ dir: String, prefix: String = "trusted.overlay.") {
        setDirXattr(dir, prefix + "opaque", "y")
    }
}

extension MergedView {
    /// Paths (slash-joined) in order.
    var paths: [String] { entries.map { $0.path.map(\.description).joined(separator: "/") } }

    func entry(_ p: String) -> Entry? { entries.first { $0.path == LayerBuilder.split(p) } }

    func content(_ p: String) -> Content? {
        if case .regular(let c)? = entry(p)?.kind { return c }
        return nil
    }
}
