// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Edits `KEY=value` lines in shell-sourced files (`/etc/default/grub`, `/etc/sysconfig/kernel`)
/// without evaluating them: the last active assignment wins and is the one replaced; every other
/// byte (comments, `$(...)`, CRLF endings, a missing final newline) is kept.
public enum ShellAssignments {
    public struct Assignment: Equatable {
        /// Index of the line in `lines(of:)`.
        public var line: Int
        /// The value as the shell would see it (quotes removed), nil when it cannot be read without evaluating.
        public var value: String?
    }

    /// Lines with their terminators kept, so joining them gives the text back byte for byte.
    public static func lines(of text: String) -> [Substring] {
        var out: [Substring] = []
        var start = text.startIndex
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "\n" || c == "\r\n" {
                out.append(text[start..<next])
                start = next
            }
            i = next
        }
        if start < text.endIndex { out.append(text[start...]) }
        return out
    }

    // Shell words are scanned by byte: every character of shell syntax is ASCII, and a UTF-8
    // sequence never contains an ASCII byte, so this reads UTF-8 exactly as a scan by scalar would
    // (a quote before a combining mark stays a quote) and any other encoding (Latin-1) byte for
    // byte, which is what lets `set` keep every byte outside the line it changes.
    typealias Bytes = [UInt8]

    static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    /// Lines with their terminators kept (split after each LF), so joining them gives the bytes back.
    static func lines(ofBytes b: Bytes) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        for (i, c) in b.enumerated() where c == lf {
            out.append(b[start...i])
            start = i + 1
        }
        if start < b.count { out.append(b[start...]) }
        return out
    }

    /// Where the value of `KEY=` starts, if the line assigns KEY (optionally `export KEY=`).
    static func assignmentPrefix(_ line: Bytes, key: String) -> Int? {
        var i = 0
        func skipBlanks() { while i < line.count, line[i] == space || line[i] == tab { i += 1 } }
        skipBlanks()
        let export = Array("export".utf8)
        if line.count > i + export.count, Array(line[i..<i + export.count]) == export,
            line[i + export.count] == space || line[i + export.count] == tab
        {
            i += export.count
            skipBlanks()
        }
        let k = Array((key + "=").utf8)
        guard line.count >= i + k.count, Array(line[i..<i + k.count]) == k else { return nil }
        return i + k.count
    }

    /// The end of the shell word starting at `start` (quotes honoured), or nil if it is unterminated
    /// or continues on the next line (a backslash before the line break).
    /// With `acrossLines`, a quote may span line breaks and a backslash-newline continues the word
    /// (the shell's reading of a value written over several lines).
    static func wordEnd(_ line: Bytes, from start: Int, acrossLines: Bool = false) -> Int? {
        var i = start
        while i < line.count {
            switch line[i] {
            case space, tab, lf, cr, UInt8(ascii: ";"): return i
            case UInt8(ascii: "'"):
                guard let close = line[(i + 1)...].firstIndex(of: UInt8(ascii: "'")) else { return nil }
                i = close + 1
            case UInt8(ascii: "\""):
                var j = i + 1
                while j < line.count && line[j] != UInt8(ascii: "\"") { j += line[j] == UInt8(ascii: "\\") ? 2 : 1 }
                if j >= line.count { return nil }
                i = j + 1
            case UInt8(ascii: "\\"):
                if i + 1 >= line.count { return nil }
                if line[i + 1] == lf || line[i + 1] == cr {
                    guard acrossLines else { return nil }
                    i += line[i + 1] == cr && i + 2 < line.count && line[i + 2] == lf ? 3 : 2
                    continue
                }
                i += 2
            default:
                i += 1
            }
        }
        return i
    }

    /// Whether a word holds an unescaped `$` or backquote outside single quotes (its value would
    /// need the shell; we never evaluate).
    static func needsExpansion(_ word: ArraySlice<UInt8>) -> Bool {
        var inSingle = false
        var escaped = false
        for c in word {
            if escaped { escaped = false; continue }
            if inSingle { if c == UInt8(ascii: "'") { inSingle = false }; continue }
            switch c {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "'"): inSingle = true
            case UInt8(ascii: "$"), UInt8(ascii: "`"): return true
            default: break
            }
        }
        return false
    }

    /// The last active assignment of `key`.
    public static func find(_ key: String, in text: String) -> Assignment? { find(key, inBytes: Array(text.utf8)) }

    /// The last active assignment of `key` in a file's bytes, whatever their encoding.
    public static func find(_ key: String, inBytes bytes: [UInt8]) -> Assignment? {
        var found: Assignment?
        for (n, slice) in lines(ofBytes: bytes).enumerated() {
            let line = Array(slice)
            guard let vstart = assignmentPrefix(line, key: key) else { continue }
            var value: String?
            if let end = wordEnd(line, from: vstart) {
                let word = line[vstart..<end]
                // The value is compared with what we would write; bytes that are not UTF-8 read as U+FFFD.
                if !needsExpansion(word),
                    case .success(let v) = OSRelease.unquote(
                        scalars: Array(String(decoding: word, as: UTF8.self).unicodeScalars)[...])
                {
                    value = v
                }
            }
            found = Assignment(line: n, value: value)
        }
        return found
    }

    /// `value` written so the shell reads it back unchanged: bare when safe, else double-quoted.
    public static func quote(_ value: String) -> String {
        let safe =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy {
                $0.isASCIILetter || ("0"..."9").contains($0) || "_-.,/:+@%".unicodeScalars.contains($0)
            }
        if safe { return value }
        // By scalar: a quote followed by a combining mark is one Character, and would go unescaped.
        var out = String.UnicodeScalarView(["\""])
        for c in value.unicodeScalars {
            if "\"\\$`".unicodeScalars.contains(c) { out.append("\\") }
            out.append(c)
        }
        out.append("\"")
        return String(out)
    }

    /// Sets `key` to `value`: replaces the value of the last active assignment (keeping its
    /// prefix, trailing comment and line ending) or appends `KEY=value`. Returns the new text and
    /// whether anything changed.
    public static func set(_ key: String, to value: String, in text: String) -> (text: String, changed: Bool) {
        let (b, changed) = set(key, to: value, inBytes: Array(text.utf8))
        return (String(decoding: b, as: UTF8.self), changed)
    }

    /// `set` on a file's bytes: every byte outside the one changed (or appended) line is kept,
    /// whatever the encoding (Latin-1 comments, CRLF endings, no final newline).
    public static func set(_ key: String, to value: String, inBytes bytes: [UInt8]) -> (bytes: [UInt8], changed: Bool) {
        let found = find(key, inBytes: bytes)
        if let a = found, a.value == value { return (bytes, false) }
        var ls = lines(ofBytes: bytes).map(Array.init)
        let crlf = ls.filter { $0.count >= 2 && $0[$0.count - 2] == cr && $0.last == lf }.count * 2 > ls.count
        if let a = found {
            let (last, line) = valueLines(ls, from: a.line, key: key)
            let vstart = assignmentPrefix(line, key: key)!
            // An unterminated word runs to the line end: replace all of it but the terminator.
            var tail = wordEnd(line, from: vstart, acrossLines: true) ?? line.count
            if wordEnd(line, from: vstart, acrossLines: true) == nil {
                while tail > vstart, line[tail - 1] == lf || line[tail - 1] == cr { tail -= 1 }
            }
            ls.replaceSubrange(
                a.line...last, with: [Array(line[..<vstart]) + Array(quote(value).utf8) + Array(line[tail...])])
            return (ls.flatMap { $0 }, true)
        }
        var out = bytes
        let eol: [UInt8] = crlf ? [cr, lf] : [lf]
        if !out.isEmpty && out.last != lf { out += eol }
        out += Array("\(key)=\(quote(value))".utf8) + eol
        return (out, true)
    }

    /// The lines a value starting on line `first` spans (a quote left open, a trailing backslash),
    /// joined: the index of its last line and the bytes. A value never closed keeps to its line.
    static func valueLines(_ ls: [Bytes], from first: Int, key: String) -> (last: Int, bytes: Bytes) {
        guard let vstart = assignmentPrefix(ls[first], key: key), wordEnd(ls[first], from: vstart) == nil else {
            return (first, ls[first])
        }
        func continued(_ b: Bytes) -> Bool {
            let end = b.last == lf ? (b.count >= 2 && b[b.count - 2] == cr ? b.count - 2 : b.count - 1) : b.count
            return end > 0 && b[end - 1] == UInt8(ascii: "\\")
        }
        var joined = ls[first]
        for last in (first + 1)..<max(first + 1, ls.count) {
            joined += ls[last]
            if wordEnd(joined, from: vstart, acrossLines: true) != nil && !continued(joined) { return (last, joined) }
        }
        return (first, ls[first])
    }
}
