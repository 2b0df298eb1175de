// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CConvert
import FoundationEssentials
import Glibc

/// `aufsctl convert`: what to convert, and what to do.
public struct ConvertRequest: Sendable {
    public enum Action: String, Sendable, Codable {
        /// Build the converted trees inside the branches; change nothing in place.
        case stage
        /// List every change; write nothing.
        case dryRun = "dry-run"
        /// Stage afresh (or finish an interrupted commit), then exchange the trees in.
        case commit
        /// Remove a staging, or undo a commit from its journal.
        case rollback
        /// Remove the original trees a commit kept for --rollback.
        case finish
        /// Only compare the merged trees of a staged or committed conversion.
        case verify
    }
    public var to: UnionFormat?
    public var userxattr = false
    public var action: Action
    public var verify = false
    /// `dirs=BRANCHES`, the mount point of a live union, or one branch.
    public var spec: String
    /// Keep every change in the report (JSON, --dry-run); otherwise only counts, so memory stays
    /// flat in the number of files.
    public var listChanges = false

    public init(to: UnionFormat?, action: Action, spec: String, userxattr: Bool = false, verify: Bool = false) {
        self.to = to
        self.action = action
        self.spec = spec
        self.userxattr = userxattr
        self.verify = verify
    }
}

public struct ConvertReport: Sendable, Codable {
    public var schema = "aufsctl.convert/1"
    public var action: ConvertRequest.Action
    /// The format the branches are converted to.
    public var to: UnionFormat?
    /// overlayfs's xattr namespace: `trusted` or `user` (--userxattr).
    public var xattrs: String?
    public var spec: String
    /// The live union given: flushed and unmounted (or, dry run, that would be).
    public var union: String?
    public var branches: [BranchReport] = []
    /// Every change (with --json or --dry-run).
    public var changes: [Change]?
    public var changeCount = 0
    /// How to mount the converted union.
    public var mount: String?
    public var verify: VerifyReport?
    public var notes: [String] = []
    public var exitCode: Int32 = 0
}

public struct BranchReport: Sendable, Codable, Equatable {
    public var path: String
    public var permission: String
    /// unchanged, would change, staged, committed, rolled back, finished, nothing staged
    public var state: String
    public var staging: String?
    public var stats: BranchStats?
}

public struct VerifyReport: Sendable, Codable, Equatable {
    /// How each side was read: `aufs (reference evaluator)`, `overlay (kernel mount)`, ...
    public var source: String
    public var result: String
    public var equal: Bool
    public var entries: Int
    public var differenceCount: Int
    public var differences: [String]
    /// What was not compared, and why.
    public var notes: [String] = []
}

public struct Conversion {
    public var syscalls: any Syscalls
    public var progress: (String) -> Void
    /// Kernel filesystems, for --verify (tests set it: nil reads /proc/filesystems).
    public var filesystems: ProcFilesystems?
    public init(syscalls: any Syscalls = LinuxSyscalls(), progress: @escaping (String) -> Void = { _ in }) {
        self.syscalls = syscalls
        self.progress = progress
    }

    public static let lockPath = RuntimeDir.path + "/convert.lock"

    public func run(_ req: ConvertRequest) throws -> ConvertReport {
        do { return try perform(req) } catch let r as ConvertRefusal {
            throw AufsError.usage(r.description + " (nothing was changed)")
        }
    }

