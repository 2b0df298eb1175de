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

    // Shell words are scanned by Unicode scalar, not Character: a quote followed by a combining
    // mark is one Character, and a backslash before a line break must not swallow the break.
    typealias Scalars = [Unicode.Scalar]

    static func string(_ s: Scalars.SubSequence) -> String { String(String.UnicodeScalarView(s)) }

    /// Where the value of `KEY=` starts, if the line assigns KEY (optionally `export KEY=`).
    static func assignmentPrefix(_ line: Scalars, key: String) -> Int? {
        var i = 0
        func skipBlanks() { while i < line.count, line[i] == " " || line[i] == "\t" { i += 1 } }
        skipBlanks()
        let export = Array("export".unicodeScalars)
        if line.count > i + export.count, Array(line[i..<i + export.count]) == export,
           line[i + export.count] == " " || line[i + export.count] == "\t" {
            i += export.count
            skipBlanks()
        }
        let k = Array((key + "=").unicodeScalars)
        guard line.count >= i + k.count, Array(line[i..<i + k.count]) == k else { return nil }
        return i + k.count
    }

    /// The end of the shell word starting at `start` (quotes honoured), or nil if it is unterminated
    /// or continues on the next line (a backslash before the line break).
    static func wordEnd(_ line: Scalars, from start: Int) -> Int? {
        var i = start
        while i < line.count {
            switch line[i] {
            case " ", "\t", "\n", "\r", ";": return i
            case "'":
                guard let close = line[(i + 1)...].firstIndex(of: "'") else { return nil }
                i = close + 1
            case "\"":
                var j = i + 1
                while j < line.count && line[j] != "\"" { j += line[j] == "\\" ? 2 : 1 }
                if j >= line.count { return nil }
                i = j + 1
            case "\\":
                if i + 1 >= line.count || line[i + 1] == "\n" || line[i + 1] == "\r" { return nil }
                i += 2
            default:
                i += 1
            }
        }
        return i
    }

    /// Whether a word holds an unescaped `$` or backquote outside single quotes (its value would
    /// need the shell; we never evaluate).
    static func needsExpansion(_ word: Scalars.SubSequence) -> Bool {
        var inSingle = false
        var escaped = false
        for c in word {
            if escaped { escaped = false; continue }
            if inSingle { if c == "'" { inSingle = false }; continue }
            switch c {
            case "\\": escaped = true
            case "'": inSingle = true
            case "$", "`": return true
            default: break
            }
        }
        return false
    }

    /// The last active assignment of `key`.
    public static func find(_ key: String, in text: String) -> Assignment? {
        var found: Assignment?
        for (n, line) in lines(of: text).enumerated() {
            let scalars = Array(line.unicodeScalars)
            guard let vstart = assignmentPrefix(scalars, key: key) else { continue }
            var value: String?
            if let end = wordEnd(scalars, from: vstart) {
                let word = scalars[vstart..<end]
                if !needsExpansion(word), case .success(let v) = OSRelease.unquote(scalars: word) { value = v }
            }
            found = Assignment(line: n, value: value)
        }
        return found
    }

    /// `value` written so the shell reads it back unchanged: bare when safe, else double-quoted.
    public static func quote(_ value: String) -> String {
        let safe = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || "_-.,/:+@%".unicodeScalars.contains($0) }
        if safe { return value }
        var out = "\""
        for c in value {
            if "\"\\$`".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    /// Sets `key` to `value`: replaces the value of the last active assignment (keeping its
    /// prefix, trailing comment and line ending) or appends `KEY=value`. Returns the new text and
    /// whether anything changed.
    public static func set(_ key: String, to value: String, in text: String) -> (text: String, changed: Bool) {
        if let a = find(key, in: text), a.value == value { return (text, false) }
        var ls = lines(of: text)
        let crlf = ls.filter { $0.hasSuffix("\r\n") }.count * 2 > ls.count
        if let a = find(key, in: text) {
            let line = Array(ls[a.line].unicodeScalars)
            let vstart = assignmentPrefix(line, key: key)!
            // An unterminated word runs to the line end: replace all of it but the terminator.
            var tail = wordEnd(line, from: vstart) ?? line.count
            if wordEnd(line, from: vstart) == nil {
                while tail > vstart, line[tail - 1] == "\n" || line[tail - 1] == "\r" { tail -= 1 }
            }
            ls[a.line] = Substring(string(line[..<vstart]) + quote(value) + string(line[tail...]))
            return (ls.joined(), true)
        }
        var out = text
        if !out.isEmpty && !out.hasSuffix("\n") && !out.hasSuffix("\r\n") { out += crlf ? "\r\n" : "\n" }
        out += "\(key)=\(quote(value))" + (crlf ? "\r\n" : "\n")
        return (out, true)
    }
}
