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

    /// Where the value of `KEY=` starts, if the line assigns KEY (optionally `export KEY=`).
    static func assignmentPrefix(_ line: Substring, key: String) -> Substring.Index? {
        func skipBlanks(_ s: Substring) -> Substring { s.drop { $0 == " " || $0 == "\t" } }
        var rest = skipBlanks(line)
        if rest.hasPrefix("export"), let after = rest.dropFirst(6).first, after == " " || after == "\t" {
            rest = skipBlanks(rest.dropFirst(6))
        }
        guard rest.hasPrefix(key + "=") else { return nil }
        return line.index(rest.startIndex, offsetBy: key.count + 1)
    }

    /// The end of the shell word starting at `start` (quotes honoured), or nil if unterminated.
    static func wordEnd(_ line: Substring, from start: Substring.Index) -> Substring.Index? {
        var i = start
        while i < line.endIndex {
            let c = line[i]
            switch c {
            case " ", "\t", "\n", "\r\n", "\r", ";": return i
            case "'":
                guard let close = line[line.index(after: i)...].firstIndex(of: "'") else { return nil }
                i = line.index(after: close)
            case "\"":
                var j = line.index(after: i)
                var closed = false
                while j < line.endIndex {
                    if line[j] == "\\" { j = line.index(after: j); if j < line.endIndex { j = line.index(after: j) }; continue }
                    if line[j] == "\"" { closed = true; break }
                    j = line.index(after: j)
                }
                if !closed { return nil }
                i = line.index(after: j)
            case "\\":
                i = line.index(after: i)
                if i < line.endIndex { i = line.index(after: i) }
            default:
                i = line.index(after: i)
            }
        }
        return i
    }

    /// Whether a word holds an unescaped `$` or backquote outside single quotes (its value would
    /// need the shell; we never evaluate).
    static func needsExpansion(_ word: Substring) -> Bool {
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
            guard let vstart = assignmentPrefix(line, key: key) else { continue }
            var value: String?
            if let end = wordEnd(line, from: vstart) {
                let word = line[vstart..<end]
                if !needsExpansion(word), case .success(let v) = OSRelease.unquote(word) { value = v }
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
            let line = ls[a.line]
            let vstart = assignmentPrefix(line, key: key)!
            let end = wordEnd(line, from: vstart) ?? line.endIndex
            // An unterminated quote runs to the line end: replace the whole rest, keeping the terminator.
            var tailStart = end
            if wordEnd(line, from: vstart) == nil {
                tailStart = line.hasSuffix("\r\n") || line.hasSuffix("\n") ? line.index(before: line.endIndex) : line.endIndex
            }
            ls[a.line] = Substring(String(line[..<vstart]) + quote(value) + String(line[tailStart...]))
            return (ls.joined(), true)
        }
        var out = text
        if !out.isEmpty && !out.hasSuffix("\n") && !out.hasSuffix("\r\n") { out += crlf ? "\r\n" : "\n" }
        out += "\(key)=\(quote(value))" + (crlf ? "\r\n" : "\n")
        return (out, true)
    }
}
