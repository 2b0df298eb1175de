// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CConvert
import FoundationEssentials
import Glibc

/// The journal of one branch's conversion, `<branch>/.aufsctl-convert/journal.json`. It names the
/// top-level entries whose old and new versions differ, by inode, so which side each entry is on
/// is read from the file system itself: a commit or rollback killed at any point is finished by
/// running it again, and each step (one renameat2) is atomic.
struct ConvertJournal: Codable, Equatable {
    var schema = "aufsctl.convert-journal/1"
    var to: UnionFormat
    var prefix: String
    var branch: String
    /// staging, staged, committing, committed, rolling-back, rolled-back, finishing
    var state: String
    var entries: [JournalEntry] = []
    var rootXattrs: [JournalXattr] = []
    /// The branch root's atime and mtime before the conversion touched it ([sec, nsec] each).
    var rootTimes: [[Int64]] = []
    var stats: BranchStats?
}

struct JournalEntry: Codable, Equatable {
    /// The name, hex (names are bytes).
    var name: String
    /// "dev:ino" of the old and the new entry; nil where that side has no such name.
    var old: String?
    var new: String?
}

struct JournalXattr: Codable, Equatable {
    var name: String
    var old: String?
    var new: String?
}

/// One branch's staging area: `.aufsctl-convert/` (0700, root's) inside the branch, holding the
/// journal and `tree/`, the complete other tree: before a commit the converted one, after it the
/// original. Commit and rollback are one operation run towards either side: each differing
/// top-level entry is exchanged with its counterpart in `tree/` (renameat2 RENAME_EXCHANGE), or
/// moved in or out (RENAME_NOREPLACE); the root's changed xattrs are swapped; the root's times are
/// put back. Staging happens inside the branch because a branch is often a filesystem root, a save
/// file or a partition, where a tree beside it would be on another filesystem (EXDEV) and the
/// branch itself cannot be exchanged (EBUSY).
final class Staging {
    static let treeName = FileName("tree")
    static let journalName = "journal.json"

    let branch: String
    let root: FD
    private(set) var container: FD?
    private(set) var journal: ConvertJournal?

    init(branch: String) throws {
        self.branch = branch
        root = try Ops.openPathNoFollow(branch)
        if let c = Ops.openDirIfPresent(root.fd, BranchConverter.container) {
            try Staging.refuseForeign(c, "\(branch)/.aufsctl-convert")
            container = c
            journal = try readJournal(c)
        } else if let st = Ops.lstat(root.fd, BranchConverter.container) {
            _ = st
            throw AufsError.usage(
                "\(branch)/.aufsctl-convert exists and is not a directory: aufsctl stages conversions there; "
                    + "move it away"
            )
        }
    }

    /// A staging area is root's and closed to others (made 0700); one another user could have made
    /// or written, in a branch they can write, is never read: its journal directs renames as root.
    static func refuseForeign(_ d: FD, _ what: String) throws {
        guard let st = Ops.fstat(d.fd), st.st_uid == geteuid(), st.st_mode & 0o077 == 0 else {
            throw AufsError.usage(
                "\(what) is not a private directory of uid \(geteuid()) (made by another user?); aufsctl convert "
                    + "refuses what others could have written: inspect it and move it away")
        }
    }

    var exists: Bool { container != nil }
    var state: String? { journal?.state }

