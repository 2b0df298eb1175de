// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// The signing settings of dkms's framework.conf and framework.conf.d/*.conf, read as text. dkms
/// sources these files with bash (read_framework_conf), so any command in them runs as root; we
/// never run them: a plain `name=value` with a literal value (quotes, `$kernelver`, which dkms
/// documents) is read, and a value that only the shell could compute is reported as unknown.
public struct FrameworkConf: Sendable, Equatable {
    public static let variables = ["sign_file", "mok_signing_key", "mok_certificate", "sign_tool"]

    public struct Setting: Sendable, Equatable, Codable {
        /// nil: computed by the shell (command substitution, another variable, a conditional), unknown.
        public var value: String?
        /// `file:line`.
        public var source: String
        public var line: String
        /// Why the value is unknown.
        public var unknownBecause: String?
    }

    /// The last setting of each variable, over the files in the order dkms reads them.
    public var settings: [String: Setting] = [:]
    /// Lines that are not settings dkms would only read: commands it would run when it sources the file.
    public var commands: [String] = []
    /// The files read, in order.
    public var files: [String] = []
    public var problems: [String] = []

    public static let mainFile = "/etc/dkms/framework.conf"
    public static let directory = "/etc/dkms/framework.conf.d"

    /// framework.conf, then framework.conf.d/*.conf in the glob's (byte) order, as dkms 3.0.10 reads them.
    public static func read(root: HostRoot, kernel: String) -> FrameworkConf {
        var conf = FrameworkConf()
        let extra = (FileRead.list(root.resolve(directory)) ?? []).filter { $0.hasSuffix(".conf") }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { directory + "/" + $0 }
        for path in [mainFile] + extra {
            switch FileRead.text(root.resolve(path)) {
            case .ok(let text):
                conf.files.append(path)
                conf.parse(text, file: path, kernel: kernel)
            case .missing:
                continue
            case .denied:
                conf.problems.append("\(path): permission denied (dkms, as root, would read it)")
                for v in variables where conf.settings[v]?.value != nil || conf.settings[v] == nil {
                    conf.settings[v] = Setting(
                        value: nil, source: path, line: "", unknownBecause: "\(path) is unreadable here")
                }
            case .failed(let why):
                conf.problems.append("\(path): \(why)")
            }
        }
        return conf
    }

    /// Shell words that open a compound command: an assignment inside one may or may not happen.
    static let compoundWords: Set<String> = [
        "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do", "done", "function", "{", "}",
        "select",
    ]

    public mutating func parse(_ text: String, file: String, kernel: String) {
        var depth = 0
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let source = "\(file):\(lineNo)"
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" }).map(String.init)
            let first = words.first ?? ""
            let opens =
                words.filter { ["if", "case", "for", "while", "until", "select", "{"].contains($0) }.count
                + (line.contains("()") && !words.contains("{") ? 1 : 0)
            let closes = words.filter { ["fi", "esac", "done", "}"].contains($0) }.count
            if let (name, rawValue) = Self.assignment(line), Self.variables.contains(name) {
                if depth > 0 {
                    settings[name] = Setting(
                        value: nil, source: source, line: String(raw),
                        unknownBecause:
                            "set inside a compound command, so whether it applies is decided when bash runs it")
                } else {
                    switch ShellWord.literal(rawValue, kernel: kernel) {
                    case .success(let v):
                        settings[name] = Setting(value: v, source: source, line: String(raw), unknownBecause: nil)
                    case .failure(let why):
                        settings[name] = Setting(
                            value: nil, source: source, line: String(raw), unknownBecause: why.description)
                    }
                }
            } else if Self.assignment(line) == nil || Self.compoundWords.contains(first) || line.contains("$(")
                || line.contains("`")
            {
                commands.append("\(source): \(line)")
                // A command can set anything: `source`, `eval`, `export`, `read`, a function call.
                for v in Self.variables where line.contains(v) || Self.mayAssignAnything(first) {
                    settings[v] = Setting(
                        value: nil, source: source, line: String(raw),
                        unknownBecause: "a command that bash would run may set it (`\(line.prefix(60))`)")
                }
            }
            depth = max(0, depth + opens - closes)
        }
    }

    static func mayAssignAnything(_ word: String) -> Bool {
        [".", "source", "eval", "export", "declare", "typeset", "readonly", "read", "local", "set", "mapfile"].contains(
            word)
    }

    /// `name=value` at the start of a line (no `export`): the name and the rest of the line.
    static func assignment(_ line: Substring) -> (String, Substring)? {
        guard let eq = line.firstIndex(of: "=") else { return nil }
        let name = line[..<eq]
        guard let f = name.unicodeScalars.first, f == "_" || f.isASCIILetter,
            name.unicodeScalars.allSatisfy({ $0 == "_" || $0.isASCIILetter || ("0"..."9").contains($0) })
        else { return nil }
        return (String(name), line[line.index(after: eq)...])
    }
}

