// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// One union mount as `aufsctl status` shows it.
public struct UnionMount: Sendable, Codable, Equatable {
    public var target: String
    /// aufs, or overlay for a fallback mount aufsctl made.
    public var filesystem: UnionFilesystem
    /// Top first: `path=perm` as aufs reports them, or overlay's upper (rw) then lowers (ro). In
    /// JSON as BranchEntry objects, the shape every report gives a branch.
    public var branches: [String]
    public var xino: String?
    /// aufs's si id (`/sys/fs/aufs/si_<id>`), when the kernel shows one.
    public var si: String?
    public var workdir: String?
    public var options: String
    /// How it comes back at boot (`systemd-unit NAME` or `fstab`), when `aufsctl persist` recorded it.
    public var persisted: String? = nil
    /// Mounted read-only (the mount's or the superblock's `ro`).
    public var readOnly: Bool = false
}

/// A branch in JSON: its path and aufs permission (`ro+wh`), and, where the report knows it, the
/// filesystem it is on (aufsctl.mount/2, aufsctl.status/2, aufsctl.persist/1).
public struct BranchEntry: Sendable, Codable, Equatable {
    public var path: String
    public var permission: String
    public var filesystem: String?

    public init(path: String, permission: String, filesystem: String? = nil) {
        self.path = path
        self.permission = permission
        self.filesystem = filesystem
    }

    /// From `path=perm` (aufs's own form: a path cannot hold `=`).
    public init(spec: String) {
        let eq = spec.lastIndex(of: "=")
        path = eq.map { String(spec[..<$0]) } ?? spec
        permission = eq.map { String(spec[spec.index(after: $0)...]) } ?? ""
    }

    public var spec: String { permission.isEmpty ? path : path + "=" + permission }
}

extension UnionMount {
    enum CodingKeys: String, CodingKey {
        case target, filesystem, branches, xino, si, workdir, options, persisted, readOnly
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            target: try c.decode(String.self, forKey: .target),
            filesystem: try c.decode(UnionFilesystem.self, forKey: .filesystem),
            branches: try c.decode([BranchEntry].self, forKey: .branches).map(\.spec),
            xino: try c.decodeIfPresent(String.self, forKey: .xino),
            si: try c.decodeIfPresent(String.self, forKey: .si),
            workdir: try c.decodeIfPresent(String.self, forKey: .workdir),
            options: try c.decode(String.self, forKey: .options),
            persisted: try c.decodeIfPresent(String.self, forKey: .persisted),
            readOnly: try c.decodeIfPresent(Bool.self, forKey: .readOnly) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(target, forKey: .target)
        try c.encode(filesystem, forKey: .filesystem)
        try c.encode(branches.map(BranchEntry.init(spec:)), forKey: .branches)
        try c.encodeIfPresent(xino, forKey: .xino)
        try c.encodeIfPresent(si, forKey: .si)
        try c.encodeIfPresent(workdir, forKey: .workdir)
        try c.encode(options, forKey: .options)
        try c.encodeIfPresent(persisted, forKey: .persisted)
        try c.encode(readOnly, forKey: .readOnly)
    }
}

public struct StatusReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.status/2"
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
            options: e.fsOptions, readOnly: Self.readOnly(e))
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
            workdir: Unmounter.option("workdir", in: e.fsOptions), options: e.fsOptions, readOnly: Self.readOnly(e))
    }

    static func readOnly(_ e: MountEntry) -> Bool {
        e.vfsOptions.split(separator: ",").contains("ro") || e.fsOptions.split(separator: ",").contains("ro")
    }
}
