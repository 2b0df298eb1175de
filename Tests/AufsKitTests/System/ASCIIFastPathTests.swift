// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

/// trimmingBlanks has a byte path for ASCII (issue 14); it must give what the Character-wise one gives,
/// including keeping a trailing "\r\n" (one Character, not a blank one).
@Suite struct TrimmingBlanksTests {
    static func reference(_ t: some StringProtocol) -> String {
        let scalars = t.unicodeScalars.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        var s = String(String.UnicodeScalarView(scalars))
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return s
    }

    @Test func everyShortStringOverBlanksAndLetters() {
        let alphabet = [" ", "\t", "\n", "\r", "a", "\r\n", "é"]
        var strings = [""]
        for _ in 0..<5 { strings += strings.flatMap { s in alphabet.map { s + $0 } }.filter { $0.utf8.count <= 6 } }
        var checked = 0
        for s in Set(strings) {
            #expect(s.trimmingBlanks == Self.reference(s), "\(Array(s.unicodeScalars))")
            let sub = ("x" + s).dropFirst()
            #expect(sub.trimmingBlanks == Self.reference(sub))
            checked += 1
        }
        #expect(checked > 5000)
        #expect("  6.1.0-18-amd64\n".trimmingBlanks == "6.1.0-18-amd64")
        #expect("value\r\n".trimmingBlanks == "value\r\n")
    }
}
