// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A mount(8) `-o` string split the way a helper must treat it: VFS flags become MS_* bits,
/// userspace options are never passed to the kernel, the rest are aufs's options.
public struct HelperOptions: Sendable, Equatable {
    /// MS_* bits to pass to mount(2) (MS_REMOUNT included for `remount`).
    public var flags: UInt = 0
    /// Userspace options seen (`nofail`, `_netdev`, `user`, `helper=`, ...): dropped.
    public var userspace: [String] = []
    /// aufs's own options, in order, including the branch list (`br=`/`br:`/`dirs=`).
    public var aufs: [String] = []
    /// Mount options the kernel shows in mountinfo but takes no part in a remount (`si=`).
    public var ignored: [String] = []
    /// `x-aufsctl.fallback=`, when the caller passed it (mount(8) itself never does: HelperFallback).
    public var fallback: Fallback?

    public var remount: Bool { flags & UInt(MS_REMOUNT) != 0 }

    public var readOnly: Bool { flags & UInt(MS_RDONLY) != 0 }

    /// Options mount(8) keeps to itself (it filters `x-*`, `comment=`, `auto`, loop options
    /// before a helper runs; these reach a helper and must not reach the kernel).
    static let userspaceNames: Set<String> = [
        "nofail", "_netdev", "user", "nouser", "users", "owner", "noowner",
        "group", "nogroup", "auto", "noauto", "fail",
    ]
    static let userspacePrefixes = [
        "helper=", "user=", "x-", "X-", "comment=", "loop=", "offset=", "sizelimit=",
        "encryption=", "X-mount.", "uhelper=",
    ]
    /// Propagation and bind/move requests never reach a helper through mount(8).
    static let refused: Set<String> = [
        "bind", "rbind", "move", "shared", "rshared", "private", "rprivate",
        "slave", "rslave", "unbindable", "runbindable",
    ]

    /// Classifies `-o`. With `sloppy`, an option aufs does not know is dropped (and named in
    /// `dropped`) instead of failing.
    public static func classify(_ options: String) throws -> HelperOptions {
        var out = HelperOptions()
        guard !options.isEmpty else { return out }
        for opt in options.split(separator: ",", omittingEmptySubsequences: true).map(String.init) {
            if let (set, clear) = VFSFlags.table[opt] {
                out.flags = (out.flags | set) & ~clear
            } else if let f = try HelperFallback.parse(opt) {
                out.fallback = f
                out.userspace.append(opt)
            } else if userspaceNames.contains(opt) || userspacePrefixes.contains(where: { opt.hasPrefix($0) }) {
                out.userspace.append(opt)
            } else if refused.contains(opt) {
                throw HelperError(
                    "mount.aufs: -o \(opt): bind, move and propagation changes are mount(8)'s own; "
                        + "run mount --\(opt.hasPrefix("r") && opt != "rbind" ? String(opt.dropFirst()) : opt) "
                        + "without -t aufs", exit: .usage)
            } else if opt.hasPrefix("si=") {
                out.ignored.append(opt)
            } else {
                // mount(8) puts fstab's options first and the command line's after them: the last
                // branch list given is the one meant.
                if AufsOptions.branchListValue(opt) != nil {
                    out.aufs.removeAll { AufsOptions.branchListValue($0) != nil }
                }
                out.aufs.append(opt)
            }
        }
        return out
    }

    /// Checks the aufs options with aufsctl's parser. With `sloppy`, unknown ones are dropped
    /// and returned; otherwise the first is refused with exit 32 (mount(8)'s "bad option").
    public func parsedAufs(sloppy: Bool) throws -> (options: AufsOptions, dropped: [String]) {
        var kept: [String] = []
        var dropped: [String] = []
        for opt in aufs {
            if AufsOptions.branchListValue(opt) != nil {
                kept.append(opt)
                continue
            }
            var probe = AufsOptions()
            do {
                try probe.add(option: opt)
                kept.append(opt)
            } catch let e as AufsError {
                if sloppy {
                    dropped.append(opt)
                    continue
                }
                throw HelperError("mount.aufs: " + e.message, exit: .mountFailure)
            }
        }
        do {
            var parsed = try AufsOptions.parse(options: kept.joined(separator: ","))
            parsed.readOnly = readOnly
            return (parsed, dropped)
        } catch let e as AufsError {
            throw HelperError("mount.aufs: " + e.message, exit: .mountFailure)
        }
    }

    /// The MS_* names for a message (`MS_RDONLY|MS_NOSUID`).
    public static func flagNames(_ flags: UInt) -> String { MountCall.flagNames(flags) }
}
