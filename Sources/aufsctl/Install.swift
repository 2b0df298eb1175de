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
    @Flag(help: "Print the report as JSON (schema aufsctl.install/1); progress goes to stderr.") var json = false
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
        if let source, source.contains(":") && !source.hasPrefix("/") && !source.hasPrefix(".") {
            // A URL: only https/http clones (no file://, ext::, ssh or git transports).
            guard source.hasPrefix("https://") || source.hasPrefix("http://") else {
                throw AufsError.usage(
                    "--source \(source): only https:// (or http://) repositories are cloned; file://, ext::, git:// "
                        + "and ssh transports are refused; for a local checkout give its directory"
                )
            }
        }
        if let sourceRef {
            if [40, 64].contains(sourceRef.count), sourceRef.allSatisfy({ $0.isHexDigit }) {
                if let source, !source.contains("://") {
                    throw AufsError.usage(
                        "--source-ref \(sourceRef) pins a commit of a cloned repository; --source \(source) is a "
                            + "directory"
                    )
                }
                o.sourceCommit = sourceRef
            } else if sourceRef.allSatisfy({ $0.isHexDigit }) && sourceRef.count >= 7 {
                // git fetch takes a full commit id only (an abbreviation is looked up as a ref name).
                throw AufsError.usage(
                    "--source-ref \(sourceRef): an abbreviated commit id; give the full id (40 hex digits; 64 for "
                        + "SHA-256 repositories), or a branch name"
                )
            } else {
                guard sourceRef.first != "-",
                    sourceRef.unicodeScalars.allSatisfy({
                        $0.isASCII && $0.value > 0x20 && !"~^:?*[\\".unicodeScalars.contains($0)
                    }),
                    !sourceRef.contains(".."), !sourceRef.hasSuffix(".lock"), !sourceRef.hasSuffix("/")
                else {
                    throw AufsError.usage(
                        "--source-ref \(sourceRef): not a git branch name (git check-ref-format) nor a full commit id")
                }
                o.sourceBranch = sourceRef
            }
        }
        o.source = source
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

    func run() async throws {
        let o = try options()
        let root = try host.hostRoot()
        let installer = Installer(root: root)
        // Held from the probe on, so a second install decides on what the first one left.
        let lock =
            dryRun || emitSh || geteuid() != 0
            ? nil : try FileLock(path: root.resolve(RuntimeDir.installLock), what: "one install at a time", timeout: 10)
        defer { lock?.release() }
        let toStderr = json
        let say: @Sendable (String) -> Void = { line in
            if toStderr { Terminal.error(line) } else { print(line) }
        }
        switch try await installer.decide(o) {
        case .stop(let message, let waysOut, let code):
            if json {
                print(try encodeJSON(InstallStop(message: message, waysOut: waysOut, exitCode: code)))
            } else {
                print(message)
                for w in waysOut { print("  - " + w) }
            }
            if code != .success { throw CommandExit(code: code.rawValue) }
        case .plan(let plan, let facts):
            if emitSh {
                print(ShellScript.render(plan, facts: facts), terminator: "")
                return
            }
            if !dryRun {
                guard geteuid() == 0 else {
                    throw AufsError(
                        "install changes the host (packages, /usr/src, /etc, GRUB) and needs root; run it with sudo, "
                            + "or use --dry-run or --emit-sh to see the plan"
                    )
                }
                if !yes {
                    guard isatty(0) != 0 else {
                        throw AufsError.usage(
                            "stdin is not a terminal, so nothing can confirm the plan: pass --yes to apply it (or "
                                + "--dry-run to see it)"
                        )
                    }
                    print("plan (\(plan.method.rawValue) for \(plan.kernel)):")
                    for (i, s) in plan.steps.enumerated() { print("  [\(i + 1)/\(plan.steps.count)] \(s.title)") }
                    print("apply it? [y/N] ", terminator: "")
                    guard let answer = readLine(), answer.lowercased().hasPrefix("y") else {
                        print("nothing changed")
                        throw CommandExit(code: 1)
                    }
                }
            }
            say(
                "\(dryRun ? "plan" : "install") aufs with method \(plan.method.rawValue) for "
                    + "\(plan.kernel)\(dryRun ? " (dry run: nothing is changed)" : "")"
            )
            let report = try await Executor(printer: say).run(
                plan, context: installer.context(facts, o), dryRun: dryRun)
            if json {
                print(try encodeJSON(report))
            } else {
                if let m = report.message, report.exitCode != .blocked { print(m) }
                if report.exitCode == .blocked && report.changed {
                    print("steps before the preflight changed the host (see above); `aufsctl uninstall` undoes them")
                }
                for n in report.notes { print("note: " + n) }
                if let s = report.source { print("built from: " + s) }
                if report.exitCode == .rebootRequired { print("reboot required to finish") }
                if report.exitCode == .success || report.exitCode == .rebootRequired {
                    for a in report.afterwards { print("next: " + a) }
                }
            }
            if report.exitCode != .success { throw CommandExit(code: report.exitCode.rawValue) }
        }
    }
}

