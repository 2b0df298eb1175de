// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Can this kernel build one aufs branch out of tree: are the exports that branch's
/// aufsN-standalone.patch adds, and that this kernel's and aufs's configuration make necessary,
/// in the kernel's `Module.symvers`?
public struct SymbolCheck: Sendable, Equatable, Codable {
    /// A symbol left out of `required`, and why.
    public struct Excluded: Sendable, Equatable, Codable {
        public var symbol: String
        public var why: String
    }

    /// The aufs branch whose exports were used (`aufs5.10.140`).
    public var branch: String
    /// Where that list came from: `Kernel/exports/branches.txt` or the source's standalone patch.
    public var listSource: String
    /// Every export the branch's standalone patch adds.
    public var exports: [String]
    /// The exports this kernel and aufs config need.
    public var required: [String]
    public var missing: [String]
    /// Exports the module does not need here (kernel option unset, aufs option off).
    public var notNeeded: [Excluded]
    /// Exports absent from Module.symvers whose need could not be decided (no kernel config).
    public var undecided: [Excluded]
    /// The file the exports were read from.
    public var source: String

    public var present: Int { required.count - missing.count }
    public var complete: Bool { missing.isEmpty }
    /// Most of what the patch exports is absent: the kernel does not carry aufs's patches at all.
    public var lacksPatches: Bool { !missing.isEmpty && present * 2 < required.count }

    /// The series name used in wording and JSON (`aufs6` for 6.x).
    public static func series(for k: KernelRelease) -> String { "aufs\(k.major)" }

    /// The committed export list of a branch, nil for a branch the list does not know.
    public static func exports(branch: String) -> [String]? { RequiredExportsData.branches[branch] }

    /// The exports an `aufsN-standalone.patch` adds (`+EXPORT_SYMBOL_GPL(sym);`), in patch order.
    public static func exports(standalonePatch text: String) -> [String] {
        var out: [String] = []
        for line in text.split(separator: "\n") where line.hasPrefix("+EXPORT_SYMBOL") {
            guard let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") else { continue }
            let sym = line[line.index(after: open)..<close].trimmingBlanks
            if !sym.isEmpty, sym.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }),
                !out.contains(sym)
            {
                out.append(sym)
            }
        }
        return out
    }

    /// Exported symbol names from Module.symvers (`CRC<TAB>symbol<TAB>module<TAB>EXPORT_...`).
    public static func exportedSymbols(moduleSymvers text: String) -> Set<String> {
        var out = Set<String>()
        for line in text.split(separator: "\n") {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            if cols.count >= 2, !cols[1].isEmpty { out.insert(String(cols[1])) }
        }
        return out
    }

    /// The kernel options the conditions of Kernel/exports/conditions.txt read.
    public static var kernelOptions: Set<String> {
        Set(RequiredExportsData.kernelOptions)  // generated: building `conditions` costs ~0.4 M instructions
    }

    /// Decides each export: needed, not needed (and why), or undecided.
    /// `kernelConfig` nil: the kernel's configuration is unknown. `aufsConfig`: the aufs options
    /// that are on (config.mk); `aufsConfigSource` names where they came from.
    public static func check(
        branch: String, exports: [String], listSource: String,
        moduleSymvers text: String, source: String,
        kernelConfig: (config: KernelConfig, source: String)?,
        aufsConfig: Set<String>, aufsConfigSource: String
    ) -> SymbolCheck {
        let have = exportedSymbols(moduleSymvers: text)
        var required: [String] = []
        var notNeeded: [Excluded] = []
        var undecided: [Excluded] = []
        for sym in exports {
            let cond = RequiredExportsData.conditions[sym]
            if let opt = cond?.aufs, !aufsConfig.contains(opt) {
                notNeeded.append(
                    Excluded(symbol: sym, why: "aufs calls it only with \(opt), which \(aufsConfigSource) leaves unset")
                )
                continue
            }
            if let opts = cond?.kernel, !opts.isEmpty {
                guard let kc = kernelConfig else {
                    if !have.contains(sym) {
                        undecided.append(
                            Excluded(
                                symbol: sym,
                                why:
                                    "needed only with \(opts.joined(separator: " or ")), and the kernel config is "
                                    + "unreadable"
                            ))
                    }
                    continue
                }
                if !opts.contains(where: { ["y", "m"].contains(kc.config[$0] ?? "n") }) {
                    notNeeded.append(
                        Excluded(
                            symbol: sym,
                            why:
                                "\(opts.joined(separator: " or ")) is not set in \(kc.source), so the kernel has no "
                                + "such export to need"
                        ))
                    continue
                }
            }
            required.append(sym)
        }
        return SymbolCheck(
            branch: branch, listSource: listSource, exports: exports, required: required,
            missing: required.filter { !have.contains($0) }, notNeeded: notNeeded,
            undecided: undecided, source: source)
    }

    /// One sentence on the result, for check and install.
    public func summary(kernel k: String) -> String {
        if missing.isEmpty {
            let und =
                undecided.isEmpty
                ? ""
                : "; \(undecided.count) more could not be decided "
                    + "(\(undecided.map(\.symbol).joined(separator: ", ")): \(undecided[0].why))"
            return "kernel \(k) exports all \(required.count) symbols \(branch) needs\(und)"
        }
        if lacksPatches {
            return
                "kernel \(k) does not carry aufs's standalone patch: it exports \(present) of the \(required.count) "
                + "symbols \(branch) needs (missing: \(missing.joined(separator: ", ")))"
        }
        return
            "kernel \(k) carries aufs's patches but lacks \(missing.count) of the \(required.count) symbols \(branch) "
            + "needs: \(missing.joined(separator: ", "))"
    }

    /// The aufs options set to y/m in an aufs `config.mk` (`CONFIG_AUFS_EXPORT = y`).
    public static func aufsOptions(configMk text: String) -> Set<String> {
        var on = Set<String>()
        for line in text.split(separator: "\n") where line.hasPrefix("CONFIG_AUFS_") {
            let kv = line.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let v = kv[1].trimmingBlanks
            if v == "y" || v == "m" { on.insert(kv[0].trimmingBlanks) }
        }
        return on
    }

    /// Symbols from modpost's `ERROR: modpost: "SYM" [.../aufs.ko] undefined!` lines in make.log
    /// (before 5.8: `ERROR: "SYM" [...] undefined!`; 4.x may say WARNING).
    public static func undefinedByModpost(makeLog text: String) -> [String] {
        var out: [String] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingBlanks
            guard line.hasSuffix("] undefined!"), line.hasPrefix("ERROR:") || line.hasPrefix("WARNING:") else {
                continue
            }
            let q = line.split(separator: "\"", omittingEmptySubsequences: false)
            if q.count >= 3, !q[1].isEmpty, !out.contains(String(q[1])) { out.append(String(q[1])) }
        }
        return out
    }
}
