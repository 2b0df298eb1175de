// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import CLinuxShims
import Dispatch
import Glibc

@main
struct Entrypoint {
    /// Synchronous: only the commands that run other programs (swift-subprocess is async) start the
    /// concurrency runtime; `--version`, `mount`, `umount` and `status` run on the main thread.
    static func main() {
        // Started as /sbin/mount.aufs or /sbin/umount.aufs: util-linux's helper contract.
        MountHelper.runIfInvokedAsHelper(CommandLine.arguments)
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let word = arguments.first, let suggestion = Aufsctl.suggestion(for: word) {
            Terminal.error(
                "Error: unknown subcommand '\(word)'. Did you mean '\(suggestion)'?\n"
                    + "Usage: aufsctl <subcommand>\n  See 'aufsctl --help' for the subcommands.")
            exit(AufsExitCode.usage.rawValue)
        }
        let command: ParsableCommand
        do {
            command = try Aufsctl.parseAsRoot(arguments)
        } catch {
            exit(Aufsctl.exitStatus(for: error))
        }
        // Casts to concrete types: a cast to a protocol (`as? AsyncParsableCommand`) makes the
        // runtime scan every protocol conformance record in the binary.
        switch command {
        case let c as Check: runAsync(c)
        case let c as Install: runAsync(c)
        case let c as Uninstall: runAsync(c)
        case let c as PersistCommand: runAsync(c)
        case let c as HelperCommand: runAsync(c)
        case let c as PlinkCommand: runAsync(c)
        default:
            // A new AsyncParsableCommand must get its case above, or its sync run() would print help.
            // Checked in debug builds only (the CLI tests run one): the cast scans the conformances.
            assert(!(command is AsyncParsableCommand), "\(type(of: command)) is async: add it to Entrypoint.main")
            var c = command
            do {
                try c.run()
                exit(0)
            } catch {
                exit(Aufsctl.exitStatus(for: error))
            }
        }
    }

    static func runAsync<C: AsyncParsableCommand>(_ command: sending C) -> Never {
        // A short-lived process with a few threads: one malloc arena, and big blocks (swift-subprocess
        // reserves its output limit) always mmapped and returned on free, rather than carved out of
        // arenas that glibc's sliding threshold lets grow; an install re-run peaks ~1.2 MB lower.
        aufsctl_malloc_tune(256 << 10)
        Task {
            var c = command
            do {
                try await c.run()
                exit(0)
            } catch {
                exit(Aufsctl.exitStatus(for: error))
            }
        }
        dispatchMain()
    }
}

struct Aufsctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aufsctl",
        abstract: "Make the aufs union filesystem work on this host: check, install, mount.",
        discussion: """
            Exit codes: 0 success (check: aufs usable), 1 failure, 2 usage error, \
            3 aufs not available but loadable or installable, 4 not installable here, \
            5 reboot required, 6 partially applied.
            """,
        // `--version` prints BuildInfo.text (below); it names the libraries loaded, which only
        // `--version` should load.
        version: BuildInfo.version,
        subcommands: [
            Check.self, Load.self, Install.self, Uninstall.self, Mount.self, Umount.self, Status.self,
            BranchCommand.self,
            PlinkCommand.self, PersistCommand.self, HelperCommand.self,
        ]
    )

    /// The subcommand a mistyped first word most likely meant (`instal` -> `install`), or nil when
    /// the word is a subcommand, an option, or close to none.
    static func suggestion(for word: String) -> String? {
        guard !word.hasPrefix("-") else { return nil }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        return Suggestion.closest(to: word, among: names)
    }

    /// Maps every error to a one-line message and a documented exit code.
    static func exitStatus(for error: Error) -> Int32 {
        switch error {
        case let e as AufsError:
            Terminal.error("aufsctl: " + e.message)
            for d in e.details { Terminal.error("  " + d) }
            return e.exitCode.rawValue
        case let e as CommandExit:
            return e.code
        default:
            let code = exitCode(for: error)
            if code == ArgumentParser.ExitCode.success {
                let message = fullMessage(for: error)
                print(message == BuildInfo.version ? BuildInfo.text : message)
                return 0
            }
            Terminal.error(fullMessage(for: error))
            // ArgumentParser uses EX_USAGE (64) for bad arguments; ours is 2.
            return code == ArgumentParser.ExitCode.validationFailure
                ? AufsExitCode.usage.rawValue : AufsExitCode.failure.rawValue
        }
    }
}

/// Thrown by commands that finished but exit non-zero (a `blocked` verdict, say).
struct CommandExit: Error {
    var code: Int32
}

enum Terminal {
    static func error(_ s: String) {
        let line = s + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
    static var colorOnStdout: Bool {
        TextStyle.wanted(
            noColor: getenv("NO_COLOR").map { String(cString: $0) }, term: getenv("TERM").map { String(cString: $0) },
            isTerminal: isatty(1) != 0)
    }
}

/// Options every host-reading command takes.
struct HostOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read every host file under DIR (a mounted image, chroot or fixture tree).", valueName: "DIR"),
        completion: .directory)
    var root: String = "/"

    func hostRoot() throws -> HostRoot {
        try HostRoot.validated(root)
    }
}

func parseKernel(_ s: String?) throws -> KernelRelease? {
    guard let s else { return nil }
    guard let k = KernelRelease(s) else {
        throw AufsError.usage(
            "--kernel \"\(s)\": not a kernel release; expected the form uname -r prints, e.g. 6.1.0-18-amd64")
    }
    return k
}
