// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Method kernel-ml-aufs (CentOS 7 / RHEL 7): a mainline kernel with aufs built in, made the
/// GRUB default. Follows the user's walk-through, made robust (AUFS-FACTS section 3).
public enum KernelMLAufsMethod {
    static let package = "kernel-ml-aufs"
    static let rpmQuery = ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}.%{ARCH}\\n", "kernel-ml-aufs"]
    /// The installed release in sh, as `$KVER` (empty before the install).
    static let shellKVER =
        "KVER=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\\n' kernel-ml-aufs 2>/dev/null | tail -n 1)"

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

    /// The installed kernel-ml-aufs release (newest), or nil; learned once per run.
    static func installedKernel(_ ctx: InstallContext) async throws -> KernelRelease? {
        if let k = ctx.installedKernel { return k }
        let r = try await ctx.run(rpmQuery)
        guard r.succeeded, let last = r.stdout.split(separator: "\n").last.map({ $0.trimmingBlanks }),
            let k = KernelRelease(last)
        else { return nil }
        ctx.installedKernel = k
        return k
    }

    static func requireKernel(_ ctx: InstallContext) async throws -> KernelRelease {
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
        return (ctx.fs.list(dir) ?? []).sorted().filter { name in
            guard name.hasSuffix(".repo"), case .success(let b) = ctx.fs.read(dir + "/" + name) else { return false }
            // One entry per section naming kernel-ml-aufs, whatever it sets.
            return !YumRepo.values("gpgcheck", sectionsNaming: "kernel-ml-aufs", in: b).isEmpty
        }
    }

    /// Signatures as the options ask: --no-gpgcheck takes the repo as it is; otherwise every
    /// kernel-ml-aufs section has gpgcheck=1 (and --gpgkey's key).
    static func signaturesAsAsked(_ ctx: InstallContext, key: String?, _ noGpgCheck: Bool) -> Bool {
        if noGpgCheck { return true }
        let files = repoFilesNamingKernelMLAufs(ctx)
        return !files.isEmpty
            && files.allSatisfy { name in
                guard case .success(let b) = ctx.fs.read(ctx.path("/etc/yum.repos.d/" + name)) else { return false }
                return YumRepo.signed(b, sectionsNaming: "kernel-ml-aufs", key: key)
            }
    }

    /// The same in sh: with --gpgkey, awk sets gpgcheck=1 and gpgkey in the kernel-ml-aufs sections;
    /// without it (and without --no-gpgcheck) an unsigned section stops the script (exit 4).
    static func repoSignatureShell(key: String?, noGpgCheck: Bool) -> [String] {
        if noGpgCheck { return [": # --no-gpgcheck: the kernel-ml-aufs packages are not signature-checked"] }
        let files = "\"$ROOT\"/etc/yum.repos.d/*.repo"
        guard let key else {
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

    public static func plan(_ facts: HostFacts, options o: InstallOptions, root: HostRoot) throws -> Plan {
        // The kernel that will boot the host is installed with signature checks unless asked not to.
        if !o.repoURL.hasSuffix(".repo") && o.gpgKey == nil && !o.noGpgCheck {
            throw AufsError.usage(
                "--repo-url \(o.repoURL) is a baseurl, so aufsctl writes the repo: pass --gpgkey URL (the key the "
                    + "kernel-ml-aufs packages are signed with), or --no-gpgcheck to install the kernel unsigned")
        }
        let s = KernelMLAufsSteps(facts: facts, o: o)
        // Under Secure Boot the kernel comes before DEFAULTKERNEL names it, so that yum's
        // new-kernel-pkg does not make it the default before its signature is checked.
        let first = s.secureBoot ? [s.kernel(), s.defaultKernel()] : [s.defaultKernel(), s.kernel()]
        let steps =
            [s.preflight(), s.yumUtils(), s.repo()] + first + [s.grubDefault(), s.grubMkconfig(), s.grubby()]
        return Plan(
            method: .kernelMLAufs, target: .package(package), steps: steps + (o.reboot ? [s.reboot()] : []),
            rebootRequired: true, afterwards: afterwards(o))
    }

    static func afterwards(_ o: InstallOptions) -> [String] {
        (o.noGpgCheck ? ["the kernel-ml-aufs packages were installed WITHOUT signature checks (--no-gpgcheck)"] : [])
            + [
                "reboot; afterwards `uname -r` should print the kernel-ml-aufs release and `aufsctl check` should say "
                    + "usable"
            ]
    }

    /// /boot/vmlinuz-KVER exists and /boot/config-KVER builds aufs in.
    static func verifyKernel(_ ctx: InstallContext, _ release: KernelRelease) throws {
        let k = release.string
        guard ctx.fs.exists(ctx.path("/boot/vmlinuz-\(k)")) else {
            throw AufsError("kernel-ml-aufs \(k) is installed but /boot/vmlinuz-\(k) is missing")
        }
        let c = KernelConfig.parse(ctx.fs.string(ctx.path("/boot/config-\(k)")) ?? "")["CONFIG_AUFS_FS"]
        guard c == "y" || c == "m" else {
            throw AufsError("/boot/config-\(k) has no CONFIG_AUFS_FS=y: this kernel-ml-aufs build does not carry aufs")
        }
    }
}

extension KernelMLAufsMethod {
    static let unsignedWaysOut = [
        "way out: sign it with a key shim trusts (sbsign or pesign, the key enrolled with mokutil --import), then "
            + "install again",
        "way out: --allow-unsigned-kernel, and boot it with Secure Boot turned off in the firmware",
        "way out: `aufsctl mount --fallback overlay ...` on the running kernel",
    ]

    /// Secure Boot: shim and GRUB boot only a signed image, so an unsigned one is not made the default.
    static func verifySigned(_ ctx: InstallContext, _ release: KernelRelease, allow: Bool) throws {
        let image = "/boot/vmlinuz-\(release.string)"
        let s = KernelImageSignature.read(image, root: ctx.root)
        if s.signed == true {
            ctx.notes.append(
                "Secure Boot: \(image) is signed by \(s.signers.joined(separator: "; ")) (whether shim trusts that "
                    + "signer is shim's to decide at boot)")
            return
        }
        let why = s.problem.map { "its signature cannot be read (\($0))" } ?? "it has no signature at all"
        if allow {
            // It asks something of the user before the reboot: a next step, not a note.
            ctx.nextSteps.append(
                "turn Secure Boot off in the firmware before the reboot: \(image) will not boot under Secure Boot: "
                    + "\(why); made the GRUB default anyway (--allow-unsigned-kernel)")
            return
        }
        throw AufsError(
            "\(image) will not boot under Secure Boot: \(why), and shim refuses an unsigned kernel; aufsctl does not "
                + "make it the GRUB default", exitCode: .blocked, details: unsignedWaysOut)
    }

    /// The same in sh, where the binary cannot run (CentOS 7): `pesign -S` lists the image's signatures.
    static func signedShell(allow: Bool) -> [String] {
        let image = "\"$ROOT/boot/vmlinuz-$KVER\""
        let unsigned =
            allow
            ? "echo \"warning: /boot/vmlinuz-$KVER will not boot under Secure Boot: it has no signature; made the "
                + "GRUB default anyway (--allow-unsigned-kernel)\" >&2"
            : "{ echo \"/boot/vmlinuz-$KVER will not boot under Secure Boot: it has no signature, and shim refuses an "
                + "unsigned kernel; aufsctl does not make it the GRUB default\" >&2; "
                + unsignedWaysOut.map { "echo \(ShellScript.quote($0)) >&2; " }.joined() + "exit 4; }"
        return [
            shellKVER,
            "command -v pesign >/dev/null 2>&1 || { echo "
                + ShellScript.quote(
                    "Secure Boot: pesign reads the kernel image's signature: yum install -y pesign, or pass "
                        + "--allow-unsigned-kernel") + " >&2; exit 4; }",
            // pesign's list_signatures prints one of these two when the image has no usable signature.
            "if pesign -S -i \(image) 2>&1 | grep -Eq 'No signatures found|No certificate list found'; then "
                + "\(unsigned); fi",
        ]
    }
}

extension InstallContext {
    /// Modification time of a path (seconds), or nil.
    func mtime(_ path: String) -> Int? {
        guard case .success(let st) = syscalls.fileStatus(path, followSymlinks: true) else { return nil }
        return st.mtime
    }
}

/// The steps of the kernel-ml-aufs method, one function each, over the inputs they share.
struct KernelMLAufsSteps {
    let facts: HostFacts
    let o: InstallOptions
    let package = KernelMLAufsMethod.package
    var secureBoot: Bool { facts.boot.secureBoot == .enabled }

    func preflight() -> Step {
        let x86 = Preflight(
            .machine("x86_64", have: facts.kernel.machine, why: "kernel-ml-aufs is built for x86_64 only"))
        let yum = Preflight(.program(path: "/usr/bin/yum", why: "the kernel-ml-aufs method is for CentOS/RHEL 7"))
        return Step(
            id: "preflight", title: "Check the host: x86_64 and yum", actions: [.preflight(x86), .preflight(yum)])
    }

    /// yum-config-manager adds a .repo URL; a baseurl is written by aufsctl itself.
    func yumUtils() -> Step {
        let install = CommandAction(
            ["yum", "install", "-y", "yum-utils"], done: .fileExists("/usr/bin/yum-config-manager"),
            undo: .command(argv: ["yum", "remove", "-y", "yum-utils"]))
        return Step(
            id: "yum-utils", title: "Install yum-utils (yum-config-manager)",
            actions: o.repoURL.hasSuffix(".repo") ? [.command(install)] : [])
    }

    func repo() -> Step {
        let gpg =
            o.noGpgCheck
            ? "gpgcheck=0: --no-gpgcheck, packages NOT signature-checked"
            : (o.gpgKey.map { "gpgcheck=1, key \($0)" } ?? "gpgcheck as the .repo says")
        return Step(
            id: "repo", title: "Add the kernel-ml-aufs yum repo (\(o.repoURL); \(gpg))",
            actions: [.yumRepo(.init(url: o.repoURL, gpgKey: o.gpgKey, noGpgCheck: o.noGpgCheck))])
    }

    func defaultKernel() -> Step {
        let edit = SetAssignments(
            file: "/etc/sysconfig/kernel", [.init("DEFAULTKERNEL", package), .init("UPDATEDEFAULT", "yes")])
        return Step(
            id: "defaultkernel",
            title: "Set DEFAULTKERNEL=kernel-ml-aufs and UPDATEDEFAULT=yes in /etc/sysconfig/kernel",
            actions: [.setAssignments(edit)], uses: [])
    }

    func kernel() -> Step {
        let install = CommandAction(
            ["yum", "install", "-y", package], done: .kernelMLAufsInstalled,
            undo: .command(argv: ["yum", "remove", "-y", package]), streaming: true)
        let signed: [StepAction] =
            secureBoot ? [.preflight(.init(.installedKernelSigned(allowUnsigned: o.allowUnsignedKernel)))] : []
        return Step(
            id: "kernel",
            title: "yum install -y kernel-ml-aufs (never -headers)"
                + (secureBoot ? "; Secure Boot: its /boot/vmlinuz must be signed" : ""),
            actions: [.command(install), .preflight(.init(.installedKernelCarriesAufs))] + signed)
    }

    func grubDefault() -> Step {
        Step(
            id: "grub-default", title: "Set GRUB_DEFAULT=\(o.grubDefault) in /etc/default/grub",
            actions: [.setAssignments(.init(file: "/etc/default/grub", [.init("GRUB_DEFAULT", o.grubDefault)]))],
            prelude: [KernelMLAufsMethod.shellKVER], uses: [])
    }

    func grubMkconfig() -> Step {
        let grub = GrubMkconfig(uefi: facts.boot.uefi)
        return Step(
            id: "grub-mkconfig", title: "Regenerate the live GRUB config with grub2-mkconfig",
            actions: [.grubMkconfig(grub)], prelude: grub.shellPrelude)
    }

    func grubby() -> Step {
        Step(
            id: "grubby", title: "Make /boot/vmlinuz-KVER the default entry (grubby --set-default)",
            actions: [.grubbyDefault(.init())])
    }

    func reboot() -> Step {
        Step(
            id: "reboot", title: "Reboot into kernel-ml-aufs",
            actions: [.command(.init(["systemctl", "reboot"], done: .never, undo: nil))])
    }
}
