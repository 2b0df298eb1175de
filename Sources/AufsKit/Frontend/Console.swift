// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Where a frontend writes: text to stdout, lines to stderr. Tests pass a recording one.
public struct Console: Sendable {
    /// Writes text to stdout exactly as given.
    public var write: @Sendable (String) -> Void
    /// Writes one line (a newline added) to stderr.
    public var error: @Sendable (String) -> Void

    /// Writes data (a script) to stdout as it is, never escaped.
    public var raw: @Sendable (String) -> Void

    public init(
        write: @escaping @Sendable (String) -> Void, error: @escaping @Sendable (String) -> Void,
        raw: (@Sendable (String) -> Void)? = nil
    ) {
        self.write = write
        self.error = error
        self.raw = raw ?? write
    }

    /// The process's stdout (through print, so it shares its buffer) and stderr (unbuffered); text
    /// goes through TerminalText's escaping (control characters from strings aufsctl did not make).
    public static let standard = Console(
        write: { print(TerminalText.escape($0), terminator: "") },
        error: { line in
            let text = TerminalText.escape(line) + "\n"
            _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
        },
        raw: { print($0, terminator: "") })

    public func line(_ s: String) { write(s + "\n") }
}
