// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Removes a directory tree without following symlinks (overlay's workdir holds a mode-000 `work`).
/// rm -rf that never follows a symlink and never re-resolves a path: each directory is opened
/// relative to its parent's fd with O_NOFOLLOW and its entries are removed relative to it, so a
/// name another user swaps for a symlink (in a directory they can write) loses only that symlink.
package enum RecursiveRemove {
    /// With `strictParents`, every component of the parent path is opened with O_NOFOLLOW from
    /// `/` too: for a path recorded earlier as canonical (the overlay workdir in mountinfo), a
    /// component that is a symlink now was swapped, and nothing is removed. Returns whether it ran.
    @discardableResult
    package static func remove(_ path: String, strictParents: Bool = false) -> Bool {
        let normalized = Paths.normalize(path)
        guard normalized != "/", let name = normalized.split(separator: "/").last.map(String.init) else { return false }
        let parent =
            strictParents
            ? openNoFollow(Paths.dirname(normalized))
            : open(Paths.dirname(normalized), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { return false }
        defer { close(parent) }
        remove(at: parent, name)
        return true
    }

    /// Opens a directory walking from `/` with O_NOFOLLOW at every component; -1 if one is a symlink.
    static func openNoFollow(_ dir: String) -> Int32 {
        var fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        for c in Paths.normalize(dir).split(separator: "/").map(String.init) where fd >= 0 {
            let next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(fd)
            fd = next
        }
        return fd
    }

    package static func remove(at dirfd: Int32, _ name: String) {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            unlinkat(dirfd, name, 0)
            return
        }
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            fchmod(fd, 0o700)
            for entry in entries(fd) { remove(at: fd, entry) }
            close(fd)
        }
        // A directory swapped for a symlink meanwhile fails here (ENOTDIR) and stays: never followed.
        unlinkat(dirfd, name, AT_REMOVEDIR)
    }

    /// Removes the directory `name` in `dirfd` by fd, only while it is `identity` (nil: any
    /// directory of this user's): a name swapped for a symlink, a file or another directory is left.
    package static func remove(at dirfd: Int32, _ name: String, identity: FileIdentity?) -> TreeRemoval {
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let e = SysErrno(errno)
            if e.code == ENOENT { return .missing }
            var st = stat()
            let what =
                fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mode & S_IFMT == S_IFLNK
                ? "a symlink" : "not a directory aufsctl can open (\(e))"
            return .notOurs("it is \(what)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            return .notOurs("cannot fstat it: \(SysErrno(errno))")
        }
        let found = FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        if let identity, identity != found {
            close(fd)
            return .notOurs("it is not the directory made for this union (another one was put under its name)")
        }
        if identity == nil && st.st_uid != geteuid() {
            close(fd)
            return .notOurs("it belongs to uid \(st.st_uid)")
        }
        fchmod(fd, 0o700)
        for entry in entries(fd) { remove(at: fd, entry) }
        close(fd)
        // Renamed away meanwhile: rmdir of the name then fails (ENOTEMPTY) or removes an empty one.
        unlinkat(dirfd, name, AT_REMOVEDIR)
        return .removed
    }

    /// The names in an open directory (not . and ..), read through a duplicate of its fd.
    static func entries(_ fd: Int32) -> [String] {
        let d = dup(fd)
        guard d >= 0, let dir = fdopendir(d) else { if d >= 0 { close(d) }; return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
