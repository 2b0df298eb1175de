// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// The one escaping of what aufsctl writes to a terminal: strings it did not make (an image's
/// os-release, a branch name, dkms or command output) may hold control characters that a
/// terminal obeys (ESC sequences rewrite the screen or the title, CR hides a line). Every C0
/// control but newline and tab, DEL and the C1 controls become `\u001b`-style escapes, which
/// read plainly and inside a JSON string mean the same character, so JSON stays valid.
public enum TerminalText {
    public static func escape(_ s: String) -> String {
        // Fast path: most output is plain.
        if !s.unicodeScalars.contains(where: needsEscape) { return s }
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            guard needsEscape(c) else {
                out.append(c)
                continue
            }
            let hex = String(c.value, radix: 16)
            out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
        }
        return String(out)
    }

    static func needsEscape(_ c: Unicode.Scalar) -> Bool {
        (c.value < 0x20 && c != "\n" && c != "\t") || (c.value >= 0x7f && c.value <= 0x9f)
    }
}
