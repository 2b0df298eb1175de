/// Can this kernel build aufs out of tree: are the exports aufs needs in its `Module.symvers`?
public struct SymbolCheck: Sendable, Equatable, Codable {
    /// The aufs series whose list was used (`aufs6`, `aufs5`, `aufs4`).
    public var series: String
    public var required: [String]
    public var missing: [String]
    /// The file the exports were read from.
    public var source: String

    public var present: Int { required.count - missing.count }
    public var complete: Bool { missing.isEmpty }

    /// The export list for a kernel: aufs6 for 6.x and later, aufs5 for 5.x, aufs4 for 4.x.
    public static func series(for k: KernelRelease) -> String {
        k.major >= 6 ? "aufs6" : (k.major == 5 ? "aufs5" : (k.major == 4 ? "aufs4" : "aufs\(k.major)"))
    }

    public static func requiredExports(series: String) -> [String] {
        RequiredExportsData.series[series] ?? []
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

    public static func check(kernel: KernelRelease, moduleSymvers text: String, source: String) -> SymbolCheck {
        let s = series(for: kernel)
        let req = requiredExports(series: s)
        let have = exportedSymbols(moduleSymvers: text)
        return SymbolCheck(series: s, required: req, missing: req.filter { !have.contains($0) }, source: source)
    }
}
