// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `convert --verify`: the merged tree of the source branches against that of the converted ones,
/// each read the way its own filesystem shows it: a read-only mount where the kernel has that
/// filesystem (overlay on this host), else the reference evaluator (aufs here: the kernel lacks it).
extension Conversion {
    /// Where each side of a branch is now: before a commit the source is the branch and the result
    /// `.aufsctl-convert/tree`; after it, the other way round; an unchanged branch is both.
    func sides(_ b: ConvertBranch) throws -> (source: String, result: String) {
        let s = try Staging(branch: b.path)
        let tree = b.path + "/.aufsctl-convert/tree"
        switch s.state {
        case nil: return (b.path, b.path)
        case "staged": return (b.path, tree)
        case "committed": return (tree, b.path)
        case let st?:
            throw AufsError.usage(
                "--verify: \(b.path) is \(st); finish it with --commit or --rollback first")
        }
    }

    func verify(
        _ branches: [ConvertBranch], _ to: UnionFormat, _ prefix: String, _ single: Bool
    ) throws
        -> VerifyReport
    {
        let sides = try branches.map(sides)
        progress("verifying ...")
        var (a, howA) = try view(to.other, sides.map(\.source), branches, prefix, to: to)
        var (b, howB) = try view(to, sides.map(\.result), branches, prefix, to: to)
        var notes: [String] = []
        if (howA.hasPrefix("aufs (kernel") || howB.hasPrefix("aufs (kernel")) && !aufsShowsXattrs() {
            a = a.withoutXattrs()
            b = b.withoutXattrs()
            notes.append(
                "xattrs not compared: this kernel's aufs shows none (built without CONFIG_AUFS_XATTR, as "
                    + "aufs-standalone's config.mk has it); they are kept in the branches")
        }
        let diffs = a.differences(from: b)
        return VerifyReport(
            source: howA, result: howB, equal: diffs.isEmpty, entries: a.entries.count,
            differenceCount: diffs.isEmpty ? 0 : a.differenceCount(from: b), differences: diffs, notes: notes)
    }

    func registered(_ fs: String) -> Bool {
        if let f = filesystems { return f.has(fs) }
        return ProcFilesystems.parse(FileRead.string("/proc/filesystems") ?? "").has(fs)
    }

    /// One side's merged view, and how it was read.
    func view(
        _ format: UnionFormat, _ layers: [String], _ branches: [ConvertBranch], _ prefix: String, to: UnionFormat
    ) throws -> (MergedView, String) {
        let skip = [BranchConverter.container]
        if format == .overlay {
            if !registered("overlay") {
                _ = try? ModuleLoader(root: HostRoot(), syscalls: syscalls).load(module: "overlay")
            }
            if registered("overlay") {
                return (try mounted("overlay", layers, prefix: prefix), "overlay (kernel mount, read-only)")
            }
            let models = try layers.map { try TreeReader.layer($0, skipRoot: skip) }
            return (try evaluate { try OverlayEvaluator.view(models, prefix: prefix) }, "overlay (reference evaluator)")
        }
        // aufs: the branches' permissions, with +wh where a converted lower branch now holds markers.
        let perms = branches.enumerated().map { i, b -> BranchPermission in
            if to == .aufs && b.permission.base != .rw {
                return BranchPermission(base: b.permission.base, attributes: ["wh"])
            }
            return b.permission
        }
        // A fresh aufs mount does not show the pseudo-links an earlier one left (aufs 5.x keeps them
        // in .wh..wh.plnk): those the evaluator shows as the live union did, which the conversion keeps.
        let plinks = zip(layers, perms).contains { l, p in
            guard p.base == .rw, let d = try? Ops.openPathNoFollow(l + "/.wh..wh.plnk") else { return false }
            return (try? DirStream(d).next()) != nil
        }
        if registered("aufs") && !plinks {
            return (try mounted("aufs", layers, perms: perms), "aufs (kernel mount, read-only)")
        }
        let models = try zip(layers, perms).map { l, p in
            AufsEvaluator.Branch(try TreeReader.layer(l, skipRoot: skip), permission: p)
        }
        return (
            try evaluate { try AufsEvaluator.view(models) },
            plinks
                ? "aufs (reference evaluator: unflushed pseudo-links, shown as the live union showed them)"
                : "aufs (reference evaluator: the kernel has no aufs)"
        )
    }

