// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// libkmod and the export check against a real Debian cloud kernel package (scripts/with-kernel.sh
/// fetches it and sets AUFSCTL_TEST_KROOT / AUFSCTL_TEST_KVER).
private var realTree: (root: String, kver: String)? {
    guard let r = getenv("AUFSCTL_TEST_KROOT"), let k = getenv("AUFSCTL_TEST_KVER") else { return nil }
    return (String(cString: r), String(cString: k))
}

@Suite(
    .enabled(
        if: realTree != nil,
        "needs AUFSCTL_TEST_KROOT and AUFSCTL_TEST_KVER: a real Debian kernel tree, fetched by `sudo make test`"))
struct RealKernelTreeTests {
    static var tree: (root: String, kver: String)? { realTree }

    @Test func libkmodResolvesOverlayAndMissesAufs() throws {
        let (root, kver) = Self.tree!
        let index = try ModuleIndex(root: HostRoot(root), kernel: kver)
        let overlay = try #require(index.lookup("overlay"))
        #expect(overlay.path?.hasSuffix("/kernel/fs/overlayfs/overlay.ko") == true, "\(overlay.path ?? "nil")")
        #expect(overlay.builtin == false)
        #expect(overlay.vermagic?.hasPrefix(kver + " ") == true)
        #expect(index.lookup("aufs") == nil)
        // An alias resolves to its module, as modprobe would.
        #expect(index.lookup("fs-overlay")?.name == "overlay")
    }

    @Test func exportCheckAgainstRealModuleSymvers() async throws {
        let (root, kver) = Self.tree!
        let facts = try await HostProbe(root: HostRoot(root), runner: ScriptedRunner())
            .probe(kernel: KernelRelease(kver))
        #expect(facts.build.headers)
        #expect(facts.build.symvers == "/lib/modules/\(kver)/build/Module.symvers")
        let missing = try #require(facts.build.missing)
        // Debian 12 disables the aufs patches: the exports the standalone patch adds are absent...
        #expect(
            missing.contains("d_walk") && missing.contains("is_current_mnt_ns")
                && missing.contains("security_path_chmod"))
        // ...while the file itself is the real thing, full of ordinary exports.
        let text = try #require(FileRead.string(HostRoot(root).resolve("/lib/modules/\(kver)/build/Module.symvers")))
        let exported = SymbolCheck.exportedSymbols(moduleSymvers: text)
        #expect(exported.count > 10_000)
        #expect(exported.contains("kernel_read") && exported.contains("vfs_fsync"))
        #expect(Verdict.decide(facts).state == .blocked)
        #expect(Verdict.decide(facts).reason.contains("does not carry aufs's patches"))
        // The real sublevel comes from the headers' Makefile (Debian's ABI name says 6.1.0).
        #expect(facts.build.sublevel.map { $0 > 0 } == true)
        #expect(facts.build.branch?.name == "aufs6.1")
        #expect(facts.module.overlayModule?.hasSuffix("overlay.ko") == true)
    }
}
