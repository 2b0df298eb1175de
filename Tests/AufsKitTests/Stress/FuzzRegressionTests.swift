// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

/// Inputs found by fuzz/ (FuzzGrubEdit), kept as regression tests.
@Suite struct FuzzRegressionTests {
    /// An assignment whose value ends in a backslash before the line break (a shell line
    /// continuation): `set` replaced the value *and the line terminator*, so the next line was glued
    /// onto the assignment and `GRUB_DEFAULT` read back as "0GRUB_TIMEOUT=5", not "0".
    /// Fixed: the value is read as the shell reads it, over the continued line, and replaced whole
    /// (issue 21: the continued line is part of the value, as `. /etc/default/grub` sees it).
    @Test(arguments: ["GRUB_DEFAULT=saved\\\nGRUB_TIMEOUT=5\n", "GRUB_DEFAULT=saved\\\r\nGRUB_TIMEOUT=5\r\n"])
    func backslashBeforeLineBreak(_ text: String) {
        let (out, changed) = ShellAssignments.set("GRUB_DEFAULT", to: "0", in: text)
        #expect(changed)
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: out)?.value == "0", "\(String(reflecting: out))")
        #expect(
            out == (text.utf8.contains(13) ? "GRUB_DEFAULT=0\r\n" : "GRUB_DEFAULT=0\n"), "\(String(reflecting: out))")
    }

    /// A value starting with a combining mark (U+0301): `quote` writes `"\u{301}x"`, and the opening
    /// quote and the mark form one Character, so the Character-based reader no longer sees the
    /// quote and `find` returns nil for what `set` just wrote (a re-run would rewrite it each time).
    /// Fixed: shell words are read by Unicode scalar.
    @Test func valueStartingWithCombiningMark() {
        let (out, changed) = ShellAssignments.set("GRUB_DEFAULT", to: "\u{301}x", in: "GRUB_TIMEOUT=5\n")
        #expect(changed)
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: out)?.value == "\u{301}x", "\(String(reflecting: out))")
    }

    /// A double quote followed by a combining mark inside the value (found by FuzzGrubEdit,
    /// FuzzGrubEditBytes and FuzzOSRelease in 5-minute runs): `quote` iterated Characters, and
    /// `"` + U+064C is one Character, so the quote went unescaped and the written value did not
    /// read back. Fixed: `quote` escapes by Unicode scalar.
    @Test(arguments: ["\"\u{064C}eav&G2", "dA\"\u{08D3}x", "\"\"\u{0301}"])
    func quoteBeforeCombiningMark(_ value: String) {
        let (out, changed) = ShellAssignments.set("GRUB_DEFAULT", to: value, in: "")
        #expect(changed)
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: out)?.value == value, "\(String(reflecting: out))")
        #expect(OSRelease.parse("NAME=\(ShellAssignments.quote(value))\n").fields["NAME"] == value)
    }

    /// A mountinfo option value with a prepend mark (U+0602) before an escaped comma (found by
    /// FuzzMountinfo): U+0602 and the comma after it are one Character, so splitting options by
    /// Character missed the separator. Fixed: options are split and unescaped by Unicode scalar.
    @Test func prependMarkBeforeComma() {
        let opts = "lowerdir=/a,upperdir=/.\u{0602}\\,x\u{0602},workdir=/w"
        #expect(Unmounter.option("upperdir", in: opts) == "/.\u{0602},x\u{0602}")
        #expect(Unmounter.option("workdir", in: opts) == "/w")
        #expect(Unmounter.splitEscaped("a\u{0602},b", by: ",") == ["a\u{0602}", "b"])
    }

    /// The fuzzer's own invariants on ordinary inputs (so a broken harness shows up here too).
    @Test func setKeepsEveryOtherLine() {
        let text = "# comment $(x)\nGRUB_TIMEOUT=5\r\nexport GRUB_DEFAULT='a b' # keep\nGRUB_CMDLINE_LINUX=\"q\""
        let (out, changed) = ShellAssignments.set("GRUB_DEFAULT", to: "Advanced>Debian 12", in: text)
        #expect(changed)
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: out)?.value == "Advanced>Debian 12")
        let a = ShellAssignments.lines(of: text), b = ShellAssignments.lines(of: out)
        #expect(a.count == b.count)
        #expect(zip(a, b).filter { $0 != $1 }.count == 1)
        #expect(b[2] == "export GRUB_DEFAULT=\"Advanced>Debian 12\" # keep\n")
    }
}
