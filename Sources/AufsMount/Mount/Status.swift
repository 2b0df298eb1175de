// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

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
    /// Where `branches` (and `xino`) were read: `sysfs` (/sys/fs/aufs/si_<id>) or `mountinfo`.
    public var branchesFrom: String? = nil
    /// Why an aufs union's branches are not from sysfs (its lock was held, not root, ...).
    public var branchesNote: String? = nil
    /// The branches that are image layers aufsctl mounted (root's record; absent when none). In
    /// JSON each is its branch's `image`.
    public var images: [BranchImage]? = nil
}

/// A branch in JSON: its path and aufs permission (`ro+wh`), and, where the report knows it, the
/// filesystem it is on and, for an image layer, the image (aufsctl.mount/2, aufsctl.status/2,
/// aufsctl.persist/1).
public struct BranchEntry: Sendable, Codable, Equatable {
    public var path: String
    public var permission: String
    public var filesystem: String?
    public var image: BranchImageEntry?

    public init(path: String, permission: String, filesystem: String? = nil, image: BranchImageEntry? = nil) {
        self.path = path
        self.permission = permission
        self.filesystem = filesystem
        self.image = image
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
        case target, filesystem, branches, xino, si, workdir, options, persisted, readOnly, branchesFrom, branchesNote
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let entries = try c.decode([BranchEntry].self, forKey: .branches)
        self.init(
            target: try c.decode(String.self, forKey: .target),
            filesystem: try c.decode(UnionFilesystem.self, forKey: .filesystem),
            branches: entries.map(\.spec),
            xino: try c.decodeIfPresent(String.self, forKey: .xino),
            si: try c.decodeIfPresent(String.self, forKey: .si),
            workdir: try c.decodeIfPresent(String.self, forKey: .workdir),
            options: try c.decode(String.self, forKey: .options),
            persisted: try c.decodeIfPresent(String.self, forKey: .persisted),
            readOnly: try c.decodeIfPresent(Bool.self, forKey: .readOnly) ?? false,
            branchesFrom: try c.decodeIfPresent(String.self, forKey: .branchesFrom),
            branchesNote: try c.decodeIfPresent(String.self, forKey: .branchesNote))
        let images = entries.enumerated().compactMap { i, e in e.image.map { BranchImage(index: i, branch: e.path, $0) }
        }
        if !images.isEmpty { self.images = images }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(target, forKey: .target)
        try c.encode(filesystem, forKey: .filesystem)
        let entries = branches.enumerated().map { i, spec in
            var e = BranchEntry(spec: spec)
            e.image = images?.first { $0.index == i }.map(BranchImageEntry.init)
            return e
        }
        try c.encode(entries, forKey: .branches)
        try c.encodeIfPresent(xino, forKey: .xino)
        try c.encodeIfPresent(si, forKey: .si)
        try c.encodeIfPresent(workdir, forKey: .workdir)
        try c.encode(options, forKey: .options)
        try c.encodeIfPresent(persisted, forKey: .persisted)
        try c.encode(readOnly, forKey: .readOnly)
        try c.encodeIfPresent(branchesFrom, forKey: .branchesFrom)
        try c.encodeIfPresent(branchesNote, forKey: .branchesNote)
    }
}

public struct StatusReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.status/2"
    public var mounts: [UnionMount]
}

/// Lists aufs mounts and the overlay mounts aufsctl made, from /proc/self/mountinfo; an aufs
/// union's branches and xino come from its /sys/fs/aufs/si_<id> entries (aufs's default brs=1
/// shows `si=` only in mountinfo), read under the union's shared lock (UnionLocks), else from the
/// mount options (`br:` with brs=0), with a note saying why.
public struct StatusReader {
    public var root: HostRoot
    public var sysfs: AufsSysfs
    public var locks: UnionLocks
    /// How long a reader waits for a union's lock (an unmount or remount holds it) before it
    /// falls back to the mount options.
    public var lockTimeout: Double = 2

