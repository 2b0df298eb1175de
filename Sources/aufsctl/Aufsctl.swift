// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

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
            PlinkCommand.self, PersistCommand.self, HelperCommand.self, Convert.self,
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
            if let e = thrownByValidate(error) { return exitStatus(for: e) }
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

    /// The AufsError a command's validate() threw: ArgumentParser wraps it in its internal
    /// CommandError(parserError: .userValidationError(error)), which only a Mirror can open.
    static func thrownByValidate(_ error: Error) -> AufsError? {
        Mirror(reflecting: error).descendant("parserError", "userValidationError") as? AufsError
    }
}
