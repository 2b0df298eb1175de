// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// One mount(2) call, printable the way a user would read it in strace.
public struct MountCall: Sendable, Equatable, Codable, CustomStringConvertible {
    public var source: String
    public var target: String
    public var fstype: String
    public var flags: UInt
    public var data: String

    public var description: String {
        "mount(\"\(source)\", \"\(target)\", \"\(fstype)\", \(MountCall.flagNames(flags)), \"\(data)\")"
    }

    static func flagNames(_ f: UInt) -> String {
        if f == 0 { return "0" }
        var names: [String] = []
        if f & UInt(MS_RDONLY) != 0 { names.append("MS_RDONLY") }
        if f & UInt(MS_REMOUNT) != 0 { names.append("MS_REMOUNT") }
        let rest = f & ~UInt(MS_RDONLY | MS_REMOUNT)
        if rest != 0 { names.append("0x" + String(rest, radix: 16)) }
        return names.joined(separator: "|")
    }
}

/// Splits an aufs mount into calls the kernel takes whole: each data string at most 4095 bytes
/// (the kernel copies one page and cuts the rest silently) and at most `maxEntries` options
/// (aufs parses one call into a one-page table of about 84 entries).
public struct AufsCallPlanner: Sendable {
    public static let maxDataBytes = 4095
    public static let maxEntries = 64

    public var maxDataBytes = AufsCallPlanner.maxDataBytes
    public var maxEntries = AufsCallPlanner.maxEntries
    /// VFS flags (MS_NOSUID, MS_NOATIME, ...) for every call, e.g. from mount.aufs's -o.
    public var extraFlags: UInt = 0

    public init() {}

    public func plan(branches: [Branch], options: [String], target: String, readOnly: Bool) throws -> [MountCall] {
        let baseFlags: UInt = (readOnly ? UInt(MS_RDONLY) : 0) | extraFlags
        let optionTail = options.map { "," + $0 }.joined()
        let fixedEntries = options.count
        guard fixedEntries + 1 <= maxEntries else {
            throw AufsError.usage("\(options.count) mount options leave no room for a branch in one call")
        }
        var calls: [MountCall] = []
        var first: [String] = []
        var firstBytes = "br=".utf8.count + optionTail.utf8.count
        var i = 0
        while i < branches.count {
            let spec = branches[i].spec
            let add = spec.utf8.count + (first.isEmpty ? 0 : 1)
            if firstBytes + add > maxDataBytes || fixedEntries + first.count + 1 > maxEntries { break }
            first.append(spec)
            firstBytes += add
            i += 1
        }
        if first.isEmpty {
            throw AufsError.usage(
                "branch 0 (\(branches.first?.path ?? "")): with the other options the mount data would exceed "
                    + "\(maxDataBytes) bytes; use a shorter path (a symlink)"
            )
        }
        calls.append(
            MountCall(
                source: "none", target: target, fstype: "aufs", flags: baseFlags,
                data: "br=" + first.joined(separator: ":") + optionTail))
        var batch: [String] = []
        var batchBytes = 0
        func flush() {
            if batch.isEmpty { return }
            calls.append(
                MountCall(
                    source: "none", target: target, fstype: "aufs", flags: baseFlags | UInt(MS_REMOUNT),
                    data: batch.joined(separator: ",")))
            batch = []
            batchBytes = 0
        }
        while i < branches.count {
            let opt = "append=" + branches[i].spec
            if opt.utf8.count > maxDataBytes {
                throw AufsError.usage(
                    "branch \(i) (\(branches[i].path)): \"\(opt.prefix(40))...\" alone exceeds \(maxDataBytes) bytes "
                        + "of mount data; use a shorter path (a symlink)"
                )
            }
            let add = opt.utf8.count + (batch.isEmpty ? 0 : 1)
            if batchBytes + add > maxDataBytes || batch.count + 1 > maxEntries { flush(); continue }
            batch.append(opt)
            batchBytes += add
            i += 1
        }
        flush()
        return calls
    }
}

/// Escapes a path for overlayfs's option syntax (`\`, `:` and `,` take a backslash).
public func overlayEscape(_ p: String) -> String {
    var out = ""
    for c in p {
        if c == "\\" || c == ":" || c == "," { out.append("\\") }
        out.append(c)
    }
    return out
}
