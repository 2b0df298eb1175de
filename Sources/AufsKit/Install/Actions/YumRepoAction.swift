// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The kernel-ml-aufs yum repo: added by yum-config-manager from a `.repo` URL, or written from
/// Templates/kernel-ml-aufs.repo for a baseurl; then signatures as the options ask (--gpgkey turns
/// gpgcheck=1 on with that key in every kernel-ml-aufs section; an unsigned repo is refused unless
/// --no-gpgcheck, and what this step added is taken away again so a re-run meets the same question).
public struct YumRepoAction: ActionKind {
    public var url: String
    public var gpgKey: String?
    public var noGpgCheck: Bool

    static let directory = "/etc/yum.repos.d"
    var isRepoFile: Bool { url.hasSuffix(".repo") }

    var templateValues: [String: String] {
        ["baseurl": url, "gpgcheck": noGpgCheck ? "0" : "1", "gpgkey": noGpgCheck ? "" : (gpgKey ?? "")]
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        KernelMLAufsMethod.repoDefined(ctx) && KernelMLAufsMethod.signaturesAsAsked(ctx, key: gpgKey, noGpgCheck)
    }

    /// Adds the repo; returns the undo and the names of the files added.
    func add(_ ctx: InstallContext) async throws -> (undo: [UndoAction], added: [String]) {
        let dir = YumRepoAction.directory
        guard isRepoFile else {
            let p = dir + "/kernel-ml-aufs.repo"
            try ctx.willChange([.removeFile(path: p)])
            try ctx.fs.makeDirectories(ctx.path(dir))
            try ctx.fs.write(ctx.path(p), try Template.render("kernel-ml-aufs.repo", templateValues))
            return ([.removeFile(path: p)], ["kernel-ml-aufs.repo"])
        }
        let before = Set(ctx.fs.list(ctx.path(dir)) ?? [])
        // yum-config-manager names the file after the URL's last component.
        if let name = url.split(separator: "/").last.map(String.init), !before.contains(name) {
            try ctx.willChange([.removeFile(path: dir + "/" + name)])
        }
        try await ctx.check(["yum-config-manager", "--add-repo=\(url)"], explain: KernelMLAufsMethod.explainYum)
        let added = Set(ctx.fs.list(ctx.path(dir)) ?? []).subtracting(before).sorted()
        guard KernelMLAufsMethod.repoDefined(ctx) else {
            throw AufsError(
                "yum-config-manager added \(added.joined(separator: ", ")) but no [kernel-ml-aufs] repo is "
                    + "defined; the "
                    + "repo host may be gone (its owner announced a move to Copr: try --repo-url "
                    + "https://copr.fedorainfracloud.org/coprs/bnied/kernel-ml-aufs/repo/epel-7/"
                    + "bnied-kernel-ml-aufs-epel-7.repo)")
        }
        return (added.map { .removeFile(path: dir + "/" + $0) }, added)
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        var (undo, added) = KernelMLAufsMethod.repoDefined(ctx) ? ([], []) : try await add(ctx)
        if KernelMLAufsMethod.signaturesAsAsked(ctx, key: gpgKey, noGpgCheck) { return undo }
        guard let key = gpgKey else {
            for name in added { try? ctx.fs.remove(ctx.path(YumRepoAction.directory + "/" + name)) }
            throw AufsError(
                "the kernel-ml-aufs repo (\(url)) does not check signatures (its [kernel-ml-aufs] section lacks "
                    + "gpgcheck=1): pass --gpgkey URL to check the kernel's signature, or --no-gpgcheck to install it "
                    + "unsigned",
                exitCode: .blocked)
        }
        for name in KernelMLAufsMethod.repoFilesNamingKernelMLAufs(ctx) {
            let file = YumRepoAction.directory + "/" + name
            guard case .success(let bytes) = ctx.fs.read(ctx.path(file)) else { continue }
            var text = YumRepo.set("gpgcheck", to: "1", sectionsNaming: "kernel-ml-aufs", in: bytes)
            text = YumRepo.set("gpgkey", to: key, sectionsNaming: "kernel-ml-aufs", in: text)
            guard text != bytes else { continue }
            if !added.contains(name) {
                let u: UndoAction = .restoreFile(path: file, backup: try ctx.backup(file))
                try ctx.willChange([u])
                undo.append(u)
            }
            try ctx.fs.write(ctx.path(file), text, mode: 0o644)
        }
        return undo
    }

    var shellDoneTest: String? { "grep -qs '^\\[.*kernel-ml-aufs.*\\]' \"$ROOT\"/etc/yum.repos.d/*.repo" }

    var shellCommands: [String] {
        let add =
            isRepoFile
            ? ["yum-config-manager \(ShellScript.quote("--add-repo=" + url))"]
            : [
                "printf '%s' \(ShellScript.quote((try? Template.render("kernel-ml-aufs.repo", templateValues)) ?? "")) "
                    + "| aufsctl_write \"$ROOT/etc/yum.repos.d/kernel-ml-aufs.repo\""
            ]
        return add + KernelMLAufsMethod.repoSignatureShell(key: gpgKey, noGpgCheck: noGpgCheck)
    }
}