    public init(root: HostRoot = HostRoot()) {
        self.root = root
        sysfs = AufsSysfs(root: root)
        locks = UnionLocks(root: root)
    }

    /// After a union was unmounted (or a mount rolled back): once its sysfs directory is gone (the
    /// superblock is dropped, waited for up to `seconds`), the lock file goes too. A union whose
    /// superblock lives on (a lazy detach still in use, a bind mount, another namespace) keeps it;
    /// aufs tears it down later, outside any lock.
    public func releaseAfterUnmount(_ lock: UnionLock, waiting seconds: Double) {
        let deadline = Monotonic.seconds() + seconds
        while sysfs.hasUnion(lock.si) {
            let stillMounted =
                MountTable.read(root.resolve("/proc/self/mountinfo"))?.entries.contains {
                    $0.fstype == "aufs" && StatusReader.si($0) == lock.si
                } ?? false
            if stillMounted || Monotonic.seconds() >= deadline {
                Trace.event("superblock-kept si_\(lock.si)")
                lock.release()
                return
            }
            usleep(10_000)
        }
        Trace.event("superblock-dropped si_\(lock.si)")
        lock.removeFileAndRelease()
    }

    /// Whether a union's sysfs entries are read under its shared lock, or the caller holds it.
    public enum Locking: Sendable { case shared, held }

    /// The unions' mount points (aufs, and the overlays aufsctl made), from mountinfo alone: no
    /// sysfs read and no lock, for what needs only the names (shell completion).
    public func targets() -> [String] {
        ((try? mountTable())?.entries ?? []).filter(StatusReader.isUnion).map(\.target)
    }

    /// `aufsctl status`: every union, or the one at `target` (only its sysfs entries are read).
    public func read(target: String? = nil) throws -> StatusReport {
        var entries = try mountTable().entries.filter(StatusReader.isUnion)
        if let target {
            let t = Paths.resolved(target)
            entries = entries.filter { $0.target == t }
            if entries.isEmpty { throw AufsError.usage("\(target): no aufs or aufsctl overlay mount there") }
        }
        var mounts = entries.compactMap { e in e.fstype == "aufs" ? aufsMount(e, locking: .shared) : overlayMount(e) }
        let records = LayerRecords(root: root)
        for i in mounts.indices {
            let images = BranchImage.of(mounts[i], records: records)
            if !images.isEmpty { mounts[i].images = images }
        }
        if let target, mounts.isEmpty { throw AufsError.usage("\(target): no longer mounted (unmounted meanwhile)") }
        if target == nil && (!root.isHost || geteuid() == 0) {
            // Lock files of unions something other than aufsctl unmounted: a file per union would pile up.
            locks.sweep(keeping: Set(entries.compactMap(StatusReader.si)))
        }
        return StatusReport(mounts: mounts)
    }

    /// The union mounted at `target` (canonical), its own sysfs entries only; nil when neither aufs
    /// nor an aufsctl overlay is mounted there. Without `xino`, `xi_path` is not read.
    public func union(at target: String, xino: Bool = true) throws -> UnionMount? {
        guard let e = try mountTable().entries.last(where: { $0.target == target }), StatusReader.isUnion(e) else {
            return nil
        }
        return e.fstype == "aufs" ? aufsMount(e, locking: .shared, xino: xino) : overlayMount(e)
    }

    /// The aufs union at `target` (canonical) with its lock held exclusively, for a command that
    /// changes it (plink flush); nil when no aufs union is mounted there. The caller releases it.
    public func lockedAufsUnion(
        at target: String, what: String, timeout: Double = 30
    ) throws -> (
        union: UnionMount, lock: UnionLock?
    )? {
        guard let e = try mountTable().entries.last(where: { $0.target == target }), e.fstype == "aufs" else {
            return nil
        }
        let lock = try StatusReader.si(e).flatMap {
            UnionLocks.isValidID($0) ? try locks.exclusive($0, what: what, timeout: timeout) : nil
        }
        guard let m = aufsMount(e, locking: .held) else {
            lock?.release()
            return nil
        }
        return (m, lock)
    }

