// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsMount

@Suite struct ByteSearchTests {
    @Test(
        arguments: [
            ("echo $\"dkms-3.0.10\"", "\"dkms-", 6), ("ab", "abc", nil), ("aab", "ab", 1), ("", "", 0), ("x", "", 0),
            ("abab", "bb", nil), ("a\"dkms", "\"dkms-", nil), ("dkms-", "dkms-", 0),
        ] as [(String, String, Int?)])
    func firstOffset(_ hay: String, _ needle: String, _ at: Int?) {
        #expect(Array(hay.utf8).firstOffset(of: Array(needle.utf8)) == at)
    }
}
