// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The explicit fallback's names and limits: the same union mounted with overlayfs (planned by
/// `MountPlanner.overlay`, made by `MountExecutor`). Mounts carry the source name `aufsctl` so
/// `status` and `umount` know them as ours.
public enum OverlayMounter {
    public static let source = "aufsctl"
    public static let maxLayers = 500

    static func workdirName(for upper: String) -> String {
        Mounter.workdirPrefix + (upper.split(separator: "/").last.map(String.init) ?? "root")
    }

    static func newAPIDescription(_ strings: Int, target: String) -> String {
        "fsopen(\"overlay\") + \(strings) fsconfig(FSCONFIG_SET_STRING, ...) + fsmount + move_mount(\"\(target)\")"
    }
}

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
