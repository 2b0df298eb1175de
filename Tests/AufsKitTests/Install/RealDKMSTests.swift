// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Foundation
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
        let hadLogs = FileRead.exists("/var/log/aufsctl")
        defer { if !hadLogs { RecursiveRemove.remove("/var/log/aufsctl") } }
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
        #expect(FileRead.string("/usr/src/aufs-0.0-standin/dkms.conf")?.contains("AUTOINSTALL=\"\"") == true)
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
        let hadLogs = FileRead.exists("/var/log/aufsctl")
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
                "the kernel does not export 1 symbol this aufs needs: d_walk (modpost, /var/log/aufsctl/make-aufs-0.0-needs-export-\(k).log)"
            ),
            "\(r.stdout)\n\(r.stderr)")
        // Rolled back: nothing of it is left, and no record for uninstall.
        #expect(r.stdout.contains("rolled back: the host is as it was before this run"), "\(r.stdout)")
        #expect(!FileRead.exists("/usr/src/aufs-0.0-needs-export"))
        #expect(!FileRead.exists("/var/lib/dkms/aufs"))
        #expect(try InstallState.load(root: HostRoot()).installs.isEmpty)
        if !hadLogs { RecursiveRemove.remove("/var/log/aufsctl") }
    }

    /// A copy of the stand-in named `version`, with `module.c` given `code` before aufs_init.
    func standinVariant(_ t: TempDir, version: String, code: String) async throws -> String {
        let src = t.path + "/" + version
        let cp = try await SubprocessRunner().run(["cp", "-a", packageRoot() + "/Kernel/standin", src])
        try #require(cp.succeeded)
        let header = src + "/include/uapi/linux/aufs_type.h"
        let h = try #require(FileRead.string(header))
        try AtomicFile.write(header, h.replacingOccurrences("\"0.0-standin\"", "\"\(version)\""))
        let module = src + "/fs/aufs/module.c"
        let m = try #require(FileRead.string(module))
        try AtomicFile.write(
            module,
            m.replacingOccurrences("static int __init aufs_init(void)\n", code + "static int __init aufs_init(void)\n"))
        return src
    }

    /// What an install may change, as names, kinds, modes, owners and sizes (apt's logs and caches
    /// aside): the package set, /usr/src, /var/lib/dkms, /etc, the module trees and state.json.
    func hostSnapshot() async throws -> String {
        let pkgs = try await SubprocessRunner().run(["dpkg-query", "-W"])
        let files = try await SubprocessRunner().run([
            "find", "/usr/src", "/var/lib/dkms", "/etc", "/lib/modules", "-xdev", "-printf", "%p %y %m %U %s\\n",
        ])
        let lines = files.stdout.split(separator: "\n").filter { !$0.hasPrefix("/etc/ld.so.cache ") }.sorted()
        return pkgs.stdout + lines.joined(separator: "\n") + (FileRead.string(InstallState.path) ?? "")
    }

    /// `check --build` compiles the stand-in against the real headers and a variant that does not
    /// compile for this kernel (vfs_rename called as aufs5.10.140 calls it: the renamedata ABI),
    /// naming the file and line; with the headers there, `install --build` of that variant is refused
    /// before any change (exit 4), `install` without --build fails at dkms build and rolls back to the
    /// same host, and `--keep-on-failure` keeps it (exit 6) for `uninstall`.
    @Test func trialBuildAndRollback() async throws {
        let k = testKernel!
        let t = TempDir()
        let good = packageRoot() + "/Kernel/standin"
        let broken = try await standinVariant(
            t, version: "0.0-broken",
            code:
                "#include <linux/fs.h>\n#include <linux/version.h>\n#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 12, 0)\n"
                + "int aufs_broken(struct inode *a, struct dentry *b, struct inode *c, struct dentry *d)\n"
                + "{\n\treturn vfs_rename(a, b, c, d, NULL, 0);\n}\n#endif\n")
        let hadLogs = FileRead.exists("/var/log/aufsctl")
        let base = ["--kernel", k, "--skip-export-check"]
        let install = ["install", "--method", "dkms", "--no-load", "--yes"] + base

        // The broken variant with --build first: the packages (the headers) are installed, the trial
        // fails, and --keep-on-failure keeps them for what follows (no aufs module built): exit 6, the
        // host partly changed, not 4 (which says nothing changed).
        let first = try await aufsctl(install + ["--source", broken, "--build", "--keep-on-failure"])
        #expect(first.status == 6, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("fs/aufs/module.c:"), "\(first.stdout)")
        #expect(FileRead.isDirectory("/lib/modules/\(k)/build") && !FileRead.exists("/usr/src/aufs-0.0-broken"))
        let before = try await hostSnapshot()

        let yes = try await aufsctl(["check", "--build", "--source", good, "--json"] + base)
        #expect(yes.status == 3, "\(yes.stdout)\n\(yes.stderr)")
        let yesReport = try JSONDecoder().decode(CheckReport.self, from: Data(yes.stdout.utf8))
        #expect(yesReport.facts.build.trial?.built == "--source" && yesReport.verdict.state == .installable)
        #expect(yesReport.verdict.reason.contains("a trial build of the --source tree compiled for \(k)"))

        let no = try await aufsctl(["check", "--build", "--source", broken, "--json"] + base)
        #expect(no.status == 4, "\(no.stdout)\n\(no.stderr)")
        let noReport = try JSONDecoder().decode(CheckReport.self, from: Data(no.stdout.utf8))
        let error = noReport.facts.build.trial?.attempts.first?.errors.first
        #expect(error?.file == "fs/aufs/module.c" && (error?.line ?? 0) > 0, "\(String(describing: error))")
        #expect(noReport.verdict.state == .blocked && noReport.verdict.reason.contains("fs/aufs/module.c:"))
        #expect(no.stderr.contains("trial build: compiling --source for \(k)"), "\(no.stderr)")
        #expect(try await hostSnapshot() == before, "check --build changed the host")

        let refused = try await aufsctl(install + ["--source", broken, "--build", "--json"])
        #expect(refused.status == 4, "\(refused.stdout)\n\(refused.stderr)")
        let refusedReport = try JSONDecoder().decode(InstallReport.self, from: Data(refused.stdout.utf8))
        #expect(!refusedReport.changed && refusedReport.steps.first?.status == .blocked)
        #expect(try await hostSnapshot() == before, "install --build changed the host")

        let rolled = try await aufsctl(install + ["--source", broken, "--json"])
        #expect(rolled.status == 1, "\(rolled.stdout)\n\(rolled.stderr)")
        let rolledReport = try JSONDecoder().decode(InstallReport.self, from: Data(rolled.stdout.utf8))
        #expect(rolledReport.onFailure == .rolledBack && rolledReport.undone?.isEmpty == false)
        let keptLog = "/var/log/aufsctl/make-aufs-0.0-broken-\(k).log"
        #expect(rolledReport.message?.contains(keptLog) == true, "\(String(describing: rolledReport.message))")
        #expect(FileRead.string(keptLog)?.contains("vfs_rename") == true)
        #expect(try await hostSnapshot() == before, "the rollback left the host changed")

        let kept = try await aufsctl(install + ["--source", broken, "--keep-on-failure"])
        #expect(kept.status == 6, "\(kept.stdout)\n\(kept.stderr)")
        #expect(FileRead.exists("/usr/src/aufs-0.0-broken"))

        let un = try await aufsctl(["uninstall", "--yes"])
        #expect(un.status == 0, "\(un.stdout)\n\(un.stderr)")
        #expect(!FileRead.exists("/usr/src/aufs-0.0-broken") && !FileRead.exists("/usr/src/aufs-0.0-standin"))
        #expect(try await dkmsEntries().isEmpty)
        #expect(try InstallState.load(root: HostRoot()).installs.isEmpty)
        if !hadLogs { RecursiveRemove.remove("/var/log/aufsctl") }
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
