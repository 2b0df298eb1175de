// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// aufs's pseudo-links: a hard-linked file copied up through one name is kept linked to its
/// other names by an entry `<aufs-ino>.<branch-ino>` in `<rw branch>/.wh..wh.plnk`, until a
/// flush makes the copy-up real. The flush follows aufs-util's `auplink MNT flush`: enter
/// maintenance (`si=<id>` to /proc/fs/aufs/plink_maint; only this process and its children may
/// touch the union while the file stays open), chown(-1, -1) each pseudo-linked inode found by
/// walking the union (aufs copies it up as a real hard link), write `clean`, unlink the entries.
public struct PseudoLinks {
    public static let directoryName = ".wh..wh.plnk"
    public static let maintenancePath = "/proc/fs/aufs/plink_maint"

    public var root: HostRoot
    public var syscalls: any Syscalls
    public init(root: HostRoot = HostRoot(), syscalls: any Syscalls = LinuxSyscalls()) {
        self.root = root
        self.syscalls = syscalls
    }

    /// Whether aufs asks for a flush before a remount with this data: branches added, deleted or
    /// changed (`mod=`, e.g. the rw branch to ro), or pseudo-links turned off.
    public static func remountNeedsFlush(_ data: String) -> Bool {
        data.split(separator: ",").contains { o in
            o == "noplink"
                || ["add", "ins", "append", "prepend", "del", "mod", "imod"].contains {
                    o.hasPrefix($0 + "=") || o.hasPrefix($0 + ":")
                }
        }
    }

    /// One entry of a rw branch's `.wh..wh.plnk`.
    public struct Entry: Sendable, Equatable, Codable {
        public var branch: String
        public var name: String
        public var aufsInode: UInt64
        public var branchInode: UInt64
        public var path: String { branch + "/" + PseudoLinks.directoryName + "/" + name }
    }

    public struct Report: Sendable, Equatable, Codable {
        public var schema = "aufsctl.plink/1"
        public var target: String
        public var entries: [Entry]
        /// Union paths that are pseudo-linked (list) or were chowned (flush).
        public var paths: [String]
        /// flush: the entries unlinked.
        public var removed: [String]
        /// Why nothing was done (noplink, no entries).
        public var skipped: String?
    }

    /// The entries of every writable branch (`path=perm` as status shows them), as aufs-util
    /// reads them: rw branches only, names `N.M`.
    public func entries(branches: [String]) -> [Entry] { plinkDirectories(branches).flatMap(\.entries) }

    /// Each rw branch's `.wh..wh.plnk`, opened by fd (the branch with the no-follow walk, the
    /// directory without following a symlink): a branch belongs to a user who could otherwise point
    /// the name elsewhere between the listing and the unlinks.
    func plinkDirectories(_ branches: [String]) -> [(directory: AnchoredDirectory, entries: [Entry])] {
        var out: [(directory: AnchoredDirectory, entries: [Entry])] = []
        for b in branches {
            guard let e = BranchSpec.parse(listed: b), e.permission.base == .rw,
                case .success(let branch) = syscalls.anchorDirectory(root.resolve(e.path)),
                case .success(let dir) = syscalls.openDirectory(in: branch, PseudoLinks.directoryName)
            else { continue }
            var entries: [Entry] = []
            for name in RecursiveRemove.entries(dir.fd).sorted() {
                let parts = name.split(separator: ".", maxSplits: 1)
                guard parts.count == 2, let a = UInt64(parts[0]), let h = UInt64(parts[1]) else { continue }
                entries.append(Entry(branch: e.path, name: name, aufsInode: a, branchInode: h))
            }
            out.append((dir, entries))
        }
        return out
    }

    /// Paths under `union` (not crossing into other mounts, skipping `.wh..wh.plnk`) whose inode
    /// number is one of `inodes`; with `chown`, each is then chowned (-1, -1), all found first (a
    /// copy-up changes what its other names report). By fd from the union's root: each directory
    /// opened relative to its parent without following a symlink, each file chowned relative to
    /// its directory (fchownat, AT_SYMLINK_NOFOLLOW), so a name swapped meanwhile never sends
    /// root's chown, which clears set-user-ID bits, elsewhere.
    public func walk(
        _ union: AnchoredDirectory, inodes: Set<UInt64>, chown: ((String, SysErrno) throws -> Void)? = nil
    ) throws -> [String] {
        var found: [(dir: Int32, name: String, path: String)] = []
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        var pending: [(fd: Int32, path: String)] = [(dup(union.fd), union.path)]
        while let (fd, dir) = pending.popLast() {
            guard fd >= 0 else { continue }
            held.append(fd)
            for name in RecursiveRemove.entries(fd).sorted() where name != PseudoLinks.directoryName {
                let p = dir == "/" ? "/" + name : dir + "/" + name
                var st = stat()
                guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, UInt64(st.st_dev) == union.status.device
                else { continue }
                if st.st_mode & S_IFMT == S_IFDIR {
                    let sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if sub >= 0 { pending.append((sub, p)) }
                } else if inodes.contains(UInt64(st.st_ino)) {
                    found.append((fd, name, p))
                }
            }
        }
        found.sort { $0.path < $1.path }
        if let chown {
            // Nothing changes but aufs copies the file up, which makes the pseudo-link real.
            for f in found where fchownat(f.dir, f.name, UInt32.max, UInt32.max, AT_SYMLINK_NOFOLLOW) != 0 {
                try chown(f.path, SysErrno(errno))
            }
        }
        return found.map(\.path)
    }

