import Testing
@testable import AufsKit

@Suite struct SymbolCheckTests {
    @Test func seriesByKernel() {
        #expect(SymbolCheck.series(for: KernelRelease("6.1.0-18-amd64")!) == "aufs6")
        #expect(SymbolCheck.series(for: KernelRelease("5.10.0-28-amd64")!) == "aufs5")
        #expect(SymbolCheck.series(for: KernelRelease("4.19.0-26-amd64")!) == "aufs4")
    }

    @Test func missingExports() {
        let symvers = "0x1\td_walk\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x2\tvfs_read\tvmlinux\tEXPORT_SYMBOL\t\n0x3\tother\tfs/x\tEXPORT_SYMBOL\tNS\n"
        let c = SymbolCheck.check(kernel: KernelRelease("6.1.0-18-amd64")!, moduleSymvers: symvers, source: "x")
        #expect(c.required.count == 21)
        #expect(c.present == 2)
        #expect(!c.missing.contains("d_walk") && c.missing.contains("d_exchange"))
    }

    /// The generated Swift table must equal the data files under Kernel/exports.
    @Test func generatedTableMatchesDataFiles() throws {
        let dir = packageRoot() + "/Kernel/exports"
        for series in ["aufs4", "aufs5", "aufs6"] {
            let text = try #require(FileRead.string("\(dir)/\(series).txt"))
            let fromFile = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map(String.init)
            #expect(SymbolCheck.requiredExports(series: series) == fromFile, "run Kernel/exports/generate.sh")
        }
    }
}

@Suite struct KernelConfigTests {
    @Test func parse() {
        let c = KernelConfig.parse("CONFIG_MODULES=y\n# CONFIG_AUFS_FS is not set\nCONFIG_OVERLAY_FS=m\nCONFIG_LOCALVERSION=\"\"\n")
        #expect(c["CONFIG_MODULES"] == "y")
        #expect(c["CONFIG_AUFS_FS"] == "n")
        #expect(c["CONFIG_OVERLAY_FS"] == "m")
        #expect(c["CONFIG_NOPE"] == nil)
    }
}