    func perform(_ req: ConvertRequest) throws -> ConvertReport {
        var report = ConvertReport(action: req.action, to: req.to, spec: req.spec)
        let writes = req.action != .dryRun && req.action != .verify
        try refuseIncomplete(req, writes: writes)
        let lock = writes ? try syscalls.lock(Conversion.lockPath, what: "conversions are serialised") : nil
        defer { lock?.release() }
        let (branches, single, union) = try resolve(req)
        if let union { try unmountUnion(union, req, writes: writes, &report) }
        if writes || req.action == .verify { try refuseLive(branches) }
        let to = req.to
        let prefix = req.userxattr ? "user.overlay." : "trusted.overlay."
        report.xattrs = req.userxattr ? "user" : "trusted"
        var changes: [Change] = []
        let keep = req.listChanges || req.action == .dryRun
        let sink: (Change) -> Void = { c in
            if keep { changes.append(c) }
        }
        switch req.action {
        case .dryRun:
            try dryRun(branches, to!, prefix, single, sink, &report)
        case .stage, .commit:
            let staged = try stage(branches, req, to!, prefix, single, sink, &report)
            if req.action == .commit { try commit(staged, &report) }
        case .rollback, .finish, .verify:
            try settle(branches, req.action, &report)
        }
        if keep { report.changes = changes }
        if let to, [.stage, .commit, .dryRun].contains(req.action) {
            report.mount = mountCommand(branches, report.branches, to, req.userxattr)
        }
        if req.verify || req.action == .verify {
            let format = try to ?? journalFormat(branches)
            report.verify = try verify(branches, format, prefix, single)
            if report.verify?.equal == false { report.exitCode = AufsExitCode.failure.rawValue }
        }
        return report
    }

    /// A request missing --to, or one that writes or mounts without root, is refused before anything.
    func refuseIncomplete(_ req: ConvertRequest, writes: Bool) throws {
        if [.stage, .dryRun, .commit].contains(req.action) && req.to == nil {
            throw AufsError.usage("convert \(req.spec): --to overlay or --to aufs is required")
        }
        if (writes || req.verify || req.action == .verify) && syscalls.geteuid() != 0 {
            let what =
                writes
                ? "writes branches (owners, trusted.* xattrs, device nodes) and" : "--verify mounts the unions and"
            throw AufsError("convert \(what) needs root; run it with sudo")
        }
    }

    /// The live union given: flushed and unmounted before its branches are written (a dry run notes it).
    func unmountUnion(_ union: UnionMount, _ req: ConvertRequest, writes: Bool, _ report: inout ConvertReport) throws {
        report.union = union.target
        if writes && req.action != .rollback && req.action != .finish {
            var u = Unmounter(syscalls: syscalls)
            u.flushPseudoLinks = true
            _ = try u.unmount(union.target, lazy: false, force: false)
            report.notes.append(
                "\(union.target): \(union.filesystem == .aufs ? "pseudo-links flushed, " : "")unmounted")
        } else if req.action == .dryRun {
            report.notes.append(
                "\(union.target) is mounted: convert "
                    + (union.filesystem == .aufs ? "flushes its pseudo-links and " : "")
                    + "unmounts it first")
        }
    }

    /// --dry-run: every branch converted with nothing written, its changes counted.
    func dryRun(
        _ branches: [ConvertBranch], _ to: UnionFormat, _ prefix: String, _ single: Bool,
        _ sink: @escaping (Change) -> Void, _ report: inout ConvertReport
    ) throws {
        for (i, b) in branches.enumerated() {
            var n = 0
            let stats = try BranchConverter(
                branches: branches, index: i, to: to, prefix: prefix, single: single,
                report: { c in
                    n += 1; sink(c)
                }
            ).run(src: try Ops.openPathNoFollow(b.path), stage: nil)
            report.changeCount += n
            report.branches.append(
                BranchReport(
                    path: b.path, permission: b.permission.description,
                    state: stats.changes == 0 ? "unchanged" : "would change", stats: stats))
        }
    }

    /// --rollback and --finish act on each branch's staging; --verify reports each one's state as it stands.
    func settle(
        _ branches: [ConvertBranch], _ action: ConvertRequest.Action, _ report: inout ConvertReport
    ) throws {
        for b in branches {
            let s = try Staging(branch: b.path)
            var br = BranchReport(path: b.path, permission: b.permission.description, state: "nothing staged")
            if let st = s.state { br.state = st }
            if action == .verify {
                // Reported as it stands; the comparison follows.
            } else if action == .rollback {
                s.recover()
                br.state = try rollback(s)
            } else {
                s.recover()
                br.state = try finish(s)
            }
            report.branches.append(br)
        }
    }

    func journalFormat(_ branches: [ConvertBranch]) throws -> UnionFormat {
        for b in branches { if let j = try Staging(branch: b.path).journal { return j.to } }
        throw AufsError.usage(
            "--verify: no staged or committed conversion in these branches; give --to to compare them")
    }

    // MARK: what to convert