    /// The union's root by fd (the no-follow walk of its canonical mount point); on the host it must
    /// be an aufs root.
    func unionRoot(_ union: UnionMount) -> AnchoredDirectory? {
        guard case .success(let d) = syscalls.anchorDirectory(root.resolve(union.target)) else { return nil }
        if root.isHost && d.fs.magic != AUFSCTL_MAGIC_AUFS { return nil }
        return d
    }

    /// `aufsctl plink list`: the entries and the union paths they stand for.
    public func list(_ union: UnionMount) -> Report {
        let e = entries(branches: union.branches)
        let paths = e.isEmpty ? [] : unionRoot(union).flatMap { try? walk($0, inodes: Set(e.map(\.aufsInode))) } ?? []
        return Report(
            target: union.target, entries: e, paths: paths, removed: [],
            skipped: skipReason(union, entries: e))
    }

    func skipReason(_ union: UnionMount, entries: [Entry]) -> String? {
        if union.filesystem != .aufs { return "\(union.target) is an overlay mount: overlayfs has no pseudo-links" }
        if union.options.split(separator: ",").contains("noplink") { return "mounted with noplink" }
        if entries.isEmpty { return "no pseudo-links (\(PseudoLinks.directoryName) is empty on every rw branch)" }
        return nil
    }

    /// Flushes the union's pseudo-links (nothing when there are none). Synchronous on purpose:
    /// aufs lets only the thread that entered maintenance (and its children) touch the union.
    public func flush(_ union: UnionMount) throws -> Report {
        if union.filesystem == .aufs && union.branches.isEmpty, let why = union.branchesNote {
            throw AufsError(
                "cannot flush the pseudo-links of \(union.target): its branches could not be read (\(why)); "
                    + "--no-plink-flush skips the flush")
        }
        let dirs = plinkDirectories(union.branches)
        let e = dirs.flatMap(\.entries)
        if let why = skipReason(union, entries: e) {
            return Report(target: union.target, entries: e, paths: [], removed: [], skipped: why)
        }
        guard let si = union.si else {
            throw AufsError(
                "\(union.target): mountinfo shows no si= for this aufs mount, so its pseudo-links "
                    + "cannot be flushed; unmount with --no-plink-flush to skip the flush")
        }
        let maint = root.resolve(PseudoLinks.maintenancePath)
        let fd = open(maint, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AufsError(
                "cannot open \(PseudoLinks.maintenancePath) to flush the pseudo-links of "
                    + "\(union.target): \(SysErrno(errno)); --no-plink-flush skips the flush")
        }
        defer { close(fd) }  // closing leaves maintenance mode
        guard let top = unionRoot(union) else {
            throw AufsError(
                "pseudo-link flush of \(union.target): cannot open the union's root without following a symlink (or "
                    + "it is not aufs); --no-plink-flush skips the flush")
        }
        try write(fd, "si=" + si, what: "enter maintenance of si=\(si)")
        let chowned = try walk(top, inodes: Set(e.map(\.aufsInode))) { p, err in
            throw AufsError("pseudo-link flush of \(union.target): chown(\(p), -1, -1) failed: \(err)")
        }
        try write(fd, "clean", what: "clean the pseudo-links of si=\(si)")
        var removed: [String] = []
        for (dir, entries) in dirs {
            for entry in entries {
                if unlinkat(dir.fd, entry.name, 0) != 0 && errno != ENOENT {
                    throw AufsError(
                        "pseudo-link flush of \(union.target): cannot remove \(entry.path): \(SysErrno(errno))")
                }
                removed.append(entry.path)
            }
        }
        return Report(target: union.target, entries: e, paths: chowned, removed: removed, skipped: nil)
    }

    private func write(_ fd: Int32, _ s: String, what: String) throws {
        let n = s.withCString { Glibc.write(fd, $0, strlen($0)) }
        if n != s.utf8.count {
            throw AufsError(
                "cannot \(what) through \(PseudoLinks.maintenancePath): "
                    + (n < 0 ? "\(SysErrno(errno))" : "short write"))
        }
    }
}
