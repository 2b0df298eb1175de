// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// One line of `/proc/self/mountinfo`.
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

    /// Parses a mountinfo file (or, without its " - " separator, a /proc/mounts-style one); nil
    /// when it cannot be read.
    public static func read(_ path: String) -> MountTable? {
        guard case .success(let bytes) = FileRead.bytes(path, limit: .max) else { return nil }
        return MountTable(entries: parse(bytes))
    }

    /// The lines of a mountinfo file (proc_pid_mountinfo(5)): `ID PARENT MAJ:MIN ROOT TARGET
    /// VFS-OPTIONS [OPTIONAL...] - FSTYPE SOURCE FS-OPTIONS`, with the kernel's octal escapes
    /// (`\040` for a space) undone as libmount does. Hand-written rather than read through libmount:
    /// loading libmount (with libblkid, libselinux and pcre2) cost every mount, umount and status
    /// ~0.3 ms, more than the reading itself; MountTableTests checks this parser against libmount.
    /// A line in the /proc/mounts format (`SOURCE TARGET FSTYPE OPTIONS 0 0`) gets id 0 and its
    /// options in both option fields; a line that is neither is skipped. A mount point whose
    /// directory was removed keeps the kernel's ` (deleted)` suffix, as libmount >= 2.37.3 keeps it
    /// (stripping it let a directory really named `x (deleted)` pass for `x`: CVE-2021-3996).
    public static func parse(_ text: [UInt8]) -> [MountEntry] {
        var out: [MountEntry] = []
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            let sep = fields.firstIndex { $0.elementsEqual("-".utf8) }
            if let sep, sep >= 6, fields.count > sep + 2,
                let id = Int(String(decoding: fields[0], as: UTF8.self)),
                let parent = Int(String(decoding: fields[1], as: UTF8.self))
            {
                out.append(
                    MountEntry(
                        id: id, parentID: parent, source: unmangle(fields[sep + 2]), target: unmangle(fields[4]),
                        fstype: unmangle(fields[sep + 1]), vfsOptions: unmangle(fields[5]),
                        fsOptions: fields.count > sep + 3 ? unmangle(fields[sep + 3]) : ""))
            } else if sep == nil, fields.count >= 4 {
                let options = unmangle(fields[3])
                out.append(
                    MountEntry(
                        id: 0, parentID: 0, source: unmangle(fields[0]), target: unmangle(fields[1]),
                        fstype: unmangle(fields[2]), vfsOptions: options, fsOptions: options))
            }
        }
        return out
    }

    /// Undoes the kernel's mangling: a backslash and exactly three octal digits is that byte.
    static func unmangle(_ field: ArraySlice<UInt8>) -> String {
        guard field.contains(UInt8(ascii: "\\")) else { return String(decoding: field, as: UTF8.self) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(field.count)
        var i = field.startIndex
        func octal(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "7") }
        while i < field.endIndex {
            let b = field[i]
            if b == UInt8(ascii: "\\"), i + 3 < field.endIndex, octal(field[i + 1]), octal(field[i + 2]),
                octal(field[i + 3])
            {
                bytes.append((field[i + 1] & 7) << 6 | (field[i + 2] & 7) << 3 | (field[i + 3] & 7))
                i += 4
            } else {
                bytes.append(b)
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
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