    /// The branches, top first; whether one branch was given alone; the live union given.
    func resolve(_ req: ConvertRequest) throws -> ([ConvertBranch], Bool, UnionMount?) {
        let spec = req.spec
        for prefix in ["dirs=", "br=", "br:"] where spec.hasPrefix(prefix) {
            let raw = try AufsOptions.parseBranchList(String(spec.dropFirst(prefix.count)))
            var out: [ConvertBranch] = []
            for (i, r) in raw.enumerated() {
                let path = try directory(r.path, what: "branch \(i) (\(r.path))")
                var perm = BranchPermission(base: i == 0 ? .rw : .ro)
                if let p = r.permission {
                    switch BranchPermission.parse(p) {
                    case .success(let v): perm = v
                    case .failure(let why): throw AufsError.usage("\(spec): branch \(r.path)=\(p): \(why)")
                    }
                }
                out.append(ConvertBranch(path: path, permission: perm))
            }
            try refuseOverlap(out)
            return (out, out.count == 1, nil)
        }
        let path = try directory(spec, what: spec)
        if let m = try? StatusReader().union(at: path, xino: false) {
            if let to = req.to, m.filesystem.rawValue == to.rawValue {
                throw AufsError.usage(
                    "\(spec) is a live \(m.filesystem.rawValue) union already; --to \(to.rawValue) converts "
                        + "from \(to.other.rawValue)")
            }
            var out: [ConvertBranch] = []
            for b in m.branches {
                guard let eq = b.lastIndex(of: "=") else { continue }
                let perm = (try? BranchPermission.parse(String(b[b.index(after: eq)...])).get()) ?? .init(base: .ro)
                out.append(ConvertBranch(path: String(b[..<eq]), permission: perm))
            }
            return (out, out.count == 1, m)
        }
        return ([ConvertBranch(path: path, permission: BranchPermission(base: .rw))], true, nil)
    }

    func directory(_ p: String, what: String) throws -> String {
        guard case .success(let c) = syscalls.realpath(Paths.absolute(p)) else {
            throw AufsError.usage("\(what): \(SysErrno.describe(errno)); expected an existing branch directory")
        }
        guard case .success(let st) = syscalls.fileStatus(c, followSymlinks: false), st.isDirectory else {
            throw AufsError.usage("\(what): not a directory; a branch is a directory")
        }
        return c
    }

    func refuseOverlap(_ b: [ConvertBranch]) throws {
        for (i, x) in b.enumerated() {
            for y in b[(i + 1)...] {
                if x.path == y.path { throw AufsError.usage("branch \(x.path) is given twice") }
                if x.path.hasPrefix(y.path + "/") || y.path.hasPrefix(x.path + "/") || x.path == "/" || y.path == "/" {
                    throw AufsError.usage(
                        "branches \(x.path) and \(y.path) nest: the staging inside one would be part of the other; "
                            + "convert them separately")
                }
            }
        }
    }

    /// A branch in use by a live union (aufs or any overlay) is refused, as is one inside a union.
    func refuseLive(_ branches: [ConvertBranch]) throws {
        guard let table = MountTable.read("/proc/self/mountinfo") else { return }
        // Every live union's branches (each read under its shared lock, as status reads them).
        let status = (try? StatusReader().read())?.mounts ?? []
        for b in branches {
            if let m = table.containing(b.path), m.fstype == "aufs" || m.fstype == "overlay" {
                throw AufsError.usage(
                    "\(b.path) is inside the live \(m.fstype) mount on \(m.target): that is the union's view, not a "
                        + "branch; give the branch directories (dirs=...) or the union's mount point")
            }
            for e in table.entries where e.fstype == "aufs" || e.fstype == "overlay" {
                var layers: [String] = []
                if let s = status.first(where: { $0.target == e.target }) {
                    layers = s.branches.map { b in b.lastIndex(of: "=").map { String(b[..<$0]) } ?? b }
                    if let w = s.workdir { layers.append(w) }
                } else {
                    layers = OverlayOptions.layers(e.fsOptions)
                }
                for l in layers where l == b.path || l.hasPrefix(b.path + "/") || b.path.hasPrefix(l + "/") {
                    throw AufsError.usage(
                        "\(b.path) is a branch of the live \(e.fstype) union on \(e.target) (\(l)): converting a "
                            + "mounted branch would change it under the union; unmount it first (aufsctl umount "
                            + "\(e.target)), or give \(e.target) to convert, which flushes and unmounts it")
                }
            }
        }
    }

