// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// The aufs source cloned into `dir` (under the root): a shallow clone of a branch, or one commit
/// fetched and checked out. Only the https/http transports (GIT_ALLOW_PROTOCOL: no file://,
/// ext::, ssh, git://), never submodules; what was cloned (the commit) is the install's provenance.
public struct GitClone: ActionKind {
    public var url: String
    public var ref: SourceRef
    /// The branch came from the kernel (not --source-ref): the repository's heads may name a newer one.
    public var discoverBranch: Bool
    public var kernel: KernelRelease
    public var sublevel: Int?
    public var dir: String
    /// The clone's own export list is checked against this, unless nil (--skip-export-check).
    public var exports: ExportCheck?
    /// A trial build ran first (`--build`): the clone takes the branch it compiled.
    public var afterTrial = false

    static let safe = ["GIT_ALLOW_PROTOCOL": "https:http"]

    func isDone(_ ctx: InstallContext) async throws -> Bool { try DKMSMethod.source(ctx) != nil }

    /// The branch to clone: the committed list may be behind the repository, whose heads decide
    /// (by the same rule).
    func branch(_ ctx: InstallContext, default name: String) async throws -> String {
        guard discoverBranch else { return name }
        let r = try? await ctx.run(["git", "ls-remote", "--heads", url], environment: GitClone.safe)
        guard let r, r.succeeded else {
            ctx.notes.append("git ls-remote \(url) failed (offline?): cloning \(name), chosen from the committed list")
            return name
        }
        let (b, why) = AufsBranch.choose(
            for: kernel, sublevel: sublevel, sublevelSource: nil, heads: AufsBranch.parseHeads(r.stdout))
        guard let b else {
            throw AufsError("\(url): \(why)", exitCode: .blocked, details: ["way out: --source-ref BRANCH"])
        }
        if b.name != name {
            ctx.notes.append("\(url) has \(b.name), newer than \(name) of the committed list: cloned \(b.name)")
        }
        return b.name
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        var chosen = ""
        // The branch the trial build compiled (install --build), else the kernel's or the repository's.
        if case .branch(let name) = ref {
            if let b = ctx.trialBranch { chosen = b } else { chosen = try await branch(ctx, default: name) }
        }
        try ctx.fs.makeDirectories(Paths.dirname(ctx.path(dir)))
        try ctx.willChange([.removeTree(path: dir)])
        if case .commit(let id) = ref {
            try await ctx.check(["git", "init", "-q", dir])
            try await ctx.check(["git", "-C", dir, "remote", "add", "origin", url])
            try await ctx.checkStreaming(
                ["git", "-C", dir, "fetch", "--depth", "1", "--no-recurse-submodules", "origin", id],
                environment: GitClone.safe)
            try await ctx.check(["git", "-C", dir, "checkout", "-q", "--detach", "FETCH_HEAD"])
        } else {
            try await ctx.checkStreaming(
                ["git", "clone", "--depth", "1", "--no-recurse-submodules", "--branch", chosen, url, dir],
                environment: GitClone.safe)
        }
        let head = try await ctx.check(["git", "-C", dir, "rev-parse", "HEAD"]).stdout.trimmingBlanks
        if let id = ref.commit, !head.hasPrefix(id.lowercased()) {
            throw AufsError("\(url): fetched \(head), not the commit \(id) --source-ref asked for", exitCode: .blocked)
        }
        ctx.provenance = "\(url) " + (ref.commit.map { "commit \($0)" } ?? "branch \(chosen)") + " at \(head)"
        _ = try DKMSMethod.source(ctx)
        // The clone carries its own standalone patch: check its exports (refused: the clone's undo
        // is journaled, `aufsctl uninstall` removes it).
        if var exports {
            exports.branch = ref.commit == nil ? chosen : exports.branch
            try exports.check(ctx)
        }
        return [.removeTree(path: dir)]
    }

    var shellDoneTest: String? { "[ -f \(ShellScript.rooted(dir + "/include/uapi/linux/aufs_type.h")) ]" }

    var shellCommands: [String] {
        let d = ShellScript.rooted(dir)
        let env = "GIT_ALLOW_PROTOCOL=https:http"
        switch ref {
        case .commit(let id):
            return [
                "git init -q \(d)",
                "git -C \(d) remote add origin \(ShellScript.quote(url))",
                "\(env) git -C \(d) fetch --depth 1 --no-recurse-submodules origin \(ShellScript.quote(id))",
                "git -C \(d) checkout -q --detach FETCH_HEAD",
            ]
        case .branch(let name) where afterTrial:
            // The trial build's branch ($AUFSCTL_BRANCH), as the binary clones it.
            return [
                "aufsctl_default=\(ShellScript.quote(name))",
                "\(env) git clone --depth 1 --no-recurse-submodules --branch \"${AUFSCTL_BRANCH:-$aufsctl_default}\" "
                    + "\(ShellScript.quote(url)) \(d)",
            ]
        case .branch(let name):
            return [
                "\(env) git clone --depth 1 --no-recurse-submodules --branch \(ShellScript.quote(name)) "
                    + "\(ShellScript.quote(url)) \(d)"
            ]
        }
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] { [.file(dir)] }
}
