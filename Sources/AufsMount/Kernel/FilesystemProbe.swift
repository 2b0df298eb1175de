// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CBlkid
import CLinuxShims
import Glibc

/// A filesystem type as the kernel reports it (statfs f_type), with what aufs thinks of it.
public struct FilesystemKind: Sendable, Equatable, Codable, CustomStringConvertible {
    public var magic: Int64
    public var name: String

    public init(magic: Int64) {
        self.magic = magic
        self.name = FilesystemKind.names.first { $0.0 == magic }?.1 ?? String(format16: magic)
    }

    public var description: String { name }

    // Pairs, not a Dictionary: the first [Int64: String] in a process costs a scan of every
    // protocol conformance record in the binary (issue 14); 32 entries are searched in no time.
    static let names: [(Int64, String)] = [
        (AUFSCTL_MAGIC_TMPFS, "tmpfs"), (AUFSCTL_MAGIC_RAMFS, "ramfs"), (AUFSCTL_MAGIC_PROC, "proc"),
        (AUFSCTL_MAGIC_SYSFS, "sysfs"), (AUFSCTL_MAGIC_CONFIGFS, "configfs"), (AUFSCTL_MAGIC_DEBUGFS, "debugfs"),
        (AUFSCTL_MAGIC_SECURITYFS, "securityfs"), (AUFSCTL_MAGIC_ECRYPTFS, "ecryptfs"),
        (AUFSCTL_MAGIC_OVERLAYFS, "overlay"), (AUFSCTL_MAGIC_XFS, "xfs"), (AUFSCTL_MAGIC_BTRFS, "btrfs"),
        (AUFSCTL_MAGIC_UBIFS, "ubifs"), (AUFSCTL_MAGIC_HFSPLUS, "hfsplus"), (AUFSCTL_MAGIC_NILFS, "nilfs2"),
        (AUFSCTL_MAGIC_NFS, "nfs"), (AUFSCTL_MAGIC_SMB, "smb"), (AUFSCTL_MAGIC_CIFS, "cifs"),
        (AUFSCTL_MAGIC_EXT4, "ext2/3/4"), (AUFSCTL_MAGIC_SQUASHFS, "squashfs"), (AUFSCTL_MAGIC_ISOFS, "iso9660"),
        (AUFSCTL_MAGIC_CRAMFS, "cramfs"), (AUFSCTL_MAGIC_ROMFS, "romfs"), (AUFSCTL_MAGIC_AUFS, "aufs"),
        (AUFSCTL_MAGIC_FUSE, "fuse"), (AUFSCTL_MAGIC_TRACEFS, "tracefs"), (AUFSCTL_MAGIC_CGROUP, "cgroup"),
        (AUFSCTL_MAGIC_CGROUP2, "cgroup2"), (AUFSCTL_MAGIC_DEVPTS, "devpts"), (AUFSCTL_MAGIC_EROFS, "erofs"),
        (AUFSCTL_MAGIC_F2FS, "f2fs"), (AUFSCTL_MAGIC_CEPH, "ceph"), (AUFSCTL_MAGIC_9P, "9p"),
    ]

    /// Filesystems aufs refuses as a branch (au_br_fs_unsupported / stacking rules).
    public var refusedAsBranch: String? {
        switch magic {
        case AUFSCTL_MAGIC_PROC, AUFSCTL_MAGIC_SYSFS, AUFSCTL_MAGIC_CONFIGFS, AUFSCTL_MAGIC_DEBUGFS,
            AUFSCTL_MAGIC_SECURITYFS, AUFSCTL_MAGIC_ECRYPTFS, AUFSCTL_MAGIC_AUFS, AUFSCTL_MAGIC_RAMFS,
            AUFSCTL_MAGIC_TRACEFS:
            return "aufs does not support \(name) as a branch"
        case AUFSCTL_MAGIC_OVERLAYFS:
            return "overlay is already a stacked filesystem; aufs cannot stack on it"
        default:
            return nil
        }
    }

