// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Where a frontend writes: text to stdout, lines to stderr. Tests pass a recording one.
public struct Console: Sendable {
    /// Writes text to stdout exactly as given.
    public var write: @Sendable (String) -> Void
    /// Writes one line (a newline added) to stderr.
    public var error: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void, error: @escaping @Sendable (String) -> Void) {
        self.write = write
        self.error = error
    }

    /// The process's stdout (through print, so it shares its buffer) and stderr (unbuffered).
    public static let standard = Console(
        write: { print($0, terminator: "") },
        error: { line in
            let text = line + "\n"
            _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
        })

    public func line(_ s: String) { write(s + "\n") }
}