    // MARK: stage, commit, rollback, finish

    func stage(
        _ branches: [ConvertBranch], _ req: ConvertRequest, _ to: UnionFormat, _ prefix: String, _ single: Bool,
        _ sink: @escaping (Change) -> Void, _ report: inout ConvertReport
    ) throws -> [Staging] {
        let stagings = try branches.map { b in
            let s = try Staging(branch: b.path)
            s.recover()
            return s
        }
        // A commit that stopped part-way is finished with the trees it staged: they were all made
        // from the union before any was exchanged in, and a branch staged again now would be
        // decided against neighbours that are converted already.
        let resuming = stagings.contains { ["committing", "committed", "rolling-back"].contains($0.state ?? "") }
        if resuming {
            guard req.action == .commit else {
                throw AufsError.usage(
                    "\(stagings.first { $0.state != nil }!.branch): a conversion is being committed in these branches; "
                        + "aufsctl convert --commit finishes it, --rollback undoes it")
            }
            return try resumeCommit(branches, stagings, to, &report)
        }
        var made: [Staging] = []
        var toDrive: [Staging] = []
        do {
            for (i, s) in stagings.enumerated() {
                if let staged = try stageBranch(i, branches, s, to, prefix, single, sink, &made, &report) {
                    toDrive.append(staged)
                }
            }
        } catch {
            // Nothing stays half-made: every staging of this run goes.
            for s in made { try? s.remove() }
            throw error
        }
        return toDrive
    }

    /// A commit that stopped part-way: the stagings to drive on to its end (each must convert to `to`);
    /// a leftover staging with no state is removed.
    func resumeCommit(
        _ branches: [ConvertBranch], _ stagings: [Staging], _ to: UnionFormat, _ report: inout ConvertReport
    ) throws -> [Staging] {
        var toDrive: [Staging] = []
        for (b, s) in zip(branches, stagings) {
            var br = BranchReport(path: b.path, permission: b.permission.description, state: "unchanged")
            switch s.state {
            case "committing", "committed", "rolling-back", "staged":
                guard s.journal?.to == to else {
                    throw AufsError.usage(
                        "\(b.path): the conversion being committed is to \(s.journal?.to.rawValue ?? "?"), not "
                            + "\(to.rawValue); finish it with --commit --to \(s.journal?.to.rawValue ?? "?"), or "
                            + "--rollback")
                }
                br.state = "committing"
                br.stats = s.journal?.stats
                br.staging = b.path + "/.aufsctl-convert"
                toDrive.append(s)
            case nil:
                if s.exists { try s.remove() }
            default:
                throw AufsError.usage(
                    "\(b.path): \(s.state!) while other branches of the union are committed; run aufsctl "
                        + "convert --rollback on the union, then convert it again")
            }
            report.branches.append(br)
        }
        return toDrive
    }

    /// Stages branch `i` afresh into `s`; returns the staging when it holds changes to commit (a branch
    /// with none, or on a read-only filesystem with none, is reported unchanged and keeps no staging).
    func stageBranch(
        _ i: Int, _ branches: [ConvertBranch], _ s: Staging, _ to: UnionFormat, _ prefix: String, _ single: Bool,
        _ sink: @escaping (Change) -> Void, _ made: inout [Staging], _ report: inout ConvertReport
    ) throws -> Staging? {
        let b = branches[i]
        var br = BranchReport(path: b.path, permission: b.permission.description, state: "staged")
        if s.state == "finishing" {
            throw AufsError.usage(
                "\(b.path): a finished conversion's old tree is being removed; run aufsctl convert --finish")
        }
        try s.remove()
        progress("staging \(b.path) ...")
        var n = 0
        let count: (Change) -> Void = { c in
            n += 1; sink(c)
        }
        let conv = BranchConverter(branches: branches, index: i, to: to, prefix: prefix, single: single, report: count)
        guard let tree = try s.begin(to: to, prefix: prefix) else {
            let stats = try conv.run(src: s.root, stage: nil)
            if stats.changes > 0 {
                throw AufsError.usage(
                    "\(b.path) is on a read-only filesystem and needs \(stats.changes) change(s) (convert "
                        + "--dry-run lists them); convert a writable copy and build the image from it")
            }
            br.state = "unchanged"
            br.stats = stats
            report.branches.append(br)
            return nil
        }
        made.append(s)
        let stats = try conv.run(src: s.root, stage: tree)
        report.changeCount += n
        br.stats = stats
        if n == 0 {
            try s.remove()
            made.removeLast()
            br.state = "unchanged"
            report.branches.append(br)
            return nil
        }
        try s.complete(stats: stats)
        br.staging = b.path + "/.aufsctl-convert"
        report.branches.append(br)
        return s
    }

