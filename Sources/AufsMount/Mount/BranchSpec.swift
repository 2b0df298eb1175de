// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// A branch permission as aufs spells it: `rw`, `ro`, `rr`, plus `+attr` attributes.
public struct BranchPermission: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Base: String, Sendable, Codable { case rw, ro, rr }
    public var base: Base
    public var attributes: [String]

    public init(base: Base, attributes: [String] = []) {
        self.base = base
        self.attributes = attributes
    }

    public var description: String { ([base.rawValue] + attributes).joined(separator: "+") }
    public var writable: Bool { base == .rw }

    /// In JSON as aufs writes it (`ro+wh`), the shape every report gives a branch's permission.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch BranchPermission.parse(text) {
        case .success(let p): self = p
        case .failure(let why):
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: why.description))
        }
    }

    static let rwOnly: Set<String> = ["nolwh", "moo", "coo_reg", "coo_all"]
    static let readOnly: Set<String> = ["wh"]
    static let any: Set<String> = ["unpin", "fhsm", "icex", "icexsec", "icexsys", "icextr", "icexusr", "icexoth"]

    /// Parses and checks a permission; the kernel silently turns unknown ones into `ro`, so we refuse them.
    public static func parse(_ s: String) -> Result<BranchPermission, Refusal> {
        // aufs's grammar has letters, digits, '_' and '+' only; a ':' or ',' would end the branch or
        // the option, and what follows would be read as another branch (`ro:/etc=rw`).
        if let c = s.unicodeScalars.first(where: {
            !($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "+"))
        }) {
            return .failure(
                Refusal(
                    stringLiteral:
                        "the permission \"\(TerminalText.escape(s))\" contains "
                        + "\"\(TerminalText.escape(String(c)))\", which no aufs permission has (expected rw, ro or "
                        + "rr, optionally with +attributes such as ro+wh)"))
        }
        let parts = s.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        guard let base = Base(rawValue: parts[0]) else {
            return .failure(
                Refusal(
                    stringLiteral:
                        "unknown permission \"\(parts[0])\" (expected rw, ro or rr, optionally with +wh, +nolwh, +moo, "
                        + "+coo_reg, +coo_all, +unpin, +fhsm, +icex...)")
            )
        }
        var attrs: [String] = []
        for a in parts.dropFirst() {
            guard rwOnly.contains(a) || readOnly.contains(a) || any.contains(a) else {
                return .failure(
                    Refusal(
                        stringLiteral:
                            "unknown attribute \"+\(a)\" (known: +wh, +nolwh, +moo, +coo_reg, +coo_all, +unpin, "
                            + "+fhsm, +icex, "
                            + "+icexsec, +icexsys, +icextr, +icexusr, +icexoth)")
                )
            }
            if rwOnly.contains(a) && base != .rw {
                return .failure("\"+\(a)\" applies to rw branches only, not \(base.rawValue)")
            }
            if readOnly.contains(a) && base == .rw {
                return .failure("\"+\(a)\" applies to ro and rr branches only (a rw branch always holds whiteouts)")
            }
            if attrs.contains(a) { return .failure("attribute \"+\(a)\" given twice") }
            attrs.append(a)
        }
        if attrs.contains("coo_reg") && attrs.contains("coo_all") {
            return .failure("+coo_reg and +coo_all exclude each other")
        }
        return .success(BranchPermission(base: base, attributes: attrs))
    }
}

/// Why a value was refused, as a sentence.
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public var description: String
    public init(stringLiteral d: String) { description = d }
    public init(stringInterpolation: DefaultStringInterpolation) {
        description = String(stringInterpolation: stringInterpolation)
    }
}

/// One branch as the user wrote it, before validation.
public struct RawBranch: Sendable, Equatable {
    public var path: String
    public var permission: String?
}

/// A parsed aufs option string: the branch list and every other option, in order.
public struct AufsOptions: Sendable, Equatable {
    public var branches: [RawBranch] = []
    /// Options other than the branch list, as `name` or `name=value`.
    public var other: [String] = []
    public var xino: String?
    public var noxino = false
    public var readOnly = false

    public init() {}

