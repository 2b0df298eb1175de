import CMount
import Glibc

/// One line of `/proc/self/mountinfo`, read through util-linux libmount.
public struct MountEntry: Sendable, Equatable, Codable {
    public var id: Int
    public var parentID: Int
    public var source: String
    public var target: String
    public var fstype: String
    /// Per-mount options (`rw,relatime`).
    public var vfsOptions: String
    /// Superblock options: what the filesystem received (`br=...`, `lowerdir=...`).
    public var fsOptions: String
}

public struct MountTable: Sendable, Equatable {
    public var entries: [MountEntry]

    /// Parses a mountinfo (or fstab-style mounts) file; nil when it cannot be read.
    public static func read(_ path: String) -> MountTable? {
        guard access(path, R_OK) == 0, let tb = mnt_new_table_from_file(path) else { return nil }
        defer { mnt_unref_table(tb) }
        guard let itr = mnt_new_iter(Int32(MNT_ITER_FORWARD)) else { return nil }
        defer { mnt_free_iter(itr) }
        var out: [MountEntry] = []
        var fs: OpaquePointer? = nil
        while mnt_table_next_fs(tb, itr, &fs) == 0, let f = fs {
            func s(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
            out.append(
                MountEntry(
                    id: Int(mnt_fs_get_id(f)), parentID: Int(mnt_fs_get_parent_id(f)),
                    source: s(mnt_fs_get_source(f)), target: s(mnt_fs_get_target(f)),
                    fstype: s(mnt_fs_get_fstype(f)), vfsOptions: s(mnt_fs_get_vfs_options(f)),
                    fsOptions: s(mnt_fs_get_fs_options(f))))
        }
        return MountTable(entries: out)
    }

    /// The mount table of a root: `/proc/self/mountinfo`, else `/proc/mounts`.
    public static func read(root: HostRoot) -> (table: MountTable, source: String)? {
        for p in ["/proc/self/mountinfo", "/proc/mounts"] {
            if let t = read(root.resolve(p)) { return (t, p) }
        }
        return nil
    }

    /// The mount that holds `path` (the last-mounted one with the longest matching target).
    public func containing(_ path: String) -> MountEntry? {
        var best: MountEntry?
        for e in entries {
            let t = e.target
            let matches = t == "/" || path == t || path.hasPrefix(t.hasSuffix("/") ? t : t + "/")
            if matches, t.count >= (best?.target.count ?? -1) { best = e }
        }
        return best
    }

    public func mount(at target: String) -> MountEntry? {
        entries.last { $0.target == target }
    }
}
