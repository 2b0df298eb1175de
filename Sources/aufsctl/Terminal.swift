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

    /// Text to stderr as given (a status line redrawn in place).
    static let errorText: @Sendable (String) -> Void = { s in _ = s.withCString { Glibc.write(2, $0, strlen($0)) } }

    static var colorOnStdout: Bool {
        TextStyle.wanted(
            noColor: getenv("NO_COLOR").map { String(cString: $0) }, term: getenv("TERM").map { String(cString: $0) },
            isTerminal: isatty(1) != 0)
    }

    /// Unescaped, for output that is data: the sh scripts --emit-sh prints.
    static func raw(_ s: String) { Console.standard.raw(s) }

    /// A report as JSON on stdout (the one encoder setup, JSONText).
    static func printJSON<T: Encodable>(_ value: T) throws {
        print(try JSONText.encode(value))
    }
}

/// Standard output for every command: what `print` writes in this module goes through the one
/// escaping function (TerminalText), so no string from an image, a branch name or a command's
/// output reaches the terminal with its control characters; `Terminal.raw` is for data.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(TerminalText.escape(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}