    func commit(_ staged: [Staging], _ report: inout ConvertReport) throws {
        // The staged trees on disk before any is exchanged in (a journal fsync commits all metadata
        // on ext4 and xfs, not on btrfs; copied data needs it everywhere). After the exchanges no
        // sync is needed: which side each entry is on is read from the file system on the next run.
        for s in staged { cv_syncfs(s.root.fd) }
        var done: [String] = []
        for s in staged {
            progress("committing \(s.branch) ...")
            do {
                try s.drive(to: .new)
            } catch let e as AufsError {
                let rest = staged.map(\.branch).filter { !done.contains($0) }
                throw AufsError(
                    "commit stopped at \(s.branch): \(e.message)", exitCode: .partial,
                    details: [
                        "committed: \(done.isEmpty ? "none" : done.joined(separator: ", "))",
                        "not committed: \(rest.joined(separator: ", "))",
                        "aufsctl convert --commit SAME-BRANCHES finishes the commit; --rollback undoes it",
                    ])
            }
            done.append(s.branch)
        }
        for i in report.branches.indices where done.contains(report.branches[i].path) {
            report.branches[i].state = "committed"
        }
        if !done.isEmpty {
            report.notes.append(
                "the original trees are kept in BRANCH/.aufsctl-convert for --rollback (visible in the union until "
                    + "aufsctl convert --finish removes them)")
        }
    }

    func rollback(_ s: Staging) throws -> String {
        switch s.state {
        case nil:
            if s.exists { try s.remove() }
            return "nothing staged"
        case "committing", "committed", "rolling-back":
            progress("rolling back \(s.branch) ...")
            try s.drive(to: .old)
            try s.remove()
            return "rolled back"
        case "finishing":
            throw AufsError.usage(
                "\(s.branch): the old tree is being removed (--finish was run); it cannot be rolled back; run "
                    + "aufsctl convert --finish to complete it")
        default:
            try s.remove()
            return "staging removed"
        }
    }

    func finish(_ s: Staging) throws -> String {
        switch s.state {
        case "committed", "finishing":
            try s.setState("finishing")
            try s.remove()
            return "finished"
        case "committing":
            throw AufsError.usage("\(s.branch): the commit is not complete; run aufsctl convert --commit first")
        case nil:
            if s.exists { try s.remove() }
            return "nothing staged"
        default:
            throw AufsError.usage(
                "\(s.branch): nothing is committed (state \(s.state!)); --commit commits it, --rollback removes it")
        }
    }

    // MARK: afterwards

    func mountCommand(
        _ b: [ConvertBranch], _ reports: [BranchReport], _ to: UnionFormat, _ userxattr: Bool
    )
        -> String?
    {
        guard !b.isEmpty else { return nil }
        if to == .aufs {
            let list = b.enumerated().map { i, x -> String in
                if x.permission.base == .rw { return x.path + "=rw" }
                let s = reports.first { $0.path == x.path }?.stats
                let wh = (s.map { $0.whiteouts + $0.opaques } ?? 0) > 0 || x.permission.attributes.contains("wh")
                return x.path + "=" + x.permission.base.rawValue + (wh ? "+wh" : "")
            }
            return "aufsctl mount dirs=\(list.joined(separator: ":")) MOUNTPOINT"
        }
        let top = b[0].permission.base == .rw ? b[0] : nil
        let lowers = (top == nil ? b : Array(b.dropFirst())).map(\.path)
        var o = "lowerdir=" + lowers.map(OverlayOptions.escape).joined(separator: ":")
        if let top { o += ",upperdir=\(OverlayOptions.escape(top.path)),workdir=WORKDIR" }
        if userxattr { o += ",userxattr" }
        if lowers.isEmpty { return nil }
        return "mount -t overlay overlay -o \(o) MOUNTPOINT"
            + (top == nil ? "" : "   (WORKDIR: an empty directory on \(top!.path)'s filesystem, outside it)")
    }
}

