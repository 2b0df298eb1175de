// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A branch after validation: canonical absolute path, permission, filesystem.
public struct Branch: Sendable, Equatable, Codable {
    public var path: String
    public var permission: BranchPermission
    public var filesystem: String
    /// An image layer's branch: the image it is (mount/2's one shape of a branch).
    public var image: BranchImageEntry? = nil

    public var spec: String { "\(path)=\(permission)" }
}

/// A validated branch and the directory fd it was checked on (what the kernel is given).
public struct AnchoredBranch: Sendable {
    public var branch: Branch
    public var directory: AnchoredDirectory
    /// The branch as the kernel is given it: `/proc/self/fd/N=perm`.
    public var kernelSpec: String { "\(directory.procPath)=\(branch.permission)" }
}

/// Checks a branch list against the live host before the kernel sees it. Each rule the kernel
/// would enforce silently (or with only a log line) is a clear error here.
public struct BranchValidator {
    public var syscalls: any Syscalls
    public var maxBranches: Int
    /// Paths are resolved against this directory (the caller's cwd).
    public var cwd: String

    public init(syscalls: any Syscalls = LinuxSyscalls(), maxBranches: Int = 127, cwd: String? = nil) {
        self.syscalls = syscalls
        self.maxBranches = maxBranches
        self.cwd = cwd ?? Paths.absolute(".")
    }

    static let forbidden: [(Character, String)] = [
        (":", "':'"), (",", "','"), ("=", "'='"), ("\n", "a newline"), ("\0", "a NUL byte"),
    ]

