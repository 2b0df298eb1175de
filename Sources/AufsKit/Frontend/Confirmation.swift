// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The one question aufsctl asks before it changes a host: `--yes` answers it, a terminal may,
/// and anything else (a script's pipe) is a usage error that names the flag.
public struct Confirmation: Sendable {
    /// `--yes` given.
    public var assumeYes: Bool
    /// What to do instead when there is no terminal (`--dry-run` to see it).
    public var instead: String
    /// Reads the answer line; nil at end of input. Tests give a scripted one.
    public var readAnswer: @Sendable () -> String?
    public var isTerminal: @Sendable () -> Bool

    public init(
        assumeYes: Bool, instead: String = "--dry-run to see it",
        readAnswer: @escaping @Sendable () -> String? = { readLine() },
        isTerminal: @escaping @Sendable () -> Bool = { isatty(0) != 0 }
    ) {
        self.assumeYes = assumeYes
        self.instead = instead
        self.readAnswer = readAnswer
        self.isTerminal = isTerminal
    }

    /// Whether the question must be asked: false with --yes; throws a usage error naming --yes
    /// when nothing can answer it (no terminal).
    /// - Parameters:
    ///   - what: what is being confirmed (`the plan`), for the refusal.
    ///   - verb: what --yes does (`apply it`).
    public func mustAsk(what: String, verb: String) throws -> Bool {
        if assumeYes { return false }
        guard isTerminal() else {
            throw AufsError.usage(
                "stdin is not a terminal, so nothing can confirm \(what): pass --yes to \(verb) (or \(instead))")
        }
        return true
    }

    /// Writes `question [y/N] ` through `prompt` and reads the answer: true for a yes.
    public func ask(_ question: String, prompt: (String) -> Void) -> Bool {
        prompt(question + " [y/N] ")
        guard let answer = readAnswer(), answer.lowercased().hasPrefix("y") else { return false }
        return true
    }
}
