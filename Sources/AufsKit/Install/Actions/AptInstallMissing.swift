// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `apt-get install` of the wanted packages that are missing, and of `linux-headers-KVER` when the
/// kernel's build tree is absent. Undo removes exactly what the install brought in (dependencies
/// included) and the module tree the headers created.
public struct AptInstallMissing: ActionKind {
    public var packages: [String]
    /// The kernel whose headers are wanted when /lib/modules/KVER/build is missing.
    public var kernel: String

    public init(packages: [String], kernel: String) {
        self.packages = packages
        self.kernel = kernel
    }

    var build: String { "/lib/modules/\(kernel)/build" }

    /// The wanted packages that are not installed, then the headers when no build tree exists.
    func missing(_ ctx: InstallContext) async throws -> [String] {
        var missing: [String] = []
        for p in packages {
            let r = try await ctx.run(["dpkg-query", "-W", "-f=${Status}", p])
            if !(r.succeeded && r.stdout.hasSuffix(" installed")) { missing.append(p) }
        }
        if !ctx.fs.isDirectory(ctx.path(build)) { missing.append("linux-headers-\(kernel)") }
        return missing
    }

    static func installed(_ ctx: InstallContext) async throws -> Set<String> {
        Set(try await known(ctx).filter { $0.value }.keys)
    }

    /// Every package dpkg knows (installed, or only its configuration files left): whether installed.
    static func known(_ ctx: InstallContext) async throws -> [String: Bool] {
        let r = try await ctx.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n"])
        var out: [String: Bool] = [:]
        for l in r.stdout.split(separator: "\n") {
            guard let name = l.split(separator: " ").first.map(String.init) else { continue }
            if l.hasSuffix(" installed") { out[name] = true } else if l.hasSuffix(" config-files") { out[name] = false }
        }
        return out
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool { try await missing(ctx).isEmpty }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let missing = try await missing(ctx)
        guard ctx.fs.exists(ctx.path("/usr/bin/apt-get")) else {
            throw AufsError(
                "missing \(missing.joined(separator: " ")) and no apt-get here: install them with the distro's "
                    + "package manager, then run again")
        }
        let tree = "/lib/modules/\(kernel)"
        let treeExisted = ctx.fs.exists(ctx.path(tree))
        let before = try await AptInstallMissing.known(ctx)
        // Journaled first: the tree. The package list is known only afterwards (apt-get remove of a
        // package the archive does not know fails, so it is not guessed ahead).
        if !treeExisted { try ctx.willChange([.removeModuleTree(path: tree)]) }
        try await ctx.checkStreaming(
            ["apt-get", "install", "-y", "--no-install-recommends"] + AptLock.options + missing,
            environment: ["DEBIAN_FRONTEND": "noninteractive"])
        let added = try await AptInstallMissing.installed(ctx).subtracting(before.filter { $0.value }.keys).sorted()
        var undo: [UndoAction] = treeExisted ? [] : [.removeModuleTree(path: tree)]
        // Purged when dpkg had never seen them (the package list is as it was after the undo);
        // removed when their configuration files were there before (they stay, as they were).
        let purge = added.filter { before[$0] == nil }
        let remove = added.filter { before[$0] != nil }
        if !remove.isEmpty { undo.append(.aptRemove(packages: remove)) }
        if !purge.isEmpty { undo.append(.aptPurge(packages: purge)) }
        return undo
    }

    // The same test as `missing`: each wanted package installed, and the build tree; it leaves
    // the list in $aufsctl_missing for the install line.
    var shellDoneTest: String? {
        "{ aufsctl_missing=; for p in \(ShellScript.quote(packages)); do dpkg-query -W -f='${Status}' \"$p\" "
            + "2>/dev/null | grep -q ' installed$' || aufsctl_missing=\"$aufsctl_missing $p\"; done; "
            + "[ -d \(ShellScript.rooted(build)) ] || aufsctl_missing=\"$aufsctl_missing \""
            + "\(ShellScript.quote("linux-headers-" + kernel)); [ -z \"$aufsctl_missing\" ]; }"
    }

    var shellCommands: [String] {
        [
            "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                + "\(ShellScript.quote(AptLock.options)) $aufsctl_missing"
        ]
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] { [.aptPackages] }
}
