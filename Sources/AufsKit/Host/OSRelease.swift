// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `/etc/os-release` as os-release(5) defines it: `KEY=value` lines, shell-style quoting
/// without expansion, `#` comments.
public struct OSRelease: Sendable, Equatable, Codable {
    public var fields: [String: String]
    /// One message per line that is not a valid assignment (line number and why).
    public var problems: [String]

    public var id: String? { fields["ID"] }
    public var idLike: [String] { (fields["ID_LIKE"] ?? "").split(separator: " ").map(String.init) }
    public var versionID: String? { fields["VERSION_ID"] }
    public var prettyName: String? { fields["PRETTY_NAME"] }

    public init(fields: [String: String], problems: [String] = []) {
        self.fields = fields
        self.problems = problems
    }

    public static func parse(_ text: String) -> OSRelease {
        var fields: [String: String] = [:]
        var problems: [String] = []
        for (n, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated()
        {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                problems.append("line \(n + 1): expected KEY=value, got \"\(trimmed)\"")
                continue
            }
            let key = String(trimmed[..<eq])
            guard isValidKey(key) else {
                problems.append("line \(n + 1): \"\(key)\" is not a variable name")
                continue
            }
            switch unquote(trimmed[trimmed.index(after: eq)...]) {
            case .success(let value): fields[key] = value
            case .failure(let why): problems.append("line \(n + 1): \(key): \(why)")
            }
        }
        return OSRelease(fields: fields, problems: problems)
    }

    static func isValidKey(_ k: String) -> Bool {
        guard let f = k.unicodeScalars.first, f == "_" || f.isASCIILetter else { return false }
        return k.unicodeScalars.allSatisfy { $0 == "_" || $0.isASCIILetter || ("0"..."9").contains($0) }
    }

    struct QuoteError: Error, CustomStringConvertible {
        let description: String
    }

    /// Shell-like unquoting: '...' literal, "..." with \" \\ \$ \` escapes, bare \x escapes.
    static func unquote(_ s: Substring) -> Result<String, QuoteError> {
        unquote(scalars: Array(s.unicodeScalars)[...])
    }

    /// The same, by Unicode scalar (a quote followed by a combining mark is one Character).
    static func unquote(scalars s: ArraySlice<Unicode.Scalar>) -> Result<String, QuoteError> {
        var out = String.UnicodeScalarView()
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            switch c {
            case "'":
                guard let end = s[(i + 1)...].firstIndex(of: "'") else {
                    return .failure(QuoteError(description: "unterminated single quote"))
                }
                out.append(contentsOf: s[(i + 1)..<end])
                i = end + 1
            case "\"":
                i += 1
                var closed = false
                while i < s.endIndex {
                    let d = s[i]
                    if d == "\"" { closed = true; i += 1; break }
                    if d == "\\", i + 1 < s.endIndex {
                        let n = s[i + 1]
                        if "\"\\$`".unicodeScalars.contains(n) { out.append(n) } else { out.append(d); out.append(n) }
                        i += 2
                        continue
                    }
                    out.append(d)
                    i += 1
                }
                if !closed { return .failure(QuoteError(description: "unterminated double quote")) }
            case "\\":
                if i + 1 < s.endIndex { out.append(s[i + 1]) }
                i += 2
            case " ", "\t":
                // Trailing blanks end the value; anything after them is not one shell word.
                let rest = s[i...].drop { $0 == " " || $0 == "\t" }
                if rest.isEmpty || rest.first == "#" { return .success(String(out)) }
                return .failure(QuoteError(description: "unquoted blank in value (quote the value)"))
            default:
                out.append(c)
                i += 1
            }
        }
        return .success(String(out))
    }
}

/// The distro family aufsctl plans for.
public enum DistroFamily: Sendable, Equatable, TextCodable {
    case rhel(major: Int)
    case debian(major: Int)
    /// Debian testing or unstable (no VERSION_ID): newer than every release.
    case debianTesting
    case ubuntu(major: Int, minor: Int)
    case other(id: String)

    public static func classify(_ os: OSRelease) -> DistroFamily {
        let id = os.id ?? "unknown"
        let like = os.idLike
        let version = os.versionID ?? ""
        let parts = version.split(separator: ".").map { Int($0) }
        let major = parts.first.flatMap { $0 }
        if id == "ubuntu", let major, parts.count >= 2, let minor = parts[1] {
            return .ubuntu(major: major, minor: minor)
        }
        if id == "debian", let major { return .debian(major: major) }
        if id == "debian", os.fields["VERSION_CODENAME"] != nil || version.isEmpty {
            // testing/sid carry no VERSION_ID.
            return .debianTesting
        }
        let rhelLike = ["rhel", "centos", "fedora"]
        if let major,
            id == "rhel" || id == "centos" || id == "rocky" || id == "almalinux" || id == "ol"
                || (like.contains { rhelLike.contains($0) } && id != "fedora")
        {
            return .rhel(major: major)
        }
        return .other(id: id)
    }

    public var description: String {
        switch self {
        case .rhel(let m): return "rhel-like \(m)"
        case .debian(let m): return "debian \(m)"
        case .debianTesting: return "debian testing"
        case .ubuntu(let a, let b): return "ubuntu \(a).\(b < 10 ? "0" : "")\(b)"
        case .other(let id): return "other (\(id))"
        }
    }

    /// The inverse of `description`, which is how facts carry the family in JSON.
    public init?(description d: String) {
        let w = d.split(separator: " ", maxSplits: 1).map(String.init)
        guard w.count == 2 else { return nil }
        switch w[0] {
        case "rhel-like": guard let m = Int(w[1]) else { return nil }; self = .rhel(major: m)
        case "debian":
            if w[1] == "testing" {
                self = .debianTesting
            } else if let m = Int(w[1]) {
                self = .debian(major: m)
            } else {
                return nil
            }
        case "ubuntu":
            let v = w[1].split(separator: ".").compactMap { Int($0) }
            guard v.count == 2 else { return nil }
            self = .ubuntu(major: v[0], minor: v[1])
        case "other":
            guard w[1].hasPrefix("("), w[1].hasSuffix(")") else { return nil }
            self = .other(id: String(w[1].dropFirst().dropLast()))
        default: return nil
        }
    }

    public init?(_ text: String) { self.init(description: text) }
    public static let textKind = "a distro family"
}
