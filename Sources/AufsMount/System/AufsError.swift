// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Exit codes, stable and documented in the README.
public enum AufsExitCode: Int32, Sendable, Codable {
    case success = 0
    case failure = 1
    case usage = 2
    case installable = 3
    case blocked = 4
    case rebootRequired = 5
    case partial = 6
}

/// An error a user can act on: what input, which rule, the way out, and the exit code.
public struct AufsError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitCode: AufsExitCode
    /// Extra lines shown after the message (evidence: kernel log lines, the exact call).
    public var details: [String]
    /// The errno of the failed call the message reports, where one call failed (callers decide on
    /// it, never on the message's words).
    public var errno: Int32?

    public init(_ message: String, exitCode: AufsExitCode = .failure, details: [String] = [], errno: Int32? = nil) {
        self.message = message
        self.exitCode = exitCode
        self.details = details
        self.errno = errno
    }

    public static func usage(_ message: String) -> AufsError { AufsError(message, exitCode: .usage) }

    public var description: String { message }
}