struct Uninstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract:
            "Undo what aufsctl install recorded in /var/lib/aufsctl/state.json: the newest install, one by ID, or all.",
        discussion: """
            Each record's undos are applied newest first; what another remaining record still uses stays. --all \
            also takes away the unions aufsctl persist wrote and the links aufsctl helper install made.

            Examples:
              What is recorded, and what undoing each would do:
                aufsctl uninstall --list
              The same for tools (schema aufsctl.records/1):
                aufsctl uninstall --list --json
              Undo the newest install, after seeing what it would do:
                aufsctl uninstall --dry-run
                aufsctl uninstall -y
              Everything aufsctl did to this host:
                aufsctl uninstall --all -y

            Exit status:
              0  undone (or nothing to undo)
              1  an undo failed; the message names it
              2  bad input (an unknown ID, no terminal to confirm without -y)
              6  partially undone: a later undo failed after earlier ones were applied
            """)

    @Argument(help: ArgumentHelp("The install record to undo (see --list); default: the newest.", valueName: "ID"))
    var id: Int?
    @Flag(help: "Undo every install record, newest first, then what persist and helper install recorded.") var all =
        false
    @Flag(help: "List the install records and what undoing each would do.") var list = false
    @Flag(help: "With --list: print them as JSON (schema aufsctl.records/1).") var json = false
    @Flag(help: "Print what would be undone.") var dryRun = false
    @Flag(name: [.customLong("yes"), .customShort("y")], help: "Apply without asking (apt's -y).") var yes = false
    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
        if json && !list { throw AufsError.usage("--json goes with --list (uninstall itself prints its steps)") }
        if list {
            let state = try InstallState.load(root: root)
            if json {
                print(try encodeJSON(RecordsReport(state)))
                return
            }
            let lines = Uninstaller.list(state)
            print(lines.isEmpty ? "no install records in \(InstallState.path)" : lines.joined(separator: "\n"))
            for u in state.unions ?? [] {
                print("-  \(u.summary): " + u.undo.map(\.description).joined(separator: "; ") + " (undone by --all)")
            }
            return
        }
        if all && id != nil { throw AufsError.usage("give an install record ID or --all, not both") }
        let selection: Uninstaller.Selection = all ? .all : id.map { .id($0) } ?? .newest
        if !dryRun {
            guard geteuid() == 0 else {
                throw AufsError("uninstall changes the host and needs root; run it with sudo, or use --dry-run")
            }
            if !yes {
                guard isatty(0) != 0 else {
                    throw AufsError.usage("stdin is not a terminal: pass --yes to undo without a prompt (or --dry-run)")
                }
                _ = try await Uninstaller().run(
                    root: root, runner: SubprocessRunner(), dryRun: true, selection: selection)
                print("undo these? [y/N] ", terminator: "")
                guard let answer = readLine(), answer.lowercased().hasPrefix("y") else {
                    print("nothing changed")
                    throw CommandExit(code: 1)
                }
            }
        }
        let lock =
            dryRun
            ? nil : try FileLock(path: root.resolve(RuntimeDir.installLock), what: "one install at a time", timeout: 10)
        defer { lock?.release() }
        var n = try await Uninstaller().run(
            root: root, runner: SubprocessRunner(), dryRun: dryRun, selection: selection)
        if all {  // persist's units and fstab lines, the helper links
            n += try await UnionRecords(root: root).undo(
                where: { _ in true }, dryRun: dryRun, runner: SubprocessRunner())
        }
        print(dryRun ? "\(n) step(s) would be undone" : "undid \(n) step(s)")
    }
}

/// `install --json` when no plan runs (aufs already usable, or no method works here).
struct InstallStop: Encodable {
    var schema = "aufsctl.install/1"
    var message: String
    var waysOut: [String]
    var exitCode: AufsExitCode
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
