// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsKit
import Glibc

/// Thrown by commands that finished but exit non-zero (a `blocked` verdict, say).
struct CommandExit: Error {
    var code: Int32

    /// Exits with `code` unless it is success.
    static func unlessSuccess(_ code: AufsExitCode) throws {
        if code != .success { throw CommandExit(code: code.rawValue) }
    }
}

enum Terminal {
    static func error(_ s: String) { Console.standard.error(s) }

    static var colorOnStdout: Bool {
        TextStyle.wanted(
            noColor: getenv("NO_COLOR").map { String(cString: $0) }, term: getenv("TERM").map { String(cString: $0) },
            isTerminal: isatty(1) != 0)
    }

    /// A report as JSON on stdout (the one encoder setup, JSONText).
    static func printJSON<T: Encodable>(_ value: T) throws {
        print(try JSONText.encode(value))
    }
}
