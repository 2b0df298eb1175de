// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// yum `.repo` files (INI): reads and sets keys inside the sections whose header names a repo id,
/// byte for byte outside the lines it changes. `key = value` with or without blanks; values are
/// written bare (yum does not unquote).
public enum YumRepo {
    typealias Line = [UInt8]

    static func lines(_ bytes: [UInt8]) -> [Line] { ShellAssignments.lines(ofBytes: bytes).map(Array.init) }

    static func text(_ l: Line) -> String {
        var s = String(decoding: l, as: UTF8.self)
        while let last = s.last, last == "\n" || last == "\r" || last == "\r\n" { s.removeLast() }
        return s
    }

    /// The header line indexes of the sections whose `[id]` contains `id`.
    static func sections(_ ls: [Line], containing id: String) -> [Int] {
        ls.indices.filter {
            let t = text(ls[$0]).trimmingBlanks; return t.hasPrefix("[") && t.contains(id)
        }
    }

    /// The lines of the section starting at `header` (up to the next header or the end).
    static func body(_ ls: [Line], header: Int) -> Range<Int> {
        var end = header + 1
        while end < ls.count && !text(ls[end]).trimmingBlanks.hasPrefix("[") { end += 1 }
        return (header + 1)..<end
    }

    static func keyValue(_ l: Line) -> (key: String, value: String)? {
        let t = text(l)
        guard let eq = t.firstIndex(of: "="), !t.trimmingBlanks.hasPrefix("#"), !t.trimmingBlanks.hasPrefix(";") else {
            return nil
        }
        return (t[..<eq].trimmingBlanks.lowercased(), t[t.index(after: eq)...].trimmingBlanks)
    }

    /// `key`'s value in every section naming `id` (nil where a section does not set it).
    public static func values(_ key: String, sectionsNaming id: String, in bytes: [UInt8]) -> [String?] {
        let ls = lines(bytes)
        return sections(ls, containing: id).map { h in
            body(ls, header: h).compactMap { keyValue(ls[$0]) }.last { $0.key == key }?.value
        }
    }

    /// Sets `key=value` in every section naming `id`: the section's last `key` line is replaced
    /// (keeping its line ending), else a line is added after the header.
    public static func set(_ key: String, to value: String, sectionsNaming id: String, in bytes: [UInt8]) -> [UInt8] {
        var ls = lines(bytes)
        for h in sections(ls, containing: id).reversed() {
            let eol: Line = ls[h].suffix(2) == [13, 10] ? [13, 10] : [10]
            let new = Array("\(key)=\(value)".utf8) + eol
            if let i = body(ls, header: h).last(where: { keyValue(ls[$0])?.key == key }) {
                let keep: Line = ls[i].suffix(2) == [13, 10] ? [13, 10] : (ls[i].last == 10 ? [10] : [])
                ls[i] = Array("\(key)=\(value)".utf8) + keep
            } else {
                if ls[h].last != 10 { ls[h] += eol }
                ls.insert(new, at: h + 1)
            }
        }
        return ls.flatMap { $0 }
    }

    /// Every section naming `id` checks signatures (`gpgcheck=1`), with `key` as its gpgkey when given.
    public static func signed(_ bytes: [UInt8], sectionsNaming id: String, key: String?) -> Bool {
        let checks = values("gpgcheck", sectionsNaming: id, in: bytes)
        guard !checks.isEmpty, checks.allSatisfy({ $0 == "1" }) else { return false }
        guard let key else { return true }
        return values("gpgkey", sectionsNaming: id, in: bytes).allSatisfy { $0 == key }
    }
}
