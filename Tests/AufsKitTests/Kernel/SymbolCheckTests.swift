// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct SymbolCheckTests {
    /// The 25 exports aufs5.10.140's aufs5-standalone.patch adds (read from the patch).
    static let aufs5_10_140 = [
        "d_walk", "d_exchange", "path_noexec", "setfl", "alloc_empty_file", "__mnt_drop_write",
        "is_current_mnt_ns", "iterate_mounts", "fsnotify_get_group", "do_truncate", "vfs_read",
        "vfs_write", "do_splice_from", "do_splice_to", "vfs_getxattr_alloc", "lockdep_hlock_class",
        "task_work_run", "security_path_rmdir", "security_path_symlink", "security_path_link",
        "security_path_truncate", "security_path_chmod", "security_path_chown",
        "security_inode_permission", "security_file_permission",
    ]
    /// What a 5.10.218 kernel patched with it exports without CONFIG_SECURITY_PATH and CONFIG_LOCKDEP.
    static let patchedExports = [
        "__mnt_drop_write", "alloc_empty_file", "d_exchange", "d_walk", "do_splice_from", "do_splice_to",
        "do_truncate", "fsnotify_get_group", "is_current_mnt_ns", "iterate_mounts", "path_noexec",
        "security_file_permission", "security_inode_permission", "setfl", "task_work_run",
        "vfs_getxattr_alloc", "vfs_read", "vfs_write",
    ]

    static func symvers(_ names: [String]) -> String {
        names.enumerated().map { "0x\(String($0.offset, radix: 16))\t\($0.element)\tvmlinux\tEXPORT_SYMBOL_GPL\t" }
            .joined(separator: "\n") + "\n"
    }

    static func check(config: String?, exported: [String], aufs: Set<String> = []) -> SymbolCheck {
        SymbolCheck.check(
            branch: "aufs5.10.140", exports: SymbolCheck.exports(branch: "aufs5.10.140")!, listSource: "t",
            moduleSymvers: symvers(exported), source: "Module.symvers",
            kernelConfig: config.map { (KernelConfig.parse($0), ".config") },
            aufsConfig: aufs, aufsConfigSource: "config.mk")
    }

    @Test func committedListOfABranchIsItsPatch() {
        #expect(SymbolCheck.exports(branch: "aufs5.10.140") == Self.aufs5_10_140)
        #expect(!SymbolCheck.exports(branch: "aufs5.10.140")!.contains("update_time"))
        #expect(!SymbolCheck.exports(branch: "aufs5.10.140")!.contains("__sync_filesystem"))
        #expect(SymbolCheck.exports(branch: "aufs5.10")!.contains("update_time"))
        #expect(SymbolCheck.exports(branch: "aufs9.9") == nil)
    }

    @Test func securityPathUnsetNeedsNoSecurityPathExports() {
        let c = Self.check(
            config: "CONFIG_SECURITY=y\n# CONFIG_SECURITY_PATH is not set\nCONFIG_FSNOTIFY=y\n",
            exported: Self.patchedExports)
        #expect(c.complete, "\(c.missing)")
        #expect(c.required.count == 15)
        #expect(
            Set(c.notNeeded.map(\.symbol)) == [
                "security_path_rmdir", "security_path_symlink", "security_path_link", "security_path_truncate",
                "security_path_chmod", "security_path_chown", "lockdep_hlock_class",
                "iterate_mounts", "fsnotify_get_group", "vfs_getxattr_alloc",
            ])
        #expect(
            c.notNeeded.first { $0.symbol == "security_path_chmod" }!.why.contains(
                "CONFIG_SECURITY_PATH is not set in .config"))
        #expect(c.notNeeded.first { $0.symbol == "iterate_mounts" }!.why.contains("CONFIG_AUFS_EXPORT"))
        #expect(c.summary(kernel: "5.10.218-aufstest").contains("exports all 15 symbols aufs5.10.140 needs"))
    }

    @Test func securityPathSetNeedsThemAndNamesWhatIsMissing() {
        let c = Self.check(config: "CONFIG_SECURITY=y\nCONFIG_SECURITY_PATH=y\n", exported: Self.patchedExports)
        #expect(
            c.missing == [
                "security_path_rmdir", "security_path_symlink", "security_path_link", "security_path_truncate",
                "security_path_chmod", "security_path_chown",
            ])
        #expect(!c.lacksPatches)
        #expect(
            c.summary(kernel: "K").hasPrefix(
                "kernel K carries aufs's patches but lacks 6 of the 21 symbols aufs5.10.140 needs: security_path_rmdir")
        )
        let withLockdep = Self.check(
            config: "CONFIG_SECURITY_PATH=y\nCONFIG_SECURITY=y\nCONFIG_LOCKDEP=y\n", exported: Self.patchedExports)
        #expect(withLockdep.missing.contains("lockdep_hlock_class"))
    }

    @Test func aufsOptionsTurnTheirExportsOn() {
        let c = Self.check(
            config: "CONFIG_SECURITY=y\nCONFIG_FSNOTIFY=y\n", exported: [],
            aufs: SymbolCheck.aufsOptions(
                configMk:
                    "CONFIG_AUFS_EXPORT = y\nCONFIG_AUFS_XATTR =\nCONFIG_AUFS_HNOTIFY = y\nCONFIG_AUFS_HFSNOTIFY = y\n")
        )
        #expect(c.required.contains("iterate_mounts") && c.required.contains("fsnotify_get_group"))
        #expect(!c.required.contains("vfs_getxattr_alloc"))
    }

    @Test func stockKernelLacksThePatches() {
        let c = Self.check(config: "CONFIG_SECURITY=y\nCONFIG_SECURITY_PATH=y\n", exported: ["printk", "vfs_getxattr"])
        #expect(c.lacksPatches && c.present == 0 && c.missing.count == 21)
        #expect(
            c.summary(kernel: "K").hasPrefix("kernel K does not carry aufs's standalone patch: it exports 0 of the 21"))
    }

    @Test func unreadableConfigLeavesConditionalExportsUndecided() {
        let c = Self.check(config: nil, exported: Self.patchedExports)
        #expect(c.complete)
        #expect(
            Set(c.undecided.map(\.symbol)) == [
                "security_path_rmdir", "security_path_symlink", "security_path_link",
                "security_path_truncate", "security_path_chmod", "security_path_chown",
                "lockdep_hlock_class",
            ])
        #expect(c.undecided[0].why.contains("kernel config is unreadable"))
        // Present conditional exports are fine whatever the config: not undecided.
        let all = Self.check(config: nil, exported: Self.aufs5_10_140)
        #expect(all.undecided.isEmpty && all.complete)
    }

    @Test func standalonePatchExports() {
        let patch = """
            +++ b/fs/dcache.c
            @@ -1390,6 +1390,7 @@ void d_walk(struct dentry *parent, void *data,
            +EXPORT_SYMBOL_GPL(d_walk);
            -EXPORT_SYMBOL_GPL(removed);
             EXPORT_SYMBOL(context_line);
            +EXPORT_SYMBOL(setfl);
            +EXPORT_SYMBOL_GPL(d_walk);
            """
        #expect(SymbolCheck.exports(standalonePatch: patch) == ["d_walk", "setfl"])
    }

    @Test func modpostUndefinedLines() {
        let log = """
              MODPOST /var/lib/dkms/aufs/6.1/build/fs/aufs/Module.symvers
            ERROR: modpost: "d_walk" [/var/lib/dkms/aufs/6.1/build/fs/aufs/aufs.ko] undefined!
            ERROR: modpost: "setfl" [/var/lib/dkms/aufs/6.1/build/fs/aufs/aufs.ko] undefined!
            ERROR: "vfs_read" [fs/aufs/aufs.ko] undefined!
            WARNING: modpost: missing MODULE_LICENSE() in x.o
            make[2]: *** [scripts/Makefile.modpost:126: Module.symvers] Error 1
            """
        #expect(SymbolCheck.undefinedByModpost(makeLog: log) == ["d_walk", "setfl", "vfs_read"])
    }

    /// The generated Swift tables must equal the data files under Kernel/exports.
    @Test func generatedTableMatchesDataFiles() throws {
        let dir = packageRoot() + "/Kernel/exports"
        let branches = try #require(FileRead.string("\(dir)/branches.txt"))
        var fromFile: [String: [String]] = [:]
        for line in branches.split(separator: "\n") where !line.hasPrefix("#") {
            let w = line.split(separator: " ").map(String.init)
            fromFile[w[0]] = Array(w.dropFirst())
        }
        #expect(fromFile.count > 80)
        #expect(RequiredExportsData.branches == fromFile, "run make exports")
        #expect(
            SymbolCheck.kernelOptions == Set(RequiredExportsData.conditions.values.flatMap(\.kernel)),
            "run make exports")
        #expect(RequiredExportsData.kernelOptions == RequiredExportsData.kernelOptions.sorted())
        let conditions = try #require(FileRead.string("\(dir)/conditions.txt"))
        var n = 0
        for line in conditions.split(separator: "\n") where !line.hasPrefix("#") {
            let w = line.split(separator: " ").map(String.init)
            let c = try #require(RequiredExportsData.conditions[w[0]], "run make exports")
            #expect(c.kernel == (w[1] == "-" ? [] : w[1].split(separator: "|").map(String.init)))
            #expect(c.aufs == (w[2] == "-" ? nil : w[2]))
            n += 1
        }
        #expect(RequiredExportsData.conditions.count == n)
        // Every conditional symbol is exported by some branch (no typo in the table).
        let all = Set(RequiredExportsData.branches.values.joined())
        #expect(Set(RequiredExportsData.conditions.keys).isSubset(of: all))
    }
}

