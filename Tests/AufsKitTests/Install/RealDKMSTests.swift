// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

private let testKernel: String? = getenv("AUFSCTL_TEST_KVER").map { String(cString: $0) }
private let canRunDKMS = geteuid() == 0 && testKernel != nil

/// Real DKMS on this machine: the stand-in module (Kernel/standin) built for a real Debian cloud
/// kernel's headers by `aufsctl install --method dkms`, re-run, refused without the export
/// override, and removed by `aufsctl uninstall`; then a stand-in that needs an export the kernel
/// lacks, whose failed build is reported from modpost's lines. dkms itself may be absent before
/// (a fresh machine): install brings it and uninstall removes it again.
@Suite(
    .serialized,
    .enabled(if: canRunDKMS, "needs root and AUFSCTL_TEST_KVER (a real kernel's headers): run through `sudo make test`")
)
struct RealDKMSTests {
    /// What `dkms status -m aufs` says, or [] when dkms is not installed (uninstall removed it).
    func dkmsEntries() async throws -> [DKMSStatusEntry] {
        guard SubprocessRunner().which("dkms") != nil else { return [] }
        let r = try await SubprocessRunner().run(["dkms", "status", "-m", "aufs"])
        return DKMSStatusEntry.parse(r.stdout)
    }

    @Test func installRerunPreflightUninstall() async throws {
        let k = testKernel!
        let source = packageRoot() + "/Kernel/standin"
        let args = ["install", "--method", "dkms", "--source", source, "--kernel", k, "--no-load", "--yes"]
        let ko = "/lib/modules/\(k)/updates/dkms/aufs.ko"
        let hadDKMS = SubprocessRunner().which("dkms") != nil

        let first = try await aufsctl(args + ["--skip-export-check"])
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("dkms build aufs/0.0-standin -k \(k) ... changed"), "\(first.stdout)")
        // What the flag skipped says so; the provenance has its own line; "next:" names next steps only.
        #expect(first.stdout.contains("needs ... skipped (--skip-export-check)"), "\(first.stdout)")
        #expect(first.stdout.contains("\nbuilt from: \(source) sha256:"), "\(first.stdout)")
        #expect(!first.stdout.contains("next: built from"), "\(first.stdout)")
        #expect(FileRead.exists(ko))
        #expect(
            try await dkmsEntries().contains {
                $0.version == "0.0-standin" && $0.kernel == k && $0.state == "installed"
            })
        #expect(FileRead.string("/usr/src/aufs-0.0-standin/dkms.conf")?.contains("AUTOINSTALL=\"yes\"") == true)
        var st1 = stat()
        stat(ko, &st1)

        let second = try await aufsctl(args + ["--skip-export-check"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("nothing to do") && !second.stdout.contains("changed"), "\(second.stdout)")
        var st2 = stat()
        stat(ko, &st2)
        #expect(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec && st1.st_ino == st2.st_ino, "the module was rebuilt")

        // With the headers in place, the preflight reads the real Module.symvers and stops: a stock
        // Debian kernel does not carry aufs's patches.
        let blocked = try await aufsctl(args)
        #expect(blocked.status == 4, "\(blocked.stdout)\n\(blocked.stderr)")
        #expect(
            blocked.stdout.contains("does not carry aufs's standalone patch") && blocked.stdout.contains("d_walk")
                && blocked.stdout.contains("symbols aufs6.1 needs"), "\(blocked.stdout)")
        #expect(blocked.stdout.contains("dkms build aufs/0.0-standin -k \(k) ... not reached"))

        let un = try await aufsctl(["uninstall", "--yes"])
        #expect(un.status == 0, "\(un.stdout)\n\(un.stderr)")
        #expect(!FileRead.exists(ko))
        #expect(!FileRead.exists("/usr/src/aufs-0.0-standin"))
        #expect(!FileRead.exists("/etc/modules-load.d/aufs.conf"))
        #expect(try await dkmsEntries().isEmpty)
        #expect(!FileRead.exists("/var/lib/dkms/aufs"))
        // dkms stays exactly as it was found: installed before, still installed; brought by the
        // install, removed by the uninstall.
        #expect((SubprocessRunner().which("dkms") != nil) == hadDKMS)
        #expect(try InstallState.load(root: HostRoot()).installs.isEmpty)
    }

    /// A stand-in that calls d_walk (static in 6.1's fs/dcache.c, exported only by aufs's
    /// standalone patch): the real build fails at modpost, and install names the symbol.
    @Test func failedBuildNamesModpostsUndefinedSymbols() async throws {
        let k = testKernel!
        let t = TempDir()
        let src = t.path + "/standin"
        let cp = try await SubprocessRunner().run(["cp", "-a", packageRoot() + "/Kernel/standin", src])
        #expect(cp.succeeded)
        let header = src + "/include/uapi/linux/aufs_type.h"
        let h = try #require(FileRead.string(header))
        try AtomicFile.write(header, h.replacingOccurrences("\"0.0-standin\"", "\"0.0-needs-export\""))
        let module = src + "/fs/aufs/module.c"
        let m = try #require(FileRead.string(module))
        try AtomicFile.write(
            module,
            m.replacingOccurrences(
                "static int __init aufs_init(void)\n{\n\tint err;\n",
                "extern void d_walk(void);\nstatic bool needs_export;\nmodule_param(needs_export, bool, 0);\n\nstatic int __init aufs_init(void)\n{\n\tint err;\n\n\tif (needs_export)\n\t\td_walk();\n"
            ))

        let r = try await aufsctl([
            "install", "--method", "dkms", "--source", src, "--kernel", k, "--no-load", "--yes", "--skip-export-check",
        ])
        #expect(r.status != 0)
        #expect(
            r.stdout.contains(
                "the kernel does not export 1 symbol this aufs needs: d_walk (modpost, /var/lib/dkms/aufs/0.0-needs-export/build/make.log)"
            ),
            "\(r.stdout)\n\(r.stderr)")
        let un = try await aufsctl(["uninstall", "--yes"])
        #expect(un.status == 0, "\(un.stdout)\n\(un.stderr)")
        #expect(!FileRead.exists("/usr/src/aufs-0.0-needs-export"))
        #expect(!FileRead.exists("/var/lib/dkms/aufs"))
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
