// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct Install: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Make aufs available: kernel-ml-aufs (CentOS 7), DKMS (Debian), or Ubuntu's extra modules.",
        discussion: """
            A plan of steps, each checked first (already done: ok), applied, and recorded with its undo in \
            /var/lib/aufsctl/state.json, so that aufsctl uninstall takes it back. --method auto takes the method \
            aufsctl check names. Changing the host needs root and -y (or a yes at the prompt).

            Examples:
              See the plan and what is already done:
                aufsctl install --dry-run
              Apply it:
                aufsctl install -y
              DKMS from a local aufs-standalone checkout, for the next kernel:
                aufsctl install --method dkms --source /usr/local/src/aufs-standalone --kernel 6.1.0-18-amd64 -y
              CentOS 7, where this binary cannot run: a POSIX sh script of the plan
                aufsctl install --method kernel-ml-aufs --emit-sh --root ./centos7-copy > install.sh

            Exit status:
              0  done, or nothing to do
              1  a step failed before anything changed; the message names it
              2  bad input; nothing changed
              3  nothing install can do itself (aufs is in an installed kernel that is not running)
              4  blocked: not installable on this host; the reason and the ways out
              5  done; reboot to finish
              6  partially applied: the report names the failed step; aufsctl uninstall undoes the rest
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
            ("--grub-default", grubDefault),
        ] {
            if let value, value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                throw AufsError.usage(
                    "\(name): contains a control character (newline, tab, ...); expected a plain value")
            }
        }
        o.source = try parseSource()
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
        o.jobs = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return o
    }

    /// `--source`: a URL when it names a scheme (only https/http are cloned), else a directory.
    func parseSource() throws -> AufsSource? {
        guard let source else { return nil }
        guard source.contains(":") && !source.hasPrefix("/") && !source.hasPrefix(".") else {
            return .directory(source)
        }
        // A URL: only https/http clones (no file://, ext::, ssh or git transports).
        guard source.hasPrefix("https://") || source.hasPrefix("http://") else {
            throw AufsError.usage(
                "--source \(source): only https:// (or http://) repositories are cloned; file://, ext::, git:// "
                    + "and ssh transports are refused; for a local checkout give its directory")
        }
        return .repository(url: source)
    }

    /// `--source-ref`: a full commit id (of a cloned repository), or a git branch name.
    func parseSourceRef(_ ref: String, source: AufsSource?) throws -> SourceRef {
        if [40, 64].contains(ref.count), ref.allSatisfy({ $0.isHexDigit }) {
            if case .directory(let dir)? = source {
                throw AufsError.usage(
                    "--source-ref \(ref) pins a commit of a cloned repository; --source \(dir) is a directory")
            }
            return .commit(ref)
        }
        if ref.allSatisfy({ $0.isHexDigit }) && ref.count >= 7 {
            // git fetch takes a full commit id only (an abbreviation is looked up as a ref name).
            throw AufsError.usage(
                "--source-ref \(ref): an abbreviated commit id; give the full id (40 hex digits; 64 for SHA-256 "
                    + "repositories), or a branch name")
        }
        guard ref.first != "-",
            ref.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && !"~^:?*[\\".unicodeScalars.contains($0) }),
            !ref.contains(".."), !ref.hasSuffix(".lock"), !ref.hasSuffix("/")
        else {
            throw AufsError.usage(
                "--source-ref \(ref): not a git branch name (git check-ref-format) nor a full commit id")
        }
        return .branch(ref)
    }

    func run() async throws {
        let mode: InstallFrontend.Mode = emitSh ? .emitSh : dryRun ? .dryRun : .apply
        let frontend = InstallFrontend(
            installer: Installer(root: try host.hostRoot()), options: try options(), mode: mode, json: json,
            confirmation: Confirmation(assumeYes: yes))
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