    /// The overlay mounts aufsctl made (no aufs sysfs read).
    public func overlays() -> [UnionMount] {
        ((try? mountTable())?.entries ?? []).filter { $0.fstype == "overlay" && $0.source == OverlayMounter.source }
            .map(overlayMount)
    }

    func mountTable() throws -> MountTable {
        guard let table = MountTable.read(root.resolve("/proc/self/mountinfo")) else {
            throw AufsError("cannot read /proc/self/mountinfo")
        }
        return table
    }

    static func isUnion(_ e: MountEntry) -> Bool {
        e.fstype == "aufs" || (e.fstype == "overlay" && e.source == OverlayMounter.source)
    }

    /// The si= of an aufs mountinfo entry.
    public static func si(_ e: MountEntry) -> String? {
        e.fsOptions.split(separator: ",").first { $0.hasPrefix("si=") }.map { String($0.dropFirst(3)) }
    }

    /// An aufs union from its mountinfo entry; nil when it was unmounted before its lock was taken.
    /// With `.held` the caller holds the union's lock.
    public func aufsMount(_ e: MountEntry, locking: Locking, xino wantXino: Bool = true) -> UnionMount? {
        let opts = e.fsOptions.split(separator: ",").map(String.init)
        let si = StatusReader.si(e)
        var m = UnionMount(
            target: e.target, filesystem: .aufs, branches: [],
            xino: opts.first { $0.hasPrefix("xino=") }.map { String($0.dropFirst(5)) }, si: si, workdir: nil,
            options: e.fsOptions, readOnly: Self.readOnly(e))
        m.branchesFrom = "mountinfo"
        if let br = opts.first(where: { $0.hasPrefix("br:") || $0.hasPrefix("br=") }) {
            m.branches = br.dropFirst(3).split(separator: ":").map(String.init)  // aufs with brs=0
        }
        guard let si else {
            if m.branches.isEmpty { m.branchesNote = "mountinfo shows no si= for this aufs mount" }
            return m
        }
        guard sysfs.files.exists(root.resolve("/sys/fs/aufs")) else {
            if m.branches.isEmpty { m.branchesNote = "this kernel shows no /sys/fs/aufs" }
            return m
        }
        var lock: UnionLock?
        if locking == .shared {
            if root.isHost && geteuid() != 0 {
                m.branchesNote =
                    "not root: aufsctl reads aufs's sysfs entries only under the union's lock in /run/aufsctl "
                    + "(root's), since reading them while the union is unmounted can crash aufs; run as root"
                return m
            }
            switch locks.shared(si, timeout: lockTimeout) {
            case .success(let l): lock = l
            case .failure(let e):
                m.branchesNote = e.message
                return m
            }
        }
        defer { lock?.release() }
        // Read as late as possible: under the lock, and only while the union still exists.
        guard sysfs.hasUnion(si) else {
            lock?.removeIfUnused()
            return nil
        }
        switch sysfs.branches(si) {
        case .success(let b) where !b.isEmpty:
            m.branches = b
            m.branchesFrom = "sysfs"
        case .success: break  // brs=0: si_<id> holds no br<N>
        case .failure(.absent):
            lock?.removeIfUnused()
            return nil
        case .failure(.unreadable(let why)):
            m.branchesNote = why
            return m
        }
        if wantXino, case .success(let x) = sysfs.xinoPath(si) {
            if let x { m.xino = x } else if m.branchesFrom == "sysfs" { m.xino = nil }  // noxino
        }
        return m
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
        var m = UnionMount(
            target: e.target, filesystem: .overlay, branches: branches, xino: nil, si: nil,
            workdir: Unmounter.option("workdir", in: e.fsOptions), options: e.fsOptions, readOnly: Self.readOnly(e))
        m.branchesFrom = "mountinfo"
        return m
    }

    static func readOnly(_ e: MountEntry) -> Bool {
        e.vfsOptions.split(separator: ",").contains("ro") || e.fsOptions.split(separator: ",").contains("ro")
    }
}