    /// No byte of a forbidden character: then no forbidden Character either (a cheap first look; the
    /// Character-wise check with its messages runs only when this is false).
    static func clearOfForbiddenBytes(_ s: String) -> Bool {
        !s.utf8.contains {
            $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "=") || $0 == 10 || $0 == 0
        }
    }

    /// Canonicalises `p` (relative to cwd, symlinks resolved) and checks it is an existing directory.
    public func canonicalDirectory(_ p: String, what: String) throws -> String {
        try anchoredDirectory(p, what: what).path
    }

    /// Canonicalises `p` (relative to cwd; the symlinks the user named are followed once, by
    /// realpath), then opens the canonical path from `/` without following any symlink: the fd is
    /// the directory that is checked and that the kernel is given. A component swapped for a
    /// symlink in between is refused, never followed.
    public func anchoredDirectory(_ p: String, what: String) throws -> AnchoredDirectory {
        if p.isEmpty { throw AufsError.usage("\(what): empty path") }
        if p.contains("\0") { throw AufsError.usage("\(what) \"\(p.replacingOccurrencesOfNUL)\": contains a NUL byte") }
        if p.utf8.count >= Int(PATH_MAX) {
            throw AufsError.usage("\(what): path is \(p.utf8.count) bytes; the limit is \(PATH_MAX - 1)")
        }
        let abs = p.hasPrefix("/") ? p : Paths.join(cwd, p)
        let canonical: String
        switch syscalls.realpath(abs) {
        case .success(let c): canonical = c
        case .failure(let e):
            let why: String
            switch e.code {
            case ENOENT: why = "does not exist"
            case ELOOP: why = "has a symlink loop"
            case ENOTDIR: why = "a component of the path is not a directory"
            case EACCES: why = "permission denied"
            case ENAMETOOLONG: why = "path too long"
            default: why = e.description
            }
            throw AufsError.usage("\(what) \(p): \(why); expected an existing directory")
        }
        if let why = SymlinkExposure.foreignLink(on: abs, syscalls) {
            throw AufsError.usage(
                "\(what) \(p): \(why); nothing was done: give the directory it names now (\(canonical)) once you "
                    + "have checked it, or keep other users from writing on the path")
        }
        switch syscalls.anchorDirectory(canonical) {
        case .success(let d): return d
        case .failure(let f) where f.symlink:
            throw AufsError(
                "\(what) \(p): \(f); aufsctl follows no symlink it did not resolve itself, so nothing was done: "
                    + "run it again, and keep other users from renaming entries on the path")
        case .failure(let f) where f.errno.code == ENOTDIR && f.at == canonical:
            throw AufsError.usage("\(what) \(p): not a directory (\(canonical)); expected a directory")
        case .failure(let f):
            throw AufsError.usage("\(what) \(p): cannot open \(f); expected an existing directory")
        }
    }

    public func validate(_ raw: [RawBranch], readOnlyMount: Bool = false) throws -> [Branch] {
        try validateAnchored(raw, readOnlyMount: readOnlyMount).map(\.branch)
    }

    /// `validate`, keeping each branch's directory fd (checked on the fd, given to the kernel).
    public func validateAnchored(_ raw: [RawBranch], readOnlyMount: Bool = false) throws -> [AnchoredBranch] {
        if raw.isEmpty { throw AufsError.usage("no branches given; expected dirs=RW:RO1=ro:...") }
        if raw.count > maxBranches {
            throw AufsError.usage(
                "\(raw.count) branches given; this aufs allows at most \(maxBranches) (CONFIG_AUFS_BRANCH_MAX_*)")
        }
        var out: [Branch] = []
        var anchors: [AnchoredDirectory] = []
        var seen: [[UInt8]: Int] = [:]  // each earlier branch's path, to its index
        var ancestorOf: [[UInt8]: Int] = [:]  // each directory above an earlier branch, to that branch
        for (i, r) in raw.enumerated() {
            let label = "branch \(i) (\(r.path))"
            for (c, name) in Self.forbidden where !Self.clearOfForbiddenBytes(r.path) && r.path.contains(c) {
                throw AufsError.usage(
                    "\(label): the path contains \(name), which aufs cannot escape in a branch list; use a symlink "
                        + "without it"
                )
            }
            let anchor = try anchoredDirectory(r.path, what: "branch \(i)")
            let path = anchor.path
            for (c, name) in Self.forbidden where !Self.clearOfForbiddenBytes(path) && path.contains(c) {
                throw AufsError.usage(
                    "\(label): the resolved path \(path) contains \(name), which aufs cannot escape; use a path "
                        + "without it"
                )
            }
            let kind = FilesystemKind(magic: anchor.fs.magic)
            if let why = kind.refusedAsBranch {
                throw AufsError.usage("\(label): \(path) is on \(kind.name): \(why)")
            }
            var perm: BranchPermission
            if let p = r.permission {
                switch BranchPermission.parse(p) {
                case .success(let v): perm = v
                case .failure(let why):
                    throw AufsError.usage(
                        "\(label): \(why)"
                            + (p.contains("/")
                                ? "; if '=' is part of the path, aufs cannot take it: use a symlink" : ""))
                }
            } else if kind.isReallyReadOnly {
                perm = BranchPermission(base: .rr)
            } else {
                perm = BranchPermission(base: i == 0 && !readOnlyMount ? .rw : .ro)
            }
            if perm.writable && readOnlyMount {
                throw AufsError.usage("\(label): a rw branch on a read-only mount (-o ro); make it ro or drop -o ro")
            }
            if perm.writable && kind.isReallyReadOnly {
                throw AufsError.usage("\(label): \(kind.name) is read-only media; it cannot be a rw branch (use rr)")
            }
            // Paths are bytes: compared as UTF-8, not as Unicode text (where "é" and "e\u{301}" are
            // equal, though they name two directories). Each branch is looked up with its ancestors,
            // not against every earlier branch, so 120 branches cost 120 lookups, not 7,000 comparisons.
            let bytes = Array(path.utf8)
            if let j = seen[bytes] {
                throw AufsError.usage("\(label): duplicate of an earlier branch (\(out[j].path))")
            }
            let ancestors = Self.ancestors(bytes)
            if let j = ancestorOf[bytes] ?? ancestors.lazy.compactMap({ seen[$0] }).first {
                throw AufsError.usage(
                    "\(label): \(path) and \(out[j].path) overlap (one is inside the other); aufs refuses nested "
                        + "branches"
                )
            }
            seen[bytes] = out.count
            for a in ancestors where ancestorOf[a] == nil { ancestorOf[a] = out.count }
            out.append(Branch(path: path, permission: perm, filesystem: kind.name))
            anchors.append(anchor)
        }
        return zip(out, anchors).map { AnchoredBranch(branch: $0, directory: $1) }
    }
}

extension BranchValidator {
    /// The directories above a canonical path: "/a/b/c" gives "/", "/a" and "/a/b"; "/" gives none.
    static func ancestors(_ path: [UInt8]) -> [[UInt8]] {
        guard path.count > 1 else { return [] }
        var out: [[UInt8]] = [[UInt8(ascii: "/")]]
        for i in 1..<path.count where path[i] == UInt8(ascii: "/") { out.append(Array(path[..<i])) }
        return out
    }
}

extension String {
    var replacingOccurrencesOfNUL: String { String(map { $0 == "\0" ? "\u{2400}" : $0 }) }
}
