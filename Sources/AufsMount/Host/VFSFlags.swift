// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// mount(8)'s per-mount option names and the MS_* bits they set or clear: the helper reads -o with
/// them, and a remount (helper or `aufsctl branch`) passes a live mount's bits again.
public enum VFSFlags {
    /// The MS_* bits a live mount has, from mountinfo's per-mount options (`rw,nosuid,relatime`)
    /// and superblock options (`ro` there too): a remount must pass them again, or the kernel
    /// resets them (a `ro,nosuid` union would come back `rw,suid`).
    public static func current(vfsOptions: String, superOptions: String) -> UInt {
        var f: UInt = 0
        for o in vfsOptions.split(separator: ",") {
            if let v = table[String(o)], o != "remount" { f = (f | v.set) & ~v.clear }
        }
        if superOptions.split(separator: ",").contains("ro") { f |= UInt(MS_RDONLY) }
        return f
    }

    /// name -> (bits set, bits cleared).
    static let table: [String: (set: UInt, clear: UInt)] = {
        var t: [String: (UInt, UInt)] = [:]
        func pair(_ on: String, _ off: String, _ bit: UInt) {
            t[on] = (bit, 0)
            t[off] = (0, bit)
        }
        pair("ro", "rw", UInt(MS_RDONLY))
        pair("nosuid", "suid", UInt(MS_NOSUID))
        pair("nodev", "dev", UInt(MS_NODEV))
        pair("noexec", "exec", UInt(MS_NOEXEC))
        pair("sync", "async", UInt(MS_SYNCHRONOUS))
        pair("dirsync", "nodirsync", UInt(MS_DIRSYNC))
        pair("mand", "nomand", UInt(MS_MANDLOCK))
        pair("noatime", "atime", UInt(MS_NOATIME))
        pair("nodiratime", "diratime", UInt(MS_NODIRATIME))
        pair("relatime", "norelatime", UInt(MS_RELATIME))
        pair("strictatime", "nostrictatime", UInt(MS_STRICTATIME))
        pair("lazytime", "nolazytime", UInt(MS_LAZYTIME))
        pair("silent", "loud", UInt(MS_SILENT))
        pair("iversion", "noiversion", UInt(MS_I_VERSION))
        t["remount"] = (UInt(MS_REMOUNT), 0)
        t["defaults"] = (0, 0)
        return t
    }()
}