@Suite struct AufsBranchTests {
    @Test func pointBranchBySublevel() {
        let k = KernelRelease("5.10.218-aufstest")!
        let (b, _) = AufsBranch.choose(for: k, sublevel: 218, sublevelSource: "SUBLEVEL")
        #expect(b?.name == "aufs5.10.140")
        #expect(b?.repository == "https://github.com/sfjro/aufs-standalone.git")
        #expect(b?.reason.contains("highest aufs5.10 branch with a sublevel <= 218") == true)
        #expect(AufsBranch.choose(for: k, sublevel: 139, sublevelSource: nil).branch?.name == "aufs5.10.117")
        #expect(AufsBranch.choose(for: k, sublevel: 81, sublevelSource: nil).branch?.name == "aufs5.10")
        #expect(AufsBranch.choose(for: k, sublevel: 140, sublevelSource: nil).branch?.name == "aufs5.10.140")
        // Unknown sublevel: the series branch, never a point branch that may be too new.
        #expect(
            AufsBranch.choose(for: KernelRelease("5.10.0-28-amd64")!, sublevel: nil, sublevelSource: nil).branch?.name
                == "aufs5.10")
    }

    @Test func neverAnotherSeries() {
        let (b, why) = AufsBranch.choose(for: KernelRelease("5.11.3")!, sublevel: 3, sublevelSource: nil)
        #expect(b?.name == "aufs5.11")
        let (none, why2) = AufsBranch.choose(for: KernelRelease("6.99.1")!, sublevel: 1, sublevelSource: nil)
        #expect(none == nil && why.isEmpty)
        #expect(why2.contains("no aufs6.99 branch"))
        // aufs4 lives in its own repository; "+" and "-untested" point branches count.
        let four = AufsBranch.choose(for: KernelRelease("4.14.80")!, sublevel: 80, sublevelSource: nil).branch
        #expect(four?.name == "aufs4.14.73+" && four?.repository == "https://github.com/sfjro/aufs4-standalone.git")
        #expect(
            AufsBranch.choose(for: KernelRelease("4.11.3")!, sublevel: 3, sublevelSource: nil).branch?.name
                == "aufs4.11.0-untested")
    }

    @Test func releaseCandidates() {
        #expect(
            AufsBranch.choose(for: KernelRelease("6.13.0-rc3")!, sublevel: 0, sublevelSource: nil).branch?.name
                == "aufs6.x-rcN")
    }

    @Test func headsFromLsRemote() {
        let heads = AufsBranch.parseHeads(
            "abc\trefs/heads/aufs6.1\ndef\trefs/heads/aufs6.12\n0f\trefs/heads/aufs6.12.3\n")
        #expect(heads == ["aufs6.1", "aufs6.12", "aufs6.12.3"])
        #expect(
            AufsBranch.choose(for: KernelRelease("6.12.9")!, sublevel: 9, sublevelSource: nil, heads: heads).branch?
                .name == "aufs6.12.3")
    }

    @Test func sublevelFromMakefile() {
        #expect(AufsBranch.sublevel(makefile: "VERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = 218\nEXTRAVERSION =\n") == 218)
        #expect(
            AufsBranch.includes(makefile: "include /usr/src/linux-headers-6.1.0-57-common/Makefile\n") == [
                "/usr/src/linux-headers-6.1.0-57-common/Makefile"
            ])
    }

    @Test func headersMetaPackage() {
        #expect(DKMSMethod.headersMetaPackage(KernelRelease("6.1.0-57-cloud-amd64")!) == "linux-headers-cloud-amd64")
        #expect(DKMSMethod.headersMetaPackage(KernelRelease("6.1.0-57-amd64")!) == "linux-headers-amd64")
        #expect(DKMSMethod.headersMetaPackage(KernelRelease("6.1.0-57-rt-amd64")!) == "linux-headers-rt-amd64")
        #expect(DKMSMethod.headersMetaPackage(KernelRelease("5.4.0-42-generic")!) == "linux-headers-generic")
        #expect(DKMSMethod.headersMetaPackage(KernelRelease("5.10.218-aufstest")!) == nil)
    }
}

@Suite struct KernelConfigTests {
    @Test func parse() {
        let c = KernelConfig.parse(
            "CONFIG_MODULES=y\n# CONFIG_AUFS_FS is not set\nCONFIG_OVERLAY_FS=m\nCONFIG_LOCALVERSION=\"\"\n")
        #expect(c["CONFIG_MODULES"] == "y")
        #expect(c["CONFIG_AUFS_FS"] == "n")
        #expect(c["CONFIG_OVERLAY_FS"] == "m")
        #expect(c["CONFIG_NOPE"] == nil)
    }
}