    func readJournal(_ c: FD) throws -> ConvertJournal? {
        let fd = openat(c.fd, Staging.journalName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT {
                // Left by an older run before its journal existed: empty, or only the journal's temporary.
                if try DirStream(c).all().allSatisfy({ $0.name == FileName(".journal.tmp") }) { return nil }
                throw AufsError.usage(
                    "\(branch)/.aufsctl-convert has no journal but is not empty: it was not left by aufsctl convert; "
                        + "move it away")
            }
            throw AufsError("cannot read \(branch)/.aufsctl-convert/journal.json: \(SysErrno(errno))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 { if errno == EINTR { continue }; throw AufsError("read journal: \(SysErrno(errno))") }
            if n == 0 { break }
            bytes += buf[0..<n]
        }
        do {
            return try JSONDecoder().decode(ConvertJournal.self, from: Data(bytes))
        } catch {
            throw AufsError(
                "\(branch)/.aufsctl-convert/journal.json is not a journal aufsctl can read (\(error)); "
                    + "inspect the directory before removing it")
        }
    }

    /// Writes the journal atomically in the container: a temporary file, fsync, renameat, fsync.
    func save(_ j: ConvertJournal) throws {
        guard let c = container else { return }
        let data = Array(try JSONText.encoder().encode(j))
        let tmp = ".journal.tmp"
        let fd = openat(c.fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 { throw AufsError("\(branch)/.aufsctl-convert: cannot write the journal: \(SysErrno(errno))") }
        var off = 0
        while off < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + off, data.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = SysErrno(errno)
                close(fd)
                throw AufsError("\(branch)/.aufsctl-convert: cannot write the journal: \(e)")
            }
            off += n
        }
        fsync(fd)
        close(fd)
        if renameat(c.fd, tmp, c.fd, Staging.journalName) != 0 {
            throw AufsError("\(branch)/.aufsctl-convert: cannot rename the journal: \(SysErrno(errno))")
        }
        fsync(c.fd)
        journal = j
    }

    // MARK: staging

