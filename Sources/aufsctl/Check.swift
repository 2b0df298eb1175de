// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Tell whether aufs is usable here, and if not, what install would do or why it cannot.",
        discussion: """
            Reads the host (or the tree under --root) and prints one line per fact with the evidence it came from, \
            then the verdict: usable, loadable, installable (with the method) or blocked (with the reason and the \
            ways out). Needs no root: what cannot be read is reported as unknown.

            Examples:
              Is aufs usable here, and if not, why?
                aufsctl check
              In a script, the exit code alone:
                aufsctl check -q && echo usable
              A mounted image, for the kernel it will boot, as JSON:
                aufsctl check --root /mnt/image --kernel 6.1.0-18-amd64 --json
              Does aufs really compile against this kernel (a trial build, nothing installed)?
                aufsctl check --build

            Exit status:
              0  aufs is usable (registered in /proc/filesystems)
              1  the check itself failed; the message says why
              2  bad input (--root, --kernel, --source)
              3  aufs is loadable (aufsctl load) or installable (aufsctl install); with --strict also: usable \
            now, but the next boot starts a kernel without aufs
              4  blocked: no method works on this host; the report says why and the ways out
            """)

    @Flag(help: "Print the report as JSON (schema aufsctl.check/1, see README).")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing: the exit code is the answer (errors still go to stderr).")
    var quiet = false

    @Option(
        help: ArgumentHelp("Check this kernel release instead of the running one.", valueName: "KVER"),
        completion: Completions.kernels)
    var kernel: String?

    // HostOptions' --root declared here, not as an @OptionGroup: one type fewer for ArgumentParser
    // to reflect on (about 0.5 M instructions, issue 14); the help and the parsing are the same.
    @Option(
        help: ArgumentHelp(
            "Read every host file under DIR (a mounted image, chroot or fixture tree).", valueName: "DIR"),
        completion: .directory)
    var root: String = "/"

    @Flag(
        help: ArgumentHelp(
            "Compile aufs against the kernel's headers in a scratch directory (removed afterwards) and say whether "
                + "it builds, trying aufsX.Y.Z, aufsX.Y, then aufsX.x-rcN. Without --source it clones them (network)."))
    var build = false

    @Option(
        help: ArgumentHelp(
            "--build: an aufs-standalone checkout (its tree as it is), or a git URL to clone the branches from.",
            valueName: "DIR|GIT-URL"),
        completion: .directory)
    var source: String?

    @Option(
        name: .customLong("source-ref"),
        help: ArgumentHelp(
            "--build: the branch (or full commit id) to build instead of the candidates.",
            valueName: "BRANCH|COMMIT"))
    var sourceRef: String?

    @Flag(
        name: .customLong("skip-export-check"),
        help: "--build: let the trial build alone decide the verdict, not the export list (experts, tests).")
    var skipExportCheck = false

    @Flag(help: "Exit 3 when the next boot starts a kernel without usable aufs, even if aufs is usable now.")
    var strict = false

    func validate() throws {
        if !build {
            for (name, given) in [
                ("--source", source != nil), ("--source-ref", sourceRef != nil),
                ("--skip-export-check", skipExportCheck),
            ] where given {
                throw AufsError.usage("\(name) goes with --build (check compiles aufs only when asked)")
            }
        }
        let s = try parseSource(source)
        _ = try sourceRef.map { try parseSourceRef($0, source: s) }
        if build && root != "/" && geteuid() != 0 {
            throw AufsError.usage("--build with --root runs make in the root through chroot, which needs root")
        }
    }

    func run() async throws {
        let root = try HostRoot.validated(root)
        let k = try parseKernel(kernel)
        var facts = try await HostProbe(root: root).probe(kernel: k)
        if build {
            let s = try parseSource(source)
            let request = CheckBuildRequest(
                source: s, sourceRef: try sourceRef.map { try parseSourceRef($0, source: s) },
                jobs: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), skipExportCheck: skipExportCheck)
            // -q: the exit code is the answer, so no progress either.
            let sink = ProgressSink(
                display: quiet ? .none : .init(isTerminal: isatty(2) != 0, write: Terminal.errorText))
            await CheckTrial.run(&facts, root: root, runner: SubprocessRunner(), request: request, progress: sink)
        }
        var report = CheckReport(root: root, facts: facts, strict: strict)
        // A mount helper another user could replace runs as root on every `mount -t aufs`.
        report.warnings += HelperLinks(root: root).unsafeHelpers()
        if json && !quiet {
            print(try report.json())
        } else if !quiet {
            for w in report.warnings { Terminal.error("aufsctl: warning: " + w) }
            // human() escapes what the host said itself; its colours must reach the terminal.
            Terminal.raw(report.human(style: TextStyle(color: Terminal.colorOnStdout)))
        }
        if report.exitCode != .success { throw CommandExit(code: report.exitCode.rawValue) }
    }
}
