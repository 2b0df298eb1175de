// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A remount of a live union: mount(8) hands the helper fstab's options (or mountinfo's) again,
/// so the branch list must not be re-sent as `br=`. A changed list becomes the `del=`, `mod=` and
/// `add=` operations that turn the live list into it, packed into as few MS_REMOUNT calls as the
/// page limit allows (aufs applies them left to right).
public struct RemountPlanner: Sendable {
    public var maxDataBytes = AufsCallPlanner.maxDataBytes
    public var maxEntries = AufsCallPlanner.maxEntries

    public init() {}

    /// One branch by canonical path and permission (`rw`, `ro+wh`, ...).
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var permission: String
        public init(path: String, permission: String) {
            self.path = path
            self.permission = permission
        }
        /// `path=perm` as /sys/fs/aufs/si_*/brN shows it.
        public init?(sysfs: String) {
            guard let eq = sysfs.lastIndex(of: "=") else { return nil }
            path = String(sysfs[..<eq])
            permission = String(sysfs[sysfs.index(after: eq)...])
        }
    }

    /// The branch operations that turn `live` into `wanted` (nil `wanted`: the list is unchanged).
    /// A wanted branch without a permission keeps its live one (a new one gets `ro`). Reordering
    /// branches that stay is refused: aufs has no move, and del+add would copy nothing back.
    public func operations(live: [Entry], wanted: [(path: String, permission: String?)]?) throws -> [String] {
        guard let wanted else { return [] }
        let livePaths = live.map(\.path)
        let wantedPaths = wanted.map(\.path)
        var seen = Set<String>()
        for p in wantedPaths where !seen.insert(p).inserted {
            throw HelperError("mount.aufs: remount: \(p) is named twice in the branch list", exit: .mountFailure)
        }
        var ops: [String] = []
        for p in livePaths where !wantedPaths.contains(p) { ops.append("del=" + p) }
        let kept = livePaths.filter { wantedPaths.contains($0) }
        let keptWanted = wantedPaths.filter { livePaths.contains($0) }
        if kept != keptWanted {
            let i = kept.indices.first { kept[$0] != keptWanted[$0] } ?? 0
            throw HelperError(
                "mount.aufs: remount: the branch list changes the order of live branches (\(kept[i]) "
                    + "and \(keptWanted[i])); aufs cannot move a branch of a mounted union: unmount and "
                    + "mount again with the new order", exit: .mountFailure)
        }
        for w in wanted {
            guard let l = live.first(where: { $0.path == w.path }), let perm = w.permission, perm != l.permission
            else { continue }
            ops.append("mod=\(w.path)=\(perm)")
        }
        for (i, w) in wanted.enumerated() where !livePaths.contains(w.path) {
            ops.append("add=\(i):\(w.path)=\(w.permission ?? "ro")")
        }
        if !live.isEmpty && ops.count(where: { $0.hasPrefix("del=") }) == live.count && kept.isEmpty {
            // Deleting every live branch before adding: aufs refuses to delete the last branch.
            let adds = ops.filter { $0.hasPrefix("add=") }
            let dels = ops.filter { $0.hasPrefix("del=") }
            ops = adds.map { $0.replacingFirstAddIndexWithAppend() } + dels
        }
        return ops
    }

    /// The MS_REMOUNT calls: the other options and VFS flags on the first, the branch operations
    /// packed after them, each call within the byte and entry limits. `kernelOperations` (one per
    /// operation, branches as `/proc/self/fd/N`) are what the kernel is given; both forms fit.
    public func plan(
        target: String, flags: UInt, options: [String], operations: [String], kernelOperations: [String]? = nil
    ) throws -> [MountCall] {
        let base = flags | UInt(MS_REMOUNT)
        var calls: [MountCall] = []
        var batch = options.map { ($0, $0) }
        var bytes = options.isEmpty ? 0 : options.joined(separator: ",").utf8.count
        if bytes > maxDataBytes || options.count > maxEntries {
            throw HelperError(
                "mount.aufs: remount options exceed \(maxDataBytes) bytes or \(maxEntries) entries",
                exit: .mountFailure)
        }
        func call() -> MountCall {
            MountCall(
                source: "none", target: target, fstype: "aufs", flags: base,
                data: batch.map(\.0).joined(separator: ","),
                kernelData: kernelOperations == nil ? nil : batch.map(\.1).joined(separator: ","))
        }
        for (i, op) in operations.enumerated() {
            let kernel = kernelOperations?[i] ?? op
            let size = max(op.utf8.count, kernel.utf8.count)
            if size > maxDataBytes {
                throw HelperError(
                    "mount.aufs: remount: \"\(op.prefix(40))...\" alone exceeds \(maxDataBytes) bytes "
                        + "of mount data; use a shorter path (a symlink)", exit: .mountFailure)
            }
            let add = size + (batch.isEmpty ? 0 : 1)
            if bytes + add > maxDataBytes || batch.count + 1 > maxEntries {
                calls.append(call())
                batch = []
                bytes = 0
            }
            bytes += size + (batch.isEmpty ? 0 : 1)
            batch.append((op, kernel))
        }
        if !batch.isEmpty || calls.isEmpty { calls.append(call()) }
        return calls
    }

    /// `op` (`del=P`, `mod=P=perm`, `add=N:P=perm`, `append=P=perm`) with its branch path P
    /// replaced by `name(P)` (a branch's `/proc/self/fd/N`), or unchanged when `name` has none.
    public static func operation(_ op: String, naming name: (String) -> String?) -> String {
        let head: Substring
        var rest: Substring
        if op.hasPrefix("add="), let colon = op.firstIndex(of: ":") {
            head = op[...colon]
            rest = op[op.index(after: colon)...]
        } else if let eq = op.firstIndex(of: "=") {
            head = op[...eq]
            rest = op[op.index(after: eq)...]
        } else {
            return op
        }
        var perm: Substring = ""
        if !op.hasPrefix("del="), let eq = rest.lastIndex(of: "=") {
            perm = rest[eq...]
            rest = rest[..<eq]
        }
        guard let replacement = name(String(rest)) else { return op }
        return head + replacement + perm
    }
}

extension String {
    /// `add=0:/x=rw` -> `append=/x=rw` (order of adds kept).
    fileprivate func replacingFirstAddIndexWithAppend() -> String {
        guard hasPrefix("add="), let colon = firstIndex(of: ":") else { return self }
        return "append=" + self[index(after: colon)...]
    }
}
