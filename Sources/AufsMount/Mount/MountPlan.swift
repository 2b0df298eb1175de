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
    /// The data the kernel is given when it names directories by the fds aufsctl checked
    /// (`/proc/self/fd/N`); `data` names them by path, as a user reads the call.
    public var kernelData: String?
    /// Likewise the target (the mount point's fd, or the union root's for a remount).
    public var kernelTarget: String?

    public init(
        source: String, target: String, fstype: String, flags: UInt, data: String, kernelData: String? = nil,
        kernelTarget: String? = nil
    ) {
        self.source = source
        self.target = target
        self.fstype = fstype
        self.flags = flags
        self.data = data
        self.kernelData = kernelData
        self.kernelTarget = kernelTarget
    }

    public var description: String {
        "mount(\"\(source)\", \"\(target)\", \"\(fstype)\", \(MountCall.flagNames(flags)), \"\(data)\")"
    }

    /// The call exactly as made, when it differs from `description` (fds for paths).
    public var kernelDescription: String? {
        guard kernelData != nil || kernelTarget != nil else { return nil }
        return "mount(\"\(source)\", \"\(kernelTarget ?? target)\", \"\(fstype)\", \(MountCall.flagNames(flags)), "
            + "\"\(kernelData ?? data)\")"
    }

    /// The lines a failure report gives for this call: as read, and as made when they differ.
    func report(_ label: String) -> [String] {
        ["\(label): \(self)"]
            + (kernelDescription.map { ["  made as \($0) (the fds of the directories checked)"] } ?? [])
    }

    /// The MS_* names (`MS_RDONLY|MS_NOSUID`), an unnamed rest in hex; `0` for none.
    public static func flagNames(_ f: UInt) -> String {
        let known: [(UInt, String)] = [
            (UInt(MS_RDONLY), "MS_RDONLY"), (UInt(MS_NOSUID), "MS_NOSUID"),
            (UInt(MS_NODEV), "MS_NODEV"), (UInt(MS_NOEXEC), "MS_NOEXEC"), (UInt(MS_SYNCHRONOUS), "MS_SYNCHRONOUS"),
            (UInt(MS_REMOUNT), "MS_REMOUNT"), (UInt(MS_MANDLOCK), "MS_MANDLOCK"), (UInt(MS_DIRSYNC), "MS_DIRSYNC"),
            (UInt(MS_NOATIME), "MS_NOATIME"), (UInt(MS_NODIRATIME), "MS_NODIRATIME"), (UInt(MS_SILENT), "MS_SILENT"),
            (UInt(MS_RELATIME), "MS_RELATIME"), (UInt(MS_I_VERSION), "MS_I_VERSION"),
            (UInt(MS_STRICTATIME), "MS_STRICTATIME"), (UInt(MS_LAZYTIME), "MS_LAZYTIME"),
        ]
        var names = known.filter { f & $0.0 != 0 }.map(\.1)
        let rest = known.reduce(f) { $0 & ~$1.0 }
        if rest != 0 { names.append("0x" + String(rest, radix: 16)) }
        return names.isEmpty ? "0" : names.joined(separator: "|")
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

    /// `kernelSpecs` (one per branch, `/proc/self/fd/N=perm`) are what the kernel is given instead
    /// of the paths; each call then fits the limits in both forms.
    public func plan(
        branches: [Branch], options: [String], target: String, readOnly: Bool, kernelSpecs: [String]? = nil
    ) throws -> [MountCall] {
        let baseFlags: UInt = (readOnly ? UInt(MS_RDONLY) : 0) | extraFlags
        let optionTail = options.map { "," + $0 }.joined()
        let fixedEntries = options.count
        guard fixedEntries + 1 <= maxEntries else {
            throw AufsError.usage("\(options.count) mount options leave no room for a branch in one call")
        }
        func kernel(_ i: Int) -> String { kernelSpecs?[i] ?? branches[i].spec }
        // The larger of the two forms, so that both fit the limits.
        func size(_ i: Int, prefix: String = "") -> Int {
            max((prefix + branches[i].spec).utf8.count, (prefix + kernel(i)).utf8.count)
        }
        var calls: [MountCall] = []
        var first: [Int] = []
        var firstBytes = "br=".utf8.count + optionTail.utf8.count
        var i = 0
        while i < branches.count {
            let add = size(i) + (first.isEmpty ? 0 : 1)
            if firstBytes + add > maxDataBytes || fixedEntries + first.count + 1 > maxEntries { break }
            first.append(i)
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
                data: "br=" + first.map { branches[$0].spec }.joined(separator: ":") + optionTail,
                kernelData: kernelSpecs == nil ? nil : "br=" + first.map(kernel).joined(separator: ":") + optionTail))
        var batch: [Int] = []
        var batchBytes = 0
        func flush() {
            if batch.isEmpty { return }
            calls.append(
                MountCall(
                    source: "none", target: target, fstype: "aufs", flags: baseFlags | UInt(MS_REMOUNT),
                    data: batch.map { "append=" + branches[$0].spec }.joined(separator: ","),
                    kernelData: kernelSpecs == nil ? nil : batch.map { "append=" + kernel($0) }.joined(separator: ",")))
            batch = []
            batchBytes = 0
        }
        while i < branches.count {
            let opt = "append=" + branches[i].spec
            if size(i, prefix: "append=") > maxDataBytes {
                throw AufsError.usage(
                    "branch \(i) (\(branches[i].path)): \"\(opt.prefix(40))...\" alone exceeds \(maxDataBytes) bytes "
                        + "of mount data; use a shorter path (a symlink)"
                )
            }
            let add = size(i, prefix: "append=") + (batch.isEmpty ? 0 : 1)
            if batchBytes + add > maxDataBytes || batch.count + 1 > maxEntries { flush(); continue }
            batch.append(i)
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
