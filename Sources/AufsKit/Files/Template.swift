// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Renders the files under `Templates/` (carried in the binary as `TemplatesData`).
///
/// Hand-written rather than swift-mustache: that package imports all of Foundation (with ICU) into
/// our static binary, whose start-up time every command pays, and these templates need only the
/// mustache subset `{{name}}`, `{{! comment}}` and `{{#name}}...{{/name}}` (kept when non-empty).
/// Output is plain text: nothing is HTML-escaped. A tag alone on its line takes the line with it.
public enum Template {
    public static func source(_ name: String) throws -> String {
        guard let s = TemplatesData.files[name] else { throw AufsError("no template named \(name)") }
        return s + "\n"
    }

    public static func render(_ name: String, _ values: [String: String]) throws -> String {
        try render(text: source(name), values, name: name)
    }

    static func render(text: String, _ values: [String: String], name: String) throws -> String {
        var out = ""
        var skipping: String?
        for line in ShellAssignments.lines(of: text) {
            let body = line.trimmingBlanks
            // Standalone section and comment tags.
            if body.hasPrefix("{{") && body.hasSuffix("}}") && body.dropFirst(2).dropLast(2).firstIndex(of: "}") == nil
            {
                let tag = String(body.dropFirst(2).dropLast(2))
                if tag.hasPrefix("!") { continue }
                if tag.hasPrefix("#") {
                    let key = String(tag.dropFirst())
                    if skipping == nil && (values[key] ?? "").isEmpty { skipping = key }
                    continue
                }
                if tag.hasPrefix("/") {
                    if skipping == String(tag.dropFirst()) { skipping = nil }
                    continue
                }
            }
            if skipping != nil { continue }
            out += try substitute(String(line), values, name: name)
        }
        return out
    }

    static func substitute(_ line: String, _ values: [String: String], name: String) throws -> String {
        var out = ""
        var rest = Substring(line)
        while let open = rest.firstRange(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw AufsError("template \(name): unterminated {{ in \"\(line.trimmingBlanks)\"")
            }
            let key = rest[open.upperBound..<close.lowerBound].trimmingBlanks
            if !key.hasPrefix("!") {
                guard let v = values[key] else { throw AufsError("template \(name): no value for {{\(key)}}") }
                out += v
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
