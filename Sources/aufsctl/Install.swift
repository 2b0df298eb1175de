// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import CLinuxShims
import Glibc

struct Install: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Make aufs available: kernel-ml-aufs (CentOS 7), DKMS (Debian), or Ubuntu's extra modules.",
        discussion: """
            A plan of steps, each checked first (already done: ok), applied, and recorded with its undo in \
            /var/lib/aufsctl/state.json, so that aufsctl uninstall takes it back. --method auto takes the method \
            aufsctl check names. Changing the host needs root and -y (or a yes at the prompt). A failed run \
            rolls back what it applied (--keep-on-failure keeps it); each run's transcript goes to \
            /var/log/aufsctl/install.log.

            Examples:
              See the plan and what is already done:
                aufsctl install --dry-run
              Apply it:
                aufsctl install -y
              DKMS from a local aufs-standalone checkout, for the next kernel:
                aufsctl install --method dkms --source /usr/local/src/aufs-standalone --kernel 6.1.0-18-amd64 -y
              Compile aufs in a scratch directory first, and install the branch that built:
                aufsctl install --method dkms --build -y
              CentOS 7, where this binary cannot run: a POSIX sh script of the plan
                aufsctl install --method kernel-ml-aufs --emit-sh --root ./centos7-copy > install.sh

            Exit status:
              0  done, or nothing to do
              1  a step failed; what the run applied was rolled back; the message names the step
              2  bad input; nothing changed
              3  nothing install can do itself (aufs is in an installed kernel that is not running)
              4  blocked: not installable on this host (nothing changed, or all of it rolled back); the reason \
            and the ways out
              5  done; reboot to finish (a new kernel, or a signing key waiting for MokManager)
              6  partially applied (--keep-on-failure, or a rollback that could not finish): the report names \
            the failed step; aufsctl uninstall undoes the rest
            """
    )

    @Option(help: "auto, kernel-ml-aufs, dkms or ubuntu-extra.") var method: MethodChoice = .auto
    @Flag(help: "Print the plan (with what is already done) and change nothing.") var dryRun = false
    @Flag(name: .customLong("emit-sh"), help: "Print the plan as a POSIX sh script and change nothing.") var emitSh =
        false
    @Flag(name: [.customLong("yes"), .customShort("y")], help: "Apply without asking (apt's -y).") var yes = false
    @Flag(help: "Print the report as JSON (schema aufsctl.install/2); progress goes to stderr.") var json = false
    @Option(
        help: ArgumentHelp("Install for this kernel release instead of the running one.", valueName: "KVER"),
        completion: Completions.kernels)
    var kernel: String?
    @Option(
        help: ArgumentHelp("dkms: an aufs-standalone checkout, or a git URL to clone.", valueName: "DIR|GIT-URL"),
        completion: .directory)
    var source: String?
    @Option(
        name: .customLong("repo-url"),
        help: ArgumentHelp("kernel-ml-aufs: a .repo file URL, or a baseurl.", valueName: "URL")) var repoURL: String?
    @Option(
        name: [.customLong("source-ref"), .customLong("aufs-branch")],
        help: ArgumentHelp(
            "dkms: the aufs-standalone branch to clone (default: chosen from the kernel), or a full commit id to build "
                + "instead of a branch head. --aufs-branch is the old name.", valueName: "BRANCH|COMMIT"))
    var sourceRef: String?
    @Option(
        name: .customLong("gpgkey"),
        help: ArgumentHelp(
            "kernel-ml-aufs: the URL of the key its packages are signed with (gpgcheck=1).", valueName: "URL"))
    var gpgKey: String?
    @Flag(
        name: .customLong("no-gpgcheck"),
        help: "kernel-ml-aufs: install the kernel without signature checks (said in the report).") var noGpgCheck =
        false
    @Option(
        name: .customLong("grub-default"),
        help: ArgumentHelp("kernel-ml-aufs: the GRUB_DEFAULT value.", valueName: "VALUE")) var grubDefault: String = "0"
    @Flag(help: "kernel-ml-aufs: reboot at the end.") var reboot = false
    @Flag(name: .customLong("no-load"), help: "dkms/ubuntu-extra: do not load the module now.") var noLoad = false
    @Flag(
        name: .customLong("skip-export-check"),
        help: "dkms: build even if the kernel lacks the exports aufs needs (experts, tests).") var skipExportCheck =
        false
    @Option(
        name: .customLong("mok-password-hash"),
        help: ArgumentHelp(
            "dkms on a Secure Boot host: the password hash for `mokutil --import` (made by `mokutil --generate-hash "
                + "> FILE`), so that no one has to type it; without it mokutil asks on the terminal.",
            valueName: "FILE"))
    var mokPasswordHash: String?
    @Flag(
        name: .customLong("allow-unsigned-kernel"),
        help: ArgumentHelp(
            "kernel-ml-aufs on a Secure Boot host: make the kernel the GRUB default even when its image is "
                + "unsigned (shim will not boot it with Secure Boot on)."))
    var allowUnsignedKernel = false
    @Flag(
        help: ArgumentHelp(
            "dkms: compile aufs against the kernel's headers in a scratch directory before changing anything (trying "
                + "aufsX.Y.Z, aufsX.Y, then aufsX.x-rcN), and install the branch that built; none builds: exit 4. "
                + "With --dry-run: only the trial build."))
    var build = false
    @Flag(
        name: .customLong("all-kernels"),
        help: "dkms: also build aufs for every other installed kernel of the same X.Y that has headers.")
    var allKernels = false
    @Flag(
        name: .customLong("keep-on-failure"),
        help:
            "Leave what a failed run applied in place (exit 6; `aufsctl uninstall` undoes it) instead of rolling back.")
    var keepOnFailure = false
    @OptionGroup var host: HostOptions

    func validate() throws {
        _ = try options()
    }

    func options() throws -> InstallOptions {
        var o = InstallOptions()
        o.method = method.method
        o.kernel = try parseKernel(kernel)
        for (name, value) in [
            ("--source", source), ("--source-ref", sourceRef), ("--repo-url", repoURL), ("--gpgkey", gpgKey),
            ("--grub-default", grubDefault), ("--mok-password-hash", mokPasswordHash),
        ] {
            if let value, value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                throw AufsError.usage(
                    "\(name): contains a control character (newline, tab, ...); expected a plain value")
            }
        }
        o.source = try parseSource(source)
        o.sourceRef = try sourceRef.map { try parseSourceRef($0, source: o.source) }
        if let repoURL {
            guard repoURL.hasPrefix("https://") || repoURL.hasPrefix("http://") || repoURL.hasPrefix("file://") else {
                throw AufsError.usage("--repo-url \(repoURL): expected an http(s):// or file:// URL")
            }
            o.repoURL = repoURL
        }
        if let gpgKey {
            guard gpgKey.hasPrefix("https://") || gpgKey.hasPrefix("http://") || gpgKey.hasPrefix("file://") else {
                throw AufsError.usage("--gpgkey \(gpgKey): expected an http(s):// or file:// URL")
            }
            if noGpgCheck { throw AufsError.usage("--gpgkey and --no-gpgcheck contradict each other: give one") }
        }
        o.gpgKey = gpgKey
        o.noGpgCheck = noGpgCheck
        guard !grubDefault.isEmpty, !grubDefault.contains("\n") else {
            throw AufsError.usage("--grub-default: expected a value such as 0, saved or a menu entry title")
        }
        o.grubDefault = grubDefault
        o.reboot = reboot
        o.noLoad = noLoad
        o.skipExportCheck = skipExportCheck
        o.allowUnsignedKernel = allowUnsignedKernel
        o.mokPasswordHash = mokPasswordHash.map(Paths.absolute)
        o.build = build
        o.keepOnFailure = keepOnFailure
        o.allKernels = allKernels
        if allKernels && o.method != nil && o.method != .dkms {
            throw AufsError.usage("--all-kernels builds with dkms; --method \(method.rawValue) installs for one kernel")
        }
        if build && o.method != nil && o.method != .dkms {
            throw AufsError.usage(
                "--build compiles aufs for the dkms method; --method \(method.rawValue) builds nothing")
        }
        o.jobs = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return o
    }

    func run() async throws {
        let mode: InstallFrontend.Mode = emitSh ? .emitSh : dryRun ? .dryRun : .apply
        let frontend = InstallFrontend(
            installer: Installer(root: try host.hostRoot()), options: try options(), mode: mode, json: json,
            confirmation: Confirmation(assumeYes: yes),
            progressDisplay: .init(isTerminal: isatty(2) != 0, write: Terminal.errorText))
        // Line-buffered stdout: CI, Ansible and `tee` see each step's line as it happens.
        aufsctl_stdout_line_buffered()
        try CommandExit.unlessSuccess(try await frontend.run())
    }
}

/// `--method`: a method, or auto (the one `check` chooses).
enum MethodChoice: String, ExpressibleByArgument, CaseIterable {
    case auto
    case kernelMLAufs = "kernel-ml-aufs"
    case dkms
    case ubuntuExtra = "ubuntu-extra"

    var method: InstallMethod? { self == .auto ? nil : InstallMethod(rawValue: rawValue) }

    // ArgumentParser's defaults, spelled out (see Fallback's in Mount.swift).
    static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    static var allValueDescriptions: [String: String] { [:] }
    var defaultValueDescription: String { rawValue }
}
