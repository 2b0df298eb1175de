// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Method kernel-ml-aufs (CentOS 7 / RHEL 7): a mainline kernel with aufs built in, made the
/// GRUB default. Follows the user's walk-through, made robust (AUFS-FACTS section 3).
public enum KernelMLAufsMethod {
    static let package = "kernel-ml-aufs"
    static let rpmQuery = ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}.%{ARCH}\\n", "kernel-ml-aufs"]

    /// yum's error when CentOS 7's mirrors are gone, explained.
    static func explainYum(_ r: CommandResult) -> String? {
        let text = r.stderr + r.stdout
        let eol = [
            "Cannot find a valid baseurl", "Could not retrieve mirrorlist", "mirrorlist.centos.org",
            "Could not resolve host: mirror.centos.org",
        ]
        guard eol.contains(where: { text.contains($0) }) else { return nil }
        let quoted = text.split(separator: "\n").first { l in eol.contains { l.contains($0) } }.map(String.init) ?? ""
        return
            "CentOS 7 is end of life (2024-06-30) and its mirrors are gone (yum: \"\(quoted.trimmingBlanks)\"); point "
            + "the base repos at the vault: sed -i -e 's/^mirrorlist/#mirrorlist/' -e "
            + "'s|^#baseurl=http://mirror.centos.org|baseurl=http://vault.centos.org|' "
            + "/etc/yum.repos.d/CentOS-*.repo"
    }

    /// The installed kernel-ml-aufs release (newest), or nil.
    static func installedKernel(_ ctx: InstallContext) async throws -> String? {
        if let k = ctx.learned["kver"] { return k }
        let r = try await ctx.run(rpmQuery)
        guard r.succeeded, let last = r.stdout.split(separator: "\n").last.map({ $0.trimmingBlanks }),
            KernelRelease(last) != nil
        else { return nil }
        ctx.learned["kver"] = last
        return last
    }

    static func requireKernel(_ ctx: InstallContext) async throws -> String {
        guard let k = try await installedKernel(ctx) else {
            throw AufsError("kernel-ml-aufs is not installed (rpm -q kernel-ml-aufs)")
        }
        return k
    }

    /// Whether a repo file in /etc/yum.repos.d defines the kernel-ml-aufs repo.
    static func repoDefined(_ ctx: InstallContext) -> Bool { !repoFilesNamingKernelMLAufs(ctx).isEmpty }

    /// The repo files with a [..kernel-ml-aufs..] section.
    static func repoFilesNamingKernelMLAufs(_ ctx: InstallContext) -> [String] {
        let dir = ctx.path("/etc/yum.repos.d")
        return (FileRead.list(dir) ?? []).sorted().filter { name in
            guard name.hasSuffix(".repo"), case .success(let b) = FileRead.bytes(dir + "/" + name) else { return false }
            // One entry per section naming kernel-ml-aufs, whatever it sets.
            return !YumRepo.values("gpgcheck", sectionsNaming: "kernel-ml-aufs", in: b).isEmpty
        }
    }

    /// Signatures as the options ask: --no-gpgcheck takes the repo as it is; otherwise every
    /// kernel-ml-aufs section has gpgcheck=1 (and --gpgkey's key).
    static func signaturesAsAsked(_ ctx: InstallContext, _ o: InstallOptions) -> Bool {
        if o.noGpgCheck { return true }
        let files = repoFilesNamingKernelMLAufs(ctx)
        return !files.isEmpty
            && files.allSatisfy { name in
                guard case .success(let b) = FileRead.bytes(ctx.path("/etc/yum.repos.d/" + name)) else { return false }
                return YumRepo.signed(b, sectionsNaming: "kernel-ml-aufs", key: o.gpgKey)
            }
    }

    /// The same in sh: with --gpgkey, awk sets gpgcheck=1 and gpgkey in the kernel-ml-aufs sections;
    /// without it (and without --no-gpgcheck) an unsigned section stops the script (exit 4).
    static func repoSignatureShell(_ o: InstallOptions) -> [String] {
        if o.noGpgCheck { return [": # --no-gpgcheck: the kernel-ml-aufs packages are not signature-checked"] }
        let files = "\"$ROOT\"/etc/yum.repos.d/*.repo"
        guard let key = o.gpgKey else {
            return [
                "for f in \(files); do LC_ALL=C awk '/^[[:space:]]*\\[/ { s = /kernel-ml-aufs/ } s && "
                    + "/^[[:space:]]*gpgcheck[[:space:]]*=/ { v = $0; sub(/^[^=]*=[[:space:]]*/, \"\", v); "
                    + "sub(/[[:space:]\\r]*$/, \"\", v); if (v != \"1\") bad = 1 } s && /^[[:space:]]*\\[/ { seen = 1 "
                    + "} END { exit bad }' \"$f\" || { echo \"$f: a kernel-ml-aufs section does not check signatures; "
                    + "pass --gpgkey URL or --no-gpgcheck\" >&2; exit 4; }; done"
            ]
        }
        // Signed already (every kernel-ml-aufs section: gpgcheck=1, gpgkey=KEY), as YumRepo.signed says: untouched.
        let signedCheck =
            "aufsctl_signed() { key=\(ShellScript.quote(key)) LC_ALL=C awk 'BEGIN { key = ENVIRON[\"key\"] } "
            + "/^[[:space:]]*\\[/ { s = "
            + "/kernel-ml-aufs/; if (s) n++ } s && /^[[:space:]]*gpgcheck[[:space:]]*=/ { v = $0; "
            + "sub(/^[^=]*=[[:space:]]*/, \"\", v); sub(/[[:space:]\\r]*$/, \"\", v); if (v == \"1\") c++; else "
            + "bad = 1 } s && /^[[:space:]]*gpgkey[[:space:]]*=/ { v = $0; sub(/^[^=]*=[[:space:]]*/, \"\", v); "
            + "sub(/[[:space:]\\r]*$/, \"\", v); if (v != key) bad = 1 } END { exit (bad || !c) }' \"$1\"; }"
        return [
            signedCheck,
            "for f in \(files); do grep -q 'kernel-ml-aufs' \"$f\" || continue; tmp=$(mktemp \"$(dirname "
                + "\"$f\")/.$(basename \"$f\").aufsctl-XXXXXX\"); key=\(ShellScript.quote(key)) LC_ALL=C awk "
                + "'BEGIN { key = ENVIRON[\"key\"] } /^[[:space:]]*\\[/ { s = /kernel-ml-aufs/; "
                + " print; if (s) { print \"gpgcheck=1\"; print "
                + "\"gpgkey=\" key }; next } s && /^[[:space:]]*(gpgcheck|gpgkey)[[:space:]]*=/ { next } { print }' "
                + "\"$f\" > \"$tmp\"; if aufsctl_signed \"$f\" || cmp -s \"$tmp\" \"$f\"; then rm -f \"$tmp\"; else "
                + "aufsctl_backup \"$f\"; aufsctl_replace \"$f\" \"$tmp\"; fi; done",
        ]
    }

    /// The GRUB config grub2-mkconfig must write: the live one, through /etc/grub2*.cfg links.
    static func liveGrubConfig(_ ctx: InstallContext, uefi: Bool) -> String {
        let link = uefi ? "/etc/grub2-efi.cfg" : "/etc/grub2.cfg"
        if let target = FileRead.readLink(ctx.path(link)) {
            return target.hasPrefix("/") ? Paths.normalize(target) : Paths.normalize(Paths.dirname(link) + "/" + target)
        }
        return uefi ? "/boot/efi/EFI/centos/grub.cfg" : "/boot/grub2/grub.cfg"
    }

    static func mtime(_ ctx: InstallContext, _ path: String) -> Int? {
        guard case .success(let st) = ctx.syscalls.fileStatus(path, followSymlinks: true) else { return nil }
        return st.mtime
    }

    public static func plan(_ facts: HostFacts, options o: InstallOptions, root: HostRoot) throws -> Plan {
        let uefi = facts.boot.uefi
        let grubValue = o.grubDefault
        let isRepoFile = o.repoURL.hasSuffix(".repo")
        // The kernel that will boot the host is installed with signature checks unless asked not to.
        if !isRepoFile && o.gpgKey == nil && !o.noGpgCheck {
            throw AufsError.usage(
                "--repo-url \(o.repoURL) is a baseurl, so aufsctl writes the repo: pass --gpgkey URL (the key the "
                    + "kernel-ml-aufs packages are signed with), or --no-gpgcheck to install the kernel unsigned"
            )
        }
        let repoValues: [String: String] = [
            "baseurl": o.repoURL, "gpgcheck": o.noGpgCheck ? "0" : "1", "gpgkey": o.noGpgCheck ? "" : (o.gpgKey ?? ""),
        ]
        let gpgTitle =
            o.noGpgCheck
            ? "gpgcheck=0: --no-gpgcheck, packages NOT signature-checked"
            : (o.gpgKey.map { "gpgcheck=1, key \($0)" } ?? "gpgcheck as the .repo says")
        var steps: [Step] = []

        steps.append(
            Step(
                id: "preflight", title: "Check the host: x86_64 and yum", preflight: true,
                isDone: { ctx in
                    if let m = facts.kernel.machine, m != "x86_64" {
                        throw AufsError(
                            "kernel-ml-aufs is built for x86_64 only; this machine is \(m)", exitCode: .blocked)
                    }
                    guard FileRead.exists(ctx.path("/usr/bin/yum")) else {
                        throw AufsError(
                            "no /usr/bin/yum: the kernel-ml-aufs method is for CentOS/RHEL 7", exitCode: .blocked)
                    }
                    return true
                },
                shell: ShellStep(
                    doneTest: nil,
                    commands: [
                        "[ \"$(uname -m)\" = x86_64 ] || { echo 'kernel-ml-aufs is built for x86_64 only' >&2; exit "
                            + "4; }",
                        "command -v yum >/dev/null 2>&1 || { echo 'no yum: this plan is for CentOS/RHEL 7' >&2; exit "
                            + "4; }",
                    ])))

        // yum-config-manager adds a .repo URL; a baseurl is written by aufsctl itself.
        steps.append(
            Step(
                id: "yum-utils", title: "Install yum-utils (yum-config-manager)",
                actions: isRepoFile
                    ? [
                        .command(
                            argv: ["yum", "install", "-y", "yum-utils"],
                            done: .fileExists("/usr/bin/yum-config-manager"),
                            undo: ["yum", "remove", "-y", "yum-utils"])
                    ] : []))

        steps.append(
            Step(
                id: "repo", title: "Add the kernel-ml-aufs yum repo (\(o.repoURL); \(gpgTitle))",
                isDone: { ctx in repoDefined(ctx) && signaturesAsAsked(ctx, o) },
                apply: { ctx in
                    let dir = "/etc/yum.repos.d"
                    var undo: [UndoAction] = []
                    var added: [String] = []
                    if !repoDefined(ctx) {
                        if isRepoFile {
                            let before = Set(FileRead.list(ctx.path(dir)) ?? [])
                            // yum-config-manager names the file after the URL's last component.
                            if let name = o.repoURL.split(separator: "/").last.map(String.init), !before.contains(name)
                            {
                                try ctx.willChange([.removeFile(path: dir + "/" + name)])
                            }
                            try await ctx.check(["yum-config-manager", "--add-repo=\(o.repoURL)"], explain: explainYum)
                            added = Set(FileRead.list(ctx.path(dir)) ?? []).subtracting(before).sorted()
                            undo = added.map { .removeFile(path: dir + "/" + $0) }
                            guard repoDefined(ctx) else {
                                throw AufsError(
                                    "yum-config-manager added \(added.joined(separator: ", ")) but no "
                                        + "[kernel-ml-aufs] repo is defined; the repo host may be gone (its owner "
                                        + "announced a move to Copr: try --repo-url "
                                        + "https://copr.fedorainfracloud.org/coprs/bnied/kernel-ml-aufs/repo/epel-7/"
                                        + "bnied-kernel-ml-aufs-epel-7.repo)"
                                )
                            }
                        } else {
                            let p = dir + "/kernel-ml-aufs.repo"
                            try ctx.willChange([.removeFile(path: p)])
                            try AtomicFile.makeDirectories(ctx.path(dir))
                            try AtomicFile.write(ctx.path(p), try Template.render("kernel-ml-aufs.repo", repoValues))
                            added = ["kernel-ml-aufs.repo"]
                            undo = [.removeFile(path: p)]
                        }
                    }
                    if signaturesAsAsked(ctx, o) { return undo }
                    // The repo (just added, or already there) decides signatures: --gpgkey turns them on
                    // in every kernel-ml-aufs section; otherwise an unsigned repo is refused, and what
                    // this step added is taken away again so a re-run meets the same question.
                    guard let key = o.gpgKey else {
                        for name in added { unlink(ctx.path(dir + "/" + name)) }
                        throw AufsError(
                            "the kernel-ml-aufs repo (\(o.repoURL)) does not check signatures (its [kernel-ml-aufs] "
                                + "section lacks gpgcheck=1): pass --gpgkey URL to check the kernel's signature, or "
                                + "--no-gpgcheck to install it unsigned",
                            exitCode: .blocked)
                    }
                    for name in repoFilesNamingKernelMLAufs(ctx) {
                        let file = dir + "/" + name
                        guard case .success(let bytes) = FileRead.bytes(ctx.path(file)) else { continue }
                        var text = YumRepo.set("gpgcheck", to: "1", sectionsNaming: "kernel-ml-aufs", in: bytes)
                        text = YumRepo.set("gpgkey", to: key, sectionsNaming: "kernel-ml-aufs", in: text)
                        guard text != bytes else { continue }
                        if !added.contains(name) {
                            let u: UndoAction = .restoreFile(path: file, backup: try ctx.backup(file))
                            try ctx.willChange([u])
                            undo.append(u)
                        }
                        try AtomicFile.write(ctx.path(file), text)
                    }
                    return undo
                },
                shell: ShellStep(
                    doneTest: "grep -qs '^\\[.*kernel-ml-aufs.*\\]' \"$ROOT\"/etc/yum.repos.d/*.repo",
                    commands: (isRepoFile
                        ? ["yum-config-manager --add-repo=\(ShellScript.quote(o.repoURL))"]
                        : [
                            "cat > \"$ROOT/etc/yum.repos.d/kernel-ml-aufs.repo\" <<'EOF'",
                            ((try? Template.render("kernel-ml-aufs.repo", repoValues)) ?? "") + "EOF",
                        ])
                        + repoSignatureShell(o))))

        steps.append(
            Step(
                id: "defaultkernel",
                title: "Set DEFAULTKERNEL=kernel-ml-aufs and UPDATEDEFAULT=yes in /etc/sysconfig/kernel",
                actions: [
                    .setAssignments(
                        file: "/etc/sysconfig/kernel", [.init("DEFAULTKERNEL", package), .init("UPDATEDEFAULT", "yes")])
                ],
                uses: []))

        steps.append(
            Step(
                id: "kernel", title: "yum install -y kernel-ml-aufs (never -headers)",
                isDone: { ctx in
                    guard let k = try await installedKernel(ctx) else { return false }
                    try verifyKernel(ctx, k)
                    return true
                },
                apply: { ctx in
                    try ctx.willChange([.command(argv: ["yum", "remove", "-y", package])])
                    _ = try await ctx.checkStreamingExplained(["yum", "install", "-y", package], explain: explainYum)
                    let k = try await requireKernel(ctx)
                    try verifyKernel(ctx, k)
                    return [.command(argv: ["yum", "remove", "-y", package])]
                },
                shell: ShellStep(
                    doneTest: "rpm -q kernel-ml-aufs >/dev/null 2>&1", commands: ["yum install -y kernel-ml-aufs"])))

        steps.append(
            Step(
                id: "grub-default", title: "Set GRUB_DEFAULT=\(grubValue) in /etc/default/grub",
                actions: [.setAssignments(file: "/etc/default/grub", [.init("GRUB_DEFAULT", grubValue)])],
                prelude: ["KVER=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\\n' kernel-ml-aufs | tail -n 1)"],
                uses: []))

        steps.append(
            Step(
                id: "grub-mkconfig", title: "Regenerate the live GRUB config with grub2-mkconfig",
                isDone: { ctx in
                    guard let k = try await installedKernel(ctx) else { return false }
                    let cfg = ctx.path(liveGrubConfig(ctx, uefi: uefi))
                    guard let text = FileRead.string(cfg), text.contains("vmlinuz-\(k)"),
                        let c = mtime(ctx, cfg), let d = mtime(ctx, ctx.path("/etc/default/grub"))
                    else { return false }
                    return c >= d
                },
                apply: { ctx in
                    let live = liveGrubConfig(ctx, uefi: uefi)
                    let undo: [UndoAction] =
                        FileRead.exists(ctx.path(live))
                        ? [.restoreFile(path: live, backup: try ctx.backup(live))] : [.removeFile(path: live)]
                    try ctx.willChange(undo)
                    try await ctx.check(["grub2-mkconfig", "-o", live])
                    return undo
                },
                shell: ShellStep(
                    prelude: [
                        "GRUBCFG=\"$ROOT\(uefi ? "/boot/efi/EFI/centos/grub.cfg" : "/boot/grub2/grub.cfg")\"",
                        "[ -L \"$ROOT\(uefi ? "/etc/grub2-efi.cfg" : "/etc/grub2.cfg")\" ] && GRUBCFG=$(readlink -f "
                            + "\"$ROOT\(uefi ? "/etc/grub2-efi.cfg" : "/etc/grub2.cfg")\")",
                    ],
                    doneTest:
                        "grep -qs \"vmlinuz-$KVER\" \"$GRUBCFG\" && [ ! \"$ROOT/etc/default/grub\" -nt \"$GRUBCFG\" ]",
                    commands: ["aufsctl_backup \"$GRUBCFG\"", "grub2-mkconfig -o \"$GRUBCFG\""])))

        steps.append(
            Step(
                id: "grubby", title: "Make /boot/vmlinuz-KVER the default entry (grubby --set-default)",
                isDone: { ctx in
                    guard let k = try await installedKernel(ctx) else { return false }
                    let r = try await ctx.run(["grubby", "--default-kernel"])
                    return r.succeeded && r.stdout.trimmingBlanks == "/boot/vmlinuz-\(k)"
                },
                apply: { ctx in
                    let k = try await requireKernel(ctx)
                    let before = try await ctx.run(["grubby", "--default-kernel"])
                    let prev = before.stdout.trimmingBlanks
                    let undo: [UndoAction] =
                        before.succeeded && prev.hasPrefix("/boot/")
                        ? [.command(argv: ["grubby", "--set-default", prev])] : []
                    try ctx.willChange(undo)
                    try await ctx.check(["grubby", "--set-default", "/boot/vmlinuz-\(k)"])
                    let after = try await ctx.run(["grubby", "--default-kernel"])
                    guard after.stdout.trimmingBlanks == "/boot/vmlinuz-\(k)" else {
                        throw AufsError(
                            "grubby --default-kernel says \(after.stdout.trimmingBlanks), not /boot/vmlinuz-\(k)")
                    }
                    return undo
                },
                shell: ShellStep(
                    doneTest: "[ \"$(grubby --default-kernel)\" = \"/boot/vmlinuz-$KVER\" ]",
                    commands: [
                        "grubby --set-default \"/boot/vmlinuz-$KVER\"",
                        "[ \"$(grubby --default-kernel)\" = \"/boot/vmlinuz-$KVER\" ]",
                    ])))

        if o.reboot {
            steps.append(
                Step(
                    id: "reboot", title: "Reboot into kernel-ml-aufs",
                    isDone: { _ in false },
                    apply: { ctx in
                        try await ctx.check(["systemctl", "reboot"]); return []
                    },
                    shell: ShellStep(doneTest: nil, commands: ["systemctl reboot"])))
        }
        return Plan(
            method: .kernelMLAufs, target: .package(package), steps: steps, rebootRequired: true,
            afterwards: (o.noGpgCheck
                ? ["the kernel-ml-aufs packages were installed WITHOUT signature checks (--no-gpgcheck)"] : [])
                + [
                    "reboot; afterwards `uname -r` should print the kernel-ml-aufs release and `aufsctl check` should "
                        + "say usable"
                ])
    }

    /// /boot/vmlinuz-KVER exists and /boot/config-KVER builds aufs in.
    static func verifyKernel(_ ctx: InstallContext, _ k: String) throws {
        guard FileRead.exists(ctx.path("/boot/vmlinuz-\(k)")) else {
            throw AufsError("kernel-ml-aufs \(k) is installed but /boot/vmlinuz-\(k) is missing")
        }
        let c = KernelConfig.parse(FileRead.string(ctx.path("/boot/config-\(k)")) ?? "")["CONFIG_AUFS_FS"]
        guard c == "y" || c == "m" else {
            throw AufsError("/boot/config-\(k) has no CONFIG_AUFS_FS=y: this kernel-ml-aufs build does not carry aufs")
        }
    }
}

extension InstallContext {
    /// Streams a long command; on failure adds `explain`'s reading of the output.
    func checkStreamingExplained(_ argv: [String], explain: (CommandResult) -> String?) async throws -> CommandResult {
        do {
            return try await checkStreaming(argv)
        } catch let e as AufsError {
            let r = CommandResult(status: 1, stdout: e.details.joined(separator: "\n"))
            if let why = explain(r) { throw AufsError(e.message + ": " + why, details: e.details) }
            throw e
        }
    }
}
