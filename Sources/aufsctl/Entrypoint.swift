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
        case let c as BranchCommand: runAsync(c)
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
