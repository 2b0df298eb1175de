// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// A word for sh: as it is when it needs no quoting, else in single quotes (the helper's log and
/// aufsctl's --emit-sh scripts both use it).
package enum ShellQuote {
    package static func quote(_ word: String) -> String {
        if !word.isEmpty,
            word.unicodeScalars.allSatisfy({
                $0.isASCIILetter || ("0"..."9").contains($0) || "_-./=:,+@%".unicodeScalars.contains($0)
            })
        {
            return word
        }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

extension Unicode.Scalar {
    package var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