    /// The root's current atime and mtime.
    func rootTimes() -> [[Int64]] {
        guard let st = Ops.fstat(root.fd) else { return [] }
        return [
            [Int64(st.st_atim.tv_sec), Int64(st.st_atim.tv_nsec)],
            [Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)],
        ]
    }

    func restoreRootTimes(_ t: [[Int64]]) {
        guard t.count == 2 else { return }
        var ts = [
            timespec(tv_sec: Int(t[0][0]), tv_nsec: Int(t[0][1])),
            timespec(tv_sec: Int(t[1][0]), tv_nsec: Int(t[1][1])),
        ]
        futimens(root.fd, &ts)
        if let c = container, let tree = Ops.openDirIfPresent(c.fd, Staging.treeName) { futimens(tree.fd, &ts) }
    }

    /// `.aufsctl-convert.t<atime>.<mtime>`: a staging area being made or removed, named after the
    /// root's times from before it was touched, so that a kill at any point leaves what is needed
    /// to put them back (creating or removing an entry changes the root's mtime).
    static let transientPrefix = Array(".aufsctl-convert.t".utf8)

    static func transientName(_ t: [[Int64]]) -> FileName {
        FileName(".aufsctl-convert.t\(t[0][0]).\(t[0][1]).\(t[1][0]).\(t[1][1])")
    }

    static func isStaging(_ n: FileName) -> Bool { n == BranchConverter.container || n.hasPrefix(transientPrefix) }

    /// Finishes what a killed run left half-made or half-removed: the transient directory goes and
    /// the root's times come back from its name.
    func recover() {
        // (A directory of that name that is not root's private one is left alone: staging refuses it.)
        guard let items = try? DirStream(root).all() else { return }
        for item in items where item.name.hasPrefix(Staging.transientPrefix) {
            guard let d = Ops.openDirIfPresent(root.fd, item.name), (try? Staging.refuseForeign(d, "")) != nil else {
                continue
            }
            let t = item.name.bytes.dropFirst(Staging.transientPrefix.count).split(separator: UInt8(ascii: "."))
                .compactMap { Int64(String(decoding: $0, as: UTF8.self)) }
            TreeRemove.remove(at: root.fd, item.name)
            if t.count == 4 { restoreRootTimes([[t[0], t[1]], [t[2], t[3]]]) }
        }
    }

    /// Makes `.aufsctl-convert` with a journal in state `staging` and an empty `tree/`: built under
    /// the transient name, renamed once the journal holds the root's times. EROFS comes back as
    /// nil: the branch is on a read-only filesystem (the caller converts it dry).
    func begin(to: UnionFormat, prefix: String) throws -> FD? {
        let times = rootTimes()
        let tmp = Staging.transientName(times)
        if Ops.withName(tmp, { mkdirat(root.fd, $0, 0o700) }) != 0 {
            if errno == EROFS { return nil }
            throw AufsError("\(branch): cannot create \(tmp) for the staging: \(SysErrno(errno))")
        }
        container = try Ops.openDir(root.fd, tmp)
        try save(ConvertJournal(to: to, prefix: prefix, branch: branch, state: "staging", rootTimes: times))
        if mkdirat(container!.fd, "tree", 0o700) != 0 {
            throw AufsError("\(branch)/\(tmp): cannot create tree: \(SysErrno(errno))")
        }
        let tree = try Ops.openDir(container!.fd, Staging.treeName)
        let rc = Ops.withName(tmp) { t in Ops.withName(BranchConverter.container) { renameat(root.fd, t, root.fd, $0) }
        }
        if rc != 0 { throw AufsError("\(branch): cannot rename \(tmp) to .aufsctl-convert: \(SysErrno(errno))") }
        restoreRootTimes(times)
        return tree
    }

    static func id(_ st: stat) -> String { "\(st.st_dev):\(st.st_ino)" }

    /// After the tree is built: the entries that differ, the root xattrs that change, state `staged`.
    /// Checks that this filesystem can exchange entries (RENAME_EXCHANGE) before anything relies on it.
    func complete(stats: BranchStats) throws {
        guard var j = journal, let c = container else { return }
        let tree = try Ops.openDir(c.fd, Staging.treeName)
        var old: [FileName: String] = [:]
        var new: [FileName: String] = [:]
        for item in try DirStream(root).all() where !Staging.isStaging(item.name) {
            if let st = Ops.lstat(root.fd, item.name) { old[item.name] = Staging.id(st) }
        }
        for item in try DirStream(tree).all() {
            if let st = Ops.lstat(tree.fd, item.name) { new[item.name] = Staging.id(st) }
        }
        j.entries = Set(old.keys).union(new.keys).sorted().compactMap { n in
            old[n] == new[n] ? nil : JournalEntry(name: Hex.encode(n.bytes), old: old[n], new: new[n])
        }
        let ox = try Ops.xattrs(.fd(root.fd))
        let nx = try Ops.xattrs(.fd(tree.fd))
        j.rootXattrs = Set(ox.keys).union(nx.keys).sorted().compactMap { n in
            ox[n] == nx[n]
                ? nil : JournalXattr(name: Hex.encode(n.bytes), old: ox[n].map(Hex.encode), new: nx[n].map(Hex.encode))
        }
        j.stats = stats
        j.state = "staged"
        try probeExchange(c)
        try save(j)
        restoreRootTimes(j.rootTimes)
    }

    func probeExchange(_ c: FD) throws {
        mkdirat(c.fd, "probe-a", 0o700)
        mkdirat(c.fd, "probe-b", 0o700)
        defer {
            unlinkat(c.fd, "probe-a", AT_REMOVEDIR)
            unlinkat(c.fd, "probe-b", AT_REMOVEDIR)
        }
        if cv_renameat2(c.fd, "probe-a", c.fd, "probe-b", CV_RENAME_EXCHANGE) != 0 {
            throw AufsError.usage(
                "\(branch): this filesystem cannot exchange two entries atomically (renameat2 RENAME_EXCHANGE: "
                    + "\(SysErrno(errno))), which the commit relies on; copy the branch to ext4, xfs, btrfs or tmpfs "
                    + "and convert the copy")
        }
    }

    /// Removes the staging area (a staging, a rolled-back tree, or a finished commit's old tree):
    /// renamed to its transient name first, so a kill on the way leaves the root's times to restore
    /// (recover()); only a kill between the last rmdir and the restore of the times can leave the
    /// root's mtime changed.
    func remove() throws {
        guard container != nil else { return }
        let times = journal?.rootTimes ?? rootTimes()
        let tmp = Staging.transientName(times.count == 2 ? times : [[0, 0], [0, 0]])
        container = nil
        journal = nil
        let rc = Ops.withName(tmp) { t in Ops.withName(BranchConverter.container) { renameat(root.fd, $0, root.fd, t) }
        }
        if rc != 0 { throw AufsError("\(branch): cannot rename .aufsctl-convert to remove it: \(SysErrno(errno))") }
        TreeRemove.remove(at: root.fd, tmp)
        if Ops.lstat(root.fd, tmp) != nil {
            throw AufsError("\(branch)/\(tmp): could not be removed entirely")
        }
        if times.count == 2 { restoreRootTimes(times) }
    }

    /// Marks the staging as going away (finish: the old tree is removed, no rollback from here).
    func setState(_ s: String) throws {
        guard var j = journal else { return }
        j.state = s
        try save(j)
    }

    // MARK: commit and rollback

    enum Side { case old, new }

    /// Makes every differing entry, and the root's xattrs, those of `side`; idempotent, and safe to
    /// run again after a kill at any point.
    func drive(to side: Side) throws {
        guard var j = journal, let c = container else {
            throw AufsError("\(branch): no staged conversion (.aufsctl-convert/journal.json)")
        }
        j.state = side == .new ? "committing" : "rolling-back"
        try save(j)
        let tree = try Ops.openDir(c.fd, Staging.treeName)
        for e in j.entries {
            guard let nb = Hex.decode(e.name) else { throw AufsError("\(branch): journal entry \(e.name) is not hex") }
            try settle(FileName(nb), want: side == .new ? e.new : e.old, alt: side == .new ? e.old : e.new, tree)
        }
        for x in j.rootXattrs {
            guard let nb = Hex.decode(x.name) else { continue }
            let n = FileName(nb)
            let (w, a) = side == .new ? (x.new, x.old) : (x.old, x.new)
            try setXattr(.fd(root.fd), n, w)
            try setXattr(.fd(tree.fd), n, a)
        }
        j.state = side == .new ? "committed" : "rolled-back"
        try save(j)
        restoreRootTimes(j.rootTimes)
    }

    func setXattr(_ t: Ops.XTarget, _ n: FileName, _ hex: String?) throws {
        let cur = try Ops.getXattr(t, n)
        do {
            if let hex, let v = Hex.decode(hex) {
                if cur != v { try Ops.setXattr(t, n, v, flags: cur == nil ? CV_XATTR_CREATE : CV_XATTR_REPLACE) }
            } else if cur != nil {
                try Ops.removeXattr(t, n)
            }
        } catch { throw AufsError("\(branch): root xattr \(n): \(error)") }
    }

    func settle(_ n: FileName, want: String?, alt: String?, _ tree: FD) throws {
        let cur = Ops.lstat(root.fd, n).map(Staging.id)
        let other = Ops.lstat(tree.fd, n).map(Staging.id)
        if cur == want { return }
        var rc: Int32
        if want != nil && alt != nil && cur == alt && other == want {
            rc = Ops.withName(n) { cv_renameat2(root.fd, $0, tree.fd, $0, CV_RENAME_EXCHANGE) }
        } else if want == nil && cur == alt && other == nil {
            rc = Ops.withName(n) { cv_renameat2(root.fd, $0, tree.fd, $0, CV_RENAME_NOREPLACE) }
        } else if alt == nil && cur == nil && other == want {
            rc = Ops.withName(n) { cv_renameat2(tree.fd, $0, root.fd, $0, CV_RENAME_NOREPLACE) }
        } else {
            throw AufsError(
                "\(branch)/\(n): neither the old nor the new entry the journal recorded (found \(cur ?? "none"), "
                    + "staged \(other ?? "none"), expected \(want ?? "none")): the branch changed during the "
                    + "conversion; nothing more was moved: inspect \(branch)/.aufsctl-convert/tree")
        }
        if rc != 0 { throw AufsError("\(branch)/\(n): renameat2: \(SysErrno(errno))") }
    }
}
