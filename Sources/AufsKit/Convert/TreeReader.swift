// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Reads real trees into the model, by directory fd and never following a symlink: a branch into
/// a `Layer` (for the reference evaluators), a mounted union into a `MergedView`.
public enum TreeReader {
    /// A branch's tree; `skipRoot` names at its root are left out (the staging area). Inode numbers
    /// become the layer's inode ids, so names sharing one are hard links.
    public static func layer(_ path: String, skipRoot: [FileName] = []) throws -> Layer {
        let fd = try open(path)
        return try layer(fd, path: path, skipRoot: skipRoot)
    }

    static func layer(_ fd: FD, path: String, skipRoot: [FileName] = []) throws -> Layer {
        var inodes: [UInt64: Inode] = [:]
        let root = try readDir(fd, path: path, rel: [], skip: skipRoot, &inodes)
        return Layer(root: root, inodes: inodes)
    }

    static func open(_ path: String) throws -> FD {
        do { return try Ops.openPathNoFollow(Paths.resolved(path)) } catch let e as OpError {
            throw AufsError("\(path): \(e)")
        }
    }

    static func meta(_ st: stat, _ x: [FileName: [UInt8]]) -> Meta {
        Meta(
            mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid,
            mtime: Timestamp(Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)), xattrs: x)
    }

    static func payload(_ dir: Int32, _ n: FileName, _ st: stat) throws -> Payload {
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular(try Ops.digest(dir, n))
        case S_IFLNK: return .symlink(try Ops.readLink(dir, n))
        case S_IFCHR: return .charDevice(UInt64(st.st_rdev))
        case S_IFBLK: return .blockDevice(UInt64(st.st_rdev))
        case S_IFIFO: return .fifo
        default: return .socket
        }
    }

    static func readDir(
        _ fd: FD, path: String, rel: [FileName], skip: [FileName], _ inodes: inout [UInt64: Inode]
    ) throws -> Dir {
        do {
            guard let st = Ops.fstat(fd.fd) else { throw OpError(what: "fstat", errno: SysErrno(errno)) }
            var d = Dir(meta: meta(st, try Ops.xattrs(.fd(fd.fd))))
            let s = DirStream(fd)
            while let item = try s.next() {
                if rel.isEmpty && skip.contains(item.name) { continue }
                guard let est = Ops.lstat(fd.fd, item.name) else { continue }
                if Ops.isType(est, S_IFDIR) {
                    let sub = try Ops.openDir(fd.fd, item.name)
                    d.entries[item.name] = .dir(
                        try readDir(sub, path: path, rel: rel + [item.name], skip: [], &inodes))
                } else {
                    let ino = UInt64(est.st_ino)
                    if inodes[ino] == nil {
                        inodes[ino] = Inode(
                            try payload(fd.fd, item.name, est),
                            meta(est, try Ops.xattrs(.entry(fd.fd, item.name))))
                    }
                    d.entries[item.name] = .file(ino)
                }
            }
            return d
        } catch let e as OpError {
            throw AufsError("\(path)\(Escaped.path(rel)): \(e)")
        }
    }

    /// What a mounted union shows: each directory listed, each name lstat()ed (a name that lstat
    /// does not find is left out), identities from st_dev and st_ino. `hidden` xattr prefixes are
    /// dropped (none for a real mount: the kernel filters its own).
    public static func view(_ path: String, skipRoot: [FileName] = []) throws -> MergedView {
        let fd = try open(path)
        var out: [(MergedView.Entry, MergedView.Identity?)] = []
        do {
            guard let st = Ops.fstat(fd.fd) else { throw OpError(what: "fstat", errno: SysErrno(errno)) }
            out.append((entry([], .directory, st, try Ops.xattrs(.fd(fd.fd))), nil))
            try walkView(fd, [], skipRoot, &out)
        } catch let e as OpError {
            throw AufsError("\(path): \(e)")
        }
        return MergedView(out)
    }

    static func entry(_ p: [FileName], _ k: MergedView.Kind, _ st: stat, _ x: [FileName: [UInt8]]) -> MergedView.Entry {
        let m = meta(st, x)
        return MergedView.Entry(
            path: p, kind: k, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime,
            xattrs: x.map { MergedView.Xattr(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name },
            linkGroup: nil)
    }

    static func walkView(
        _ fd: FD, _ rel: [FileName], _ skip: [FileName], _ out: inout [(MergedView.Entry, MergedView.Identity?)]
    ) throws {
        let s = DirStream(fd)
        while let item = try s.next() {
            if rel.isEmpty && skip.contains(item.name) { continue }
            guard let st = Ops.lstat(fd.fd, item.name) else {
                if errno == ENOENT { continue }
                throw OpError(what: "lstat \(Escaped.path(rel + [item.name]))", errno: SysErrno(errno))
            }
            let p = rel + [item.name]
            if Ops.isType(st, S_IFDIR) {
                let sub = try Ops.openDir(fd.fd, item.name)
                out.append((entry(p, .directory, st, try Ops.xattrs(.fd(sub.fd))), nil))
                try walkView(sub, p, [], &out)
            } else {
                let k = MergedView.Kind(try payload(fd.fd, item.name, st))
                out.append(
                    (
                        entry(p, k, st, try Ops.xattrs(.entry(fd.fd, item.name))),
                        MergedView.Identity(UInt64(st.st_dev), UInt64(st.st_ino))
                    ))
            }
        }
    }
}
