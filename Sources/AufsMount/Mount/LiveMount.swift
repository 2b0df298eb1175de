// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A live mount found by fd: the mount point's parent opened with the no-follow walk, and the mount
/// on `name` in it checked, by mount id, to be the mountinfo entry that was judged. A mount point
/// cannot be renamed, so `name` in `parent` stays that mount: umount, remounts and the pseudo-link
/// flush act on it, never on whatever a path names by then.
public struct LiveMount: Sendable {
    public var path: String
    public var parent: AnchoredDirectory
    public var name: String
    /// mountinfo's id of the mount.
    public var id: Int

    /// Opens `entry`'s mount point (its canonical path `path`) and checks the mount there is it.
    public static func open(_ path: String, entry: MountEntry, syscalls: any Syscalls) throws -> LiveMount {
        let name = String(path.split(separator: "/").last ?? "")
        guard !name.isEmpty else { throw AufsError.usage("\(path): aufsctl does not unmount or remount /") }
        let parent: AnchoredDirectory
        switch syscalls.anchorDirectory(Paths.dirname(path)) {
        case .success(let p): parent = p
        case .failure(let f): throw AufsError("\(path): \(f); nothing was done")
        }
        switch syscalls.mountID(in: parent, name) {
        case .success(let id) where id == entry.id || entry.id == 0:
            return LiveMount(path: path, parent: parent, name: name, id: id)
        case .success(let id):
            throw AufsError(
                "\(path): the mount there (id \(id)) is not the \(entry.fstype) mount mountinfo lists at that path "
                    + "(id \(entry.id)): the path changed while it was resolved (another user can rename entries on "
                    + "it?); nothing was done")
        case .failure(let e) where e.code == ESTALE:
            // The mount's root cannot be looked up (aufs with a branch directory removed revalidates it
            // to ESTALE): then the directory held must be on the mount mountinfo hangs the entry from.
            if case .success(let p) = syscalls.mountID(in: parent, ""), p == entry.parentID || entry.id == 0 {
                return LiveMount(path: path, parent: parent, name: name, id: entry.id)
            }
            throw AufsError(
                "\(path): the mount there cannot be looked up (\(e)) and \(Paths.dirname(path)) is not on the mount "
                    + "mountinfo lists it under; nothing was done")
        case .failure(let e):
            throw AufsError("\(path): cannot find which mount is there: \(e); nothing was done")
        }
    }

    /// The mount's root directory by fd (for a remount, `/proc/self/fd/N` of it), checked to be
    /// on this mount.
    public func root(_ syscalls: any Syscalls) throws -> AnchoredDirectory {
        let r: AnchoredDirectory
        switch syscalls.openDirectory(in: parent, name) {
        case .success(let d): r = d
        case .failure(let e): throw AufsError("\(path): cannot open the mount's root: \(e); nothing was done")
        }
        if case .success(let id) = syscalls.mountID(in: r, ""), id != self.id {
            throw AufsError(
                "\(path): its root is on mount \(id), not on mount \(self.id) (mounted over meanwhile?); nothing was "
                    + "done")
        }
        return r
    }
}