/// One shell word read without a shell: quotes removed, `$kernelver` replaced; anything that would
/// make bash compute the value (another expansion, a command, a glob, a second word) is refused.
public enum ShellWord {
    public struct Unknown: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static func literal(_ s: Substring, kernel: String) -> Result<String, Unknown> {
        let c = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func fail(_ why: String) -> Result<String, Unknown> { .failure(Unknown(description: why)) }
        /// `$kernelver` or `${kernelver}` at i (which holds `$`): its length, or nil.
        func kernelver(_ i: Int) -> Int? {
            let rest = String(String.UnicodeScalarView(c[i...]))
            if rest.hasPrefix("${kernelver}") { return 12 }
            if rest.hasPrefix("$kernelver") {
                let next = c.count > i + 10 ? c[i + 10] : " "
                return next == "_" || next.isASCIILetter || ("0"..."9").contains(next) ? nil : 10
            }
            return nil
        }
        var quoted = false
        while i < c.count {
            let ch = c[i]
            switch ch {
            case "'":
                guard let end = c[(i + 1)...].firstIndex(of: "'") else { return fail("an unterminated ' quote") }
                out.append(contentsOf: c[(i + 1)..<end])
                i = end + 1
                quoted = true
            case "\"":
                i += 1
                var closed = false
                while i < c.count {
                    let d = c[i]
                    if d == "\"" { closed = true; i += 1; break }
                    if d == "\\", i + 1 < c.count, "\"\\$`".unicodeScalars.contains(c[i + 1]) {
                        out.append(c[i + 1]); i += 2; continue
                    }
                    if d == "`" { return fail("a command substitution (`...`) computes it") }
                    if d == "$" {
                        guard let n = kernelver(i) else { return fail(expansionWhy(c, i)) }
                        out.append(contentsOf: kernel.unicodeScalars); i += n; continue
                    }
                    out.append(d); i += 1
                }
                if !closed { return fail("an unterminated \" quote") }
                quoted = true
            case "\\":
                guard i + 1 < c.count else { return fail("a trailing backslash continues the line") }
                out.append(c[i + 1]); i += 2
            case "$":
                guard let n = kernelver(i) else { return fail(expansionWhy(c, i)) }
                out.append(contentsOf: kernel.unicodeScalars); i += n
            case "`":
                return fail("a command substitution (`...`) computes it")
            case " ", "\t":
                let rest = c[i...].drop { $0 == " " || $0 == "\t" }
                if rest.isEmpty || rest.first == "#" { return .success(String(out)) }
                return fail("more follows the value on the line (`\(String(String.UnicodeScalarView(rest)))`)")
            case ";", "&", "|", "<", ">", "(", ")":
                return fail("the line goes on with shell syntax (`\(ch)`)")
            case "*", "?", "[":
                return fail("an unquoted \(ch) is a glob bash may expand")
            case "~" where out.isEmpty && !quoted:
                return fail("a leading ~ is expanded by bash")
            default:
                out.append(ch); i += 1
            }
        }
        return .success(String(out))
    }

    static func expansionWhy(_ c: [Unicode.Scalar], _ i: Int) -> String {
        let next = i + 1 < c.count ? c[i + 1] : " "
        if next == "(" { return "a command substitution ($(...)) computes it" }
        let word = String(String.UnicodeScalarView(c[i...].prefix { $0 != " " && $0 != "\"" && $0 != "'" }))
        return "it expands \(word), which only bash knows"
    }
}
