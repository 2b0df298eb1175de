// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// One union mount as `aufsctl status` shows it.
public struct UnionMount: Sendable, Codable, Equatable {
    public var target: String
    /// aufs, or overlay for a fallback mount aufsctl made.
    public var filesystem: UnionFilesystem
    /// Top first: `path=perm` as aufs reports them, or overlay's upper (rw) then lowers (ro).
    public var branches: [String]
    public var xino: String?
    /// aufs's si id (`/sys/fs/aufs/si_<id>`), when the kernel shows one.
    public var si: String?
    public var workdir: String?
    public var options: String
    /// How it comes back at boot (`systemd-unit NAME` or `fstab`), when `aufsctl persist` recorded it.
    public var persisted: String? = nil
}

public struct StatusReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.status/1"
    public var mounts: [UnionMount]
}

/// Lists aufs mounts (branches from /sys/fs/aufs/si_*/br*, else from the mount options) and the
/// overlay mounts aufsctl made.
public struct StatusReader {
    public var root: HostRoot
    public init(root: HostRoot = HostRoot()) { self.root = root }

    public func read(target: String? = nil) throws -> StatusReport {
        guard let table = MountTable.read(root.resolve("/proc/self/mountinfo")) else {
            throw AufsError("cannot read /proc/self/mountinfo")
        }
        var mounts: [UnionMount] = []
        for e in table.entries {
            if e.fstype == "aufs" {
                mounts.append(aufsMount(e))
            } else if e.fstype == "overlay" && e.source == OverlayMounter.source {
                mounts.append(overlayMount(e))
            }
        }
        if let target {
            let t = Paths.resolved(target)
            mounts = mounts.filter { $0.target == t }
            if mounts.isEmpty { throw AufsError.usage("\(target): no aufs or aufsctl overlay mount there") }
        }
        return StatusReport(mounts: mounts)
    }

    func aufsMount(_ e: MountEntry) -> UnionMount {
        let opts = e.fsOptions.split(separator: ",").map(String.init)
        let si = opts.first { $0.hasPrefix("si=") }.map { String($0.dropFirst(3)) }
        var branches: [String] = []
        var xino = opts.first { $0.hasPrefix("xino=") }.map { String($0.dropFirst(5)) }
        if let si {
            let dir = root.resolve("/sys/fs/aufs/si_\(si)")
            let names = (FileRead.list(dir) ?? []).filter { $0.hasPrefix("br") && Int($0.dropFirst(2)) != nil }
                .sorted { Int($0.dropFirst(2))! < Int($1.dropFirst(2))! }
            branches = names.compactMap { FileRead.string(dir + "/" + $0)?.trimmingBlanks }
            if let x = FileRead.string(dir + "/xi_path")?.trimmingBlanks, !x.isEmpty { xino = x }
        }
        if branches.isEmpty, let br = opts.first(where: { $0.hasPrefix("br:") || $0.hasPrefix("br=") }) {
            branches = br.dropFirst(3).split(separator: ":").map(String.init)
        }
        return UnionMount(
            target: e.target, filesystem: .aufs, branches: branches, xino: xino, si: si, workdir: nil,
            options: e.fsOptions)
    }

    func overlayMount(_ e: MountEntry) -> UnionMount {
        // Kernels show either lowerdir=A:B (escaped) or, for fsconfig layers, lowerdir+=A per layer.
        var lowers: [String] = []
        for part in Unmounter.splitEscaped(e.fsOptions, by: ",") {
            if part.hasPrefix("lowerdir+=") {
                lowers.append(Unmounter.unescape(String(part.dropFirst("lowerdir+=".count))))
            } else if part.hasPrefix("lowerdir=") {
                lowers += Unmounter.splitEscaped(String(part.dropFirst("lowerdir=".count)), by: ":")
                    .filter { !$0.isEmpty }.map(Unmounter.unescape)
            }
        }
        var branches: [String] = []
        if let u = Unmounter.option("upperdir", in: e.fsOptions) { branches.append(u + "=rw") }
        branches += lowers.map { $0 + "=ro" }
        return UnionMount(
            target: e.target, filesystem: .overlay, branches: branches, xino: nil, si: nil,
            workdir: Unmounter.option("workdir", in: e.fsOptions), options: e.fsOptions)
    }
}
