// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// The name a mistyped word most likely meant (`instal` -> `install`), as clig.dev asks of a CLI.
public enum Suggestion {
    /// The closest of `names` to `word` within a third of its length (at least 1 edit), or nil.
    public static func closest(to word: String, among names: [String]) -> String? {
        guard !names.contains(word) else { return nil }
        let scored = names.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (name, distance) = scored, distance <= max(1, name.count / 3) else { return nil }
        return name
    }

    /// Levenshtein distance over the characters (ArgumentParser's own, which it uses for option
    /// names, is internal to it).
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var row = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var diagonal = row[0]
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                let above = row[j + 1]
                row[j + 1] = min(above + 1, row[j] + 1, diagonal + (x == y ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}