/// overlayfs's layer options in mountinfo (`lowerdir=A:B`, `lowerdir+=A`, `upperdir=`, `workdir=`,
/// `datadir+=`), with its backslash escapes; hand-written: mountinfo gives them as one string.
enum OverlayOptions {
    static func layers(_ options: String) -> [String] {
        var out: [String] = []
        for part in split(options, ",") {
            for key in ["lowerdir=", "lowerdir+=", "upperdir=", "workdir=", "datadir+="] where part.hasPrefix(key) {
                let v = String(part.dropFirst(key.count))
                out += (key == "lowerdir=" ? split(v, ":") : [v]).filter { !$0.isEmpty }.map(unescape)
            }
        }
        return out
    }

    static func split(_ s: String, _ sep: Character) -> [String] {
        var out: [String] = []
        var cur = ""
        var esc = false
        for c in s {
            if esc {
                cur.append(c)
                esc = false
            } else if c == "\\" {
                cur.append(c)
                esc = true
            } else if c == sep {
                out.append(cur)
                cur = ""
            } else {
                cur.append(c)
            }
        }
        out.append(cur)
        return out
    }

    static func unescape(_ s: String) -> String {
        var out = ""
        var esc = false
        for c in s {
            if esc {
                out.append(c)
                esc = false
            } else if c == "\\" {
                esc = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            if c == ":" || c == "," || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

extension ConvertReport {

    /// The human report, one line each.
    public var lines: [String] {
        var out: [String] = []
        for b in branches {
            var l = "\(b.path) (\(b.permission)): \(b.state)"
            if let s = b.stats {
                var parts: [String] = []
                for (n, what) in [
                    (s.whiteouts, "whiteout"), (s.opaques, "opaque dir"), (s.pseudoLinks, "pseudo-link"),
                    (s.copied, "copied file"), (s.dropped, "dropped"),
                ] where n > 0 {
                    parts.append("\(n) \(what)\(n == 1 || what == "dropped" ? "" : "s")")
                }
                if b.state != "unchanged" && b.state != "committing" {
                    parts.append("\(s.linked) linked, \(s.directories) directories")
                }
                if !parts.isEmpty { l += ": " + parts.joined(separator: ", ") }
            }
            if let st = b.staging, b.state == "staged" { l += " (in \(st))" }
            out.append(l)
        }
        if let changes, action == .dryRun {
            for c in changes {
                out.append("  \(c.branch)\(c.path == "/" ? "" : c.path): \(c.kind.rawValue): \(c.detail)")
            }
        }
        out += notes
        switch action {
        case .dryRun: out.append("dry run: nothing was written")
        case .stage:
            if branches.contains(where: { $0.state == "staged" }) {
                out.append(
                    "nothing is changed in place: --commit (which stages afresh) exchanges the trees in, --rollback "
                        + "removes the staging, --verify compares the merged trees")
            }
        default: break
        }
        if let mount, action != .dryRun, branches.contains(where: { $0.state == "committed" }) {
            out.append("mount it with: \(mount)")
        } else if let mount, action == .stage || action == .dryRun {
            out.append("after --commit, mount it with: \(mount)")
        }
        if let v = verify {
            out += v.notes.map { "verify: " + $0 }
            if v.equal {
                out.append(
                    "verify: the merged trees are equal (\(v.entries) entries; source: \(v.source); "
                        + "result: \(v.result))"
                )
            } else {
                out.append(
                    "verify: the merged trees differ in \(v.differenceCount) entries (source: \(v.source); result: "
                        + "\(v.result)):")
                out += v.differences.map { "  " + $0 }
            }
        }
        return out
    }
}