    /// Whether this kernel's aufs shows xattrs at all (CONFIG_AUFS_XATTR is off in aufs-standalone's
    /// config.mk, and then listxattr through aufs gives nothing): a layer whose root has one
    /// trusted.* xattr, mounted alone.
    func aufsShowsXattrs() -> Bool {
        guard let d = try? tempDir() else { return true }
        defer { TreeRemove.remove(d) }
        mkdir(d + "/probe", 0o700)
        guard let fd = try? Ops.openPathNoFollow(d + "/probe"),
            (try? Ops.setXattr(.fd(fd.fd), "trusted.aufsctl-probe", [1], flags: 0)) != nil
        else { return true }
        guard let v = try? mounted("aufs", [d + "/probe"], perms: [BranchPermission(base: .ro)]) else { return true }
        return !(v.entries.first?.xattrs.isEmpty ?? true)
    }

    func tempDir() throws -> String {
        try RuntimeDir.ensurePrivate(RuntimeDir.path, what: "convert --verify")
        var template = Array((RuntimeDir.path + "/verify.XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw AufsError("--verify: cannot create a directory in \(RuntimeDir.path): \(SysErrno(errno))")
        }
        return String(cString: p)
    }

    func evaluate(_ body: () throws -> MergedView) throws -> MergedView {
        do { return try body() } catch let e as EvaluationProblem {
            throw AufsError("--verify: the union cannot be shown at \(e)")
        }
    }

    /// Mounts the layers read-only in a private directory under /run/aufsctl, reads the merged tree
    /// (leaving out the staging area at the root), and unmounts. The layers are named by short
    /// symlinks in that directory, so the mount data stays far below mount(2)'s one page.
    func mounted(
        _ fstype: String, _ layers: [String], prefix: String = "", perms: [BranchPermission] = []
    ) throws
        -> MergedView
    {
        let dir = try tempDir()
        defer { TreeRemove.remove(dir) }
        var names: [String] = []
        for (i, l) in layers.enumerated() {
            symlink(l, dir + "/\(i)")
            names.append("\(i)")
        }
        mkdir(dir + "/e", 0o700)
        mkdir(dir + "/m", 0o700)
        let data: String
        if fstype == "overlay" {
            // (aufs gets its own xino file in this private tmpfs directory, and acl: without xino the
            // hard links of a branch show different inode numbers, without acl no ACL xattrs; seen
            // on aufs 6.1.)
            // A lower-only mount: nothing is written to the layers; an empty bottom layer makes two.
            data =
                "lowerdir=" + (names + ["e"]).joined(separator: ":") + (prefix.hasPrefix("user.") ? ",userxattr" : "")
        } else {
            data =
                "br="
                + zip(names, perms).map { n, pm in
                    n + "=" + (pm.base == .rw || pm.attributes.contains("wh") ? "ro+wh" : "ro")
                }
                .joined(separator: ":") + ",xino=\(dir)/xino,noplink,acl"
        }
        let cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if cwd >= 0 { fchdir(cwd); close(cwd) } }
        guard chdir(dir) == 0 else { throw AufsError("--verify: chdir \(dir): \(SysErrno(errno))") }
        if case .failure(let e) = syscalls.mount(
            source: "aufsctl-verify", target: "m", fstype: fstype, flags: UInt(MS_RDONLY), data: data)
        {
            throw AufsError(
                "--verify: mount -t \(fstype) of the \(layers.count) layer(s) failed: \(e)",
                details: [
                    "mount(\"aufsctl-verify\", \"\(dir)/m\", \"\(fstype)\", MS_RDONLY, \"\(data)\")"
                ])
        }
        defer {
            if case .failure = syscalls.umount2(dir + "/m", flags: 0) { _ = syscalls.umount2(dir + "/m", flags: 2) }
        }
        return try TreeReader.view(dir + "/m", skipRoot: [BranchConverter.container])
    }
}