    package static let flagOptions: Set<String> = [
        "noxino", "trunc_xino", "notrunc_xino", "dio", "nodio", "plink", "noplink",
        "dirperm1", "nodirperm1", "verbose", "noverbose", "v", "shwh", "noshwh", "sum", "nosum", "wsum",
        "dirren", "nodirren", "acl", "noacl", "ro", "rw", "fhsm", "nofhsm", "warn_perm", "nowarn_perm",
    ]
    package static let valueOptions: [String: Set<String>?] = [
        "udba": ["none", "reval", "notify"], "create": nil,
        "cpup": ["tdp", "top_down_parent", "bup", "bottom_up_parent", "bu", "bottom_up"],
        "xino": nil, "trunc_xib": nil, "rdcache": nil, "rdblk": nil, "rdhash": nil, "dirwh": nil, "wbr_copyup": nil,
        "wbr_create": nil, "rendir": nil, "clean_plink": nil, "diropq": ["w", "whiteouted", "a", "always"], "brs": nil,
    ]

    /// Parses a branch list: `dirs=A:B=ro`, `br=...`, `br:...` or a bare `A:B=ro`.
    public static func parseBranchList(_ list: String) throws -> [RawBranch] {
        if list.isEmpty { throw AufsError.usage("the branch list is empty; expected dirs=RW:RO1=ro:...") }
        var out: [RawBranch] = []
        let elements = list.split(separator: ":", omittingEmptySubsequences: false)
        for (i, e) in elements.enumerated() {
            if e.isEmpty {
                let where_ =
                    i == 0
                    ? "at the start"
                    : (i == elements.count - 1 ? "at the end (trailing ':')" : "after branch \(i) (\"::\")")
                throw AufsError.usage(
                    "branch list \"\(list)\": empty element \(where_); aufs would silently drop every branch after it")
            }
            if let eq = e.firstIndex(of: "=") {
                out.append(RawBranch(path: String(e[..<eq]), permission: String(e[e.index(after: eq)...])))
            } else {
                out.append(RawBranch(path: String(e), permission: nil))
            }
        }
        return out
    }

    /// Strips `dirs=`, `br=` or `br:` from a branch-list option; nil when `s` is not one.
    package static func branchListValue(_ s: String) -> String? {
        for prefix in ["dirs=", "br=", "br:"] where s.hasPrefix(prefix) { return String(s.dropFirst(prefix.count)) }
        return nil
    }

    /// Parses a mount(8)-style `-o` string (comma separated).
    public static func parse(options: String) throws -> AufsOptions {
        var o = AufsOptions()
        for opt in options.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if opt.isEmpty { throw AufsError.usage("-o \"\(options)\": empty option (\",,\" or a trailing comma)") }
            if let list = branchListValue(opt) {
                if !o.branches.isEmpty {
                    throw AufsError.usage("-o: the branch list is given twice; give one dirs=/br= list")
                }
                o.branches = try parseBranchList(list)
                continue
            }
            try o.add(option: opt)
        }
        return o
    }

    mutating func add(option opt: String) throws {
        let name = String(opt.prefix { $0 != "=" })
        let value: String? = opt.contains("=") ? String(opt.dropFirst(name.count + 1)) : nil
        if let value {
            guard let allowed = AufsOptions.valueOptions[name] else {
                throw AufsError.usage("-o \(opt): unknown aufs option \"\(name)\"; see aufs(5) for the option names")
            }
            if let allowed, !allowed.contains(value) {
                throw AufsError.usage("-o \(opt): \(name) takes one of \(allowed.sorted().joined(separator: ", "))")
            }
            if value.isEmpty { throw AufsError.usage("-o \(opt): \(name) needs a value") }
            if name == "xino" {
                if xino != nil { throw AufsError.usage("-o \(opt): xino= is given twice; give one") }
                if noxino { throw AufsError.usage("-o \(opt): xino= and noxino exclude each other") }
                xino = value
                return
            }
        } else {
            guard AufsOptions.flagOptions.contains(name) else {
                throw AufsError.usage("-o \(opt): unknown aufs option; see aufs(5) for the option names")
            }
            if name == "noxino" {
                if xino != nil { throw AufsError.usage("-o noxino: xino= and noxino exclude each other") }
                noxino = true
                return
            }
            if name == "ro" { readOnly = true; return }
            if name == "rw" { readOnly = false; return }
        }
        other.append(opt)
    }
}