    /// The one list of filesystems the xino file must not live on (au_xino_create's checks): the
    /// statfs magic, and the type names mountinfo gives them (`fuse` also stands for `fuse.*`).
    static let xinoRefused: [(magic: Int64, types: [String])] = [
        (AUFSCTL_MAGIC_XFS, ["xfs"]), (AUFSCTL_MAGIC_BTRFS, ["btrfs"]), (AUFSCTL_MAGIC_UBIFS, ["ubifs"]),
        (AUFSCTL_MAGIC_HFSPLUS, ["hfsplus"]), (AUFSCTL_MAGIC_NILFS, ["nilfs2"]), (AUFSCTL_MAGIC_ECRYPTFS, ["ecryptfs"]),
        (AUFSCTL_MAGIC_AUFS, ["aufs"]), (AUFSCTL_MAGIC_NFS, ["nfs", "nfs4"]), (AUFSCTL_MAGIC_SMB, ["smb3", "smbfs"]),
        (AUFSCTL_MAGIC_CIFS, ["cifs"]), (AUFSCTL_MAGIC_FUSE, ["fuse"]), (AUFSCTL_MAGIC_CEPH, ["ceph"]),
        (AUFSCTL_MAGIC_9P, ["9p"]), (AUFSCTL_MAGIC_PROC, ["proc"]), (AUFSCTL_MAGIC_SYSFS, ["sysfs"]),
        (AUFSCTL_MAGIC_OVERLAYFS, ["overlay"]),
    ]

    /// Why aufs refuses an xino file on this filesystem, or nil.
    public var refusedForXino: String? {
        Self.xinoRefused.contains { $0.magic == magic } ? "aufs refuses an xino file on \(name)" : nil
    }

    /// The same rule for a filesystem type name as mountinfo shows it.
    public static func xinoRefusal(typeName t: String) -> String? {
        let base = t.hasPrefix("fuse.") || t == "fuseblk" ? "fuse" : t
        return xinoRefused.contains { $0.types.contains(base) } ? "aufs refuses an xino file on \(t)" : nil
    }

    /// Read-only media whose branches default to `rr`.
    public var isReallyReadOnly: Bool {
        [AUFSCTL_MAGIC_SQUASHFS, AUFSCTL_MAGIC_ISOFS, AUFSCTL_MAGIC_CRAMFS, AUFSCTL_MAGIC_ROMFS, AUFSCTL_MAGIC_EROFS]
            .contains(magic)
    }
}

extension String {
    package init(format16 v: Int64) { self = "0x" + String(v, radix: 16) }
}

/// The block device behind a path, named by libblkid.
public struct BackingDevice: Sendable, Equatable, Codable {
    public var device: String?
    public var type: String?
    public var uuid: String?
    public var label: String?
    /// Why nothing more is known (no block device, not readable as this user).
    public var note: String?

    package init(
        device: String? = nil, type: String? = nil, uuid: String? = nil, label: String? = nil, note: String? = nil
    ) {
        self.device = device
        self.type = type
        self.uuid = uuid
        self.label = label
        self.note = note
    }
}

public enum FilesystemProbe {
    /// libblkid: st_dev -> device node -> TYPE/UUID/LABEL (probing needs read access to the device).
    public static func backingDevice(dev: UInt64) -> BackingDevice {
        guard let cname = blkid_devno_to_devname(dev_t(dev)) else {
            return BackingDevice(note: "no block device (\(aufsctl_major(dev)):\(aufsctl_minor(dev)))")
        }
        let name = String(cString: cname)
        free(cname)
        guard let pr = blkid_new_probe_from_filename(name) else {
            return BackingDevice(device: name, note: "cannot open \(name): \(SysErrno(errno).name)")
        }
        defer { blkid_free_probe(pr) }
        var result = BackingDevice(device: name)
        errno = 0
        let rc = blkid_do_safeprobe(pr)
        if rc == 0 {
            func value(_ key: String) -> String? {
                var data: UnsafePointer<CChar>? = nil
                var len = 0
                guard blkid_probe_lookup_value(pr, key, &data, &len) == 0, let data else { return nil }
                return String(cString: data)
            }
            result.type = value("TYPE")
            result.uuid = value("UUID")
            result.label = value("LABEL")
        } else if rc == 1 {
            result.note = "libblkid found no filesystem signature on \(name)"
        } else if rc == -2 {
            result.note = "libblkid found ambivalent signatures on \(name)"
        } else {
            result.note = "libblkid could not read \(name)" + (errno != 0 ? ": \(SysErrno(errno).name)" : "")
        }
        return result
    }
}
