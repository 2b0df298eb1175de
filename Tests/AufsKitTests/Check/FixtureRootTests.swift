// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// `HostProbe` over the committed host trees in `Tests/Fixtures/roots/` (see the README there).
/// A root-tree probe must read files only: the runner stub fails the test when the probe tries
/// to run a command. (Syscalls stay the real ones: a root-tree probe only calls geteuid, whose
/// answer is normalised before JSON is compared.)
@Suite struct FixtureRootTests {
    /// `Tests/Fixtures`, found from this file: `Tests/AufsKitTests/Check/FixtureRootTests.swift`.
    static let fixtures: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Fixtures"
    }()

    static func rootPath(_ name: String) -> String { fixtures + "/roots/" + name }

    /// A CommandRunner that must not be used: a root tree is read, never run.
    struct ForbiddenRunner: CommandRunner {
        func run(_ argv: [String], environment: [String: String]) async throws -> CommandResult {
            Issue.record("probing a root tree ran a command: \(argv)")
            throw AufsError("ForbiddenRunner: \(argv.joined(separator: " "))")
        }
        func which(_ name: String) -> String? {
            Issue.record("probing a root tree looked up \(name) on PATH")
            return nil
        }
    }

    static func probe(_ name: String) async throws -> (HostRoot, HostFacts, Verdict) {
        let root = HostRoot(rootPath(name))
        #expect(FileRead.isDirectory(root.path), "fixture root \(root.path) is missing")
        let facts = try await HostProbe(root: root, runner: ForbiddenRunner()).probe()
        return (root, facts, Verdict.decide(facts))
    }

    // MARK: - verdicts

    @Test func centos7StockIsInstallableWithKernelMLAufs() async throws {
        let (_, f, v) = try await Self.probe("centos7")
        #expect(v.state == .installable)
        #expect(v.method == .kernelMLAufs)
        #expect(v.exitCode == .installable)
        #expect(f.distro.family?.description == "rhel-like 7")
        #expect(f.distro.evidence.contains(Evidence("/etc/centos-release", "CentOS Linux release 7.9.2009 (Core)")))
        #expect(f.kernel.release.string == "3.10.0-1160.el7.x86_64")
        #expect(f.kernel.flavor == .el7)
        #expect(f.kernel.machine == "x86_64")
        #expect(f.filesystems.aufs == false)
        #expect(f.module.found == false)
        #expect(f.module.configAufsFs == nil)
        #expect(f.module.overlayModule == "/lib/modules/3.10.0-1160.el7.x86_64/kernel/fs/overlayfs/overlay.ko.xz")
        // aufs3 (kernels 3.x) has no export list: the build check says so instead of using aufs4's.
        #expect(f.build.series == "aufs3" && f.build.missing == nil && f.build.symvers == nil && f.build.branch == nil)
        // The default xino lives in /run/aufsctl/xino: /run is tmpfs there (/ and /tmp are xfs).
        #expect(f.xino.filesystem == "tmpfs")
        #expect(f.xino.accepted == true)
        #expect(f.otherAufsKernels.isEmpty)
    }

    @Test func centos7AfterKernelMLAufsIsUsable() async throws {
        let (_, f, v) = try await Self.probe("centos7-aufs")
        #expect(v.state == .usable)
        #expect(v.method == nil)
        #expect(v.exitCode == .success)
        #expect(f.kernel.release.string == "5.13.1-1.el7.x86_64")
        #expect(f.kernel.flavor == .elRepo)
        #expect(f.filesystems.aufs == true)
        #expect(f.filesystems.evidence.first == Evidence("/proc/filesystems", "nodev aufs"))
        #expect(f.module.configAufsFs == "y")
        #expect(f.module.builtin)
        #expect(f.module.found == true)
        #expect(f.module.path == nil)
        #expect(f.module.state == .builtin)
        // The stock 3.10 config is still in /boot and has no aufs.
        #expect(f.otherAufsKernels.isEmpty)
    }

    @Test func debian11IsBlockedByMissingExports() async throws {
        let (_, f, v) = try await Self.probe("debian11")
        #expect(v.state == .blocked)
        #expect(v.method == nil)
        #expect(v.exitCode == .blocked)
        #expect(f.kernel.debianPointRelease == "5.10.209-2")
        #expect(f.build.headers)
        #expect(f.build.symvers == "/lib/modules/5.10.0-28-amd64/build/Module.symvers")
        #expect(f.build.series == "aufs5")
        // Debian 5.10.209 (uname -v): the point branch aufs5.10.140, whose patch exports 25
        // symbols; 4 are not needed (aufs options off, no CONFIG_LOCKDEP), 21 are all missing.
        #expect(f.build.sublevel == 209)
        #expect(f.build.branch?.name == "aufs5.10.140")
        #expect(f.build.required == 21 && f.build.missing?.count == 21 && f.build.lacksPatches == true)
        #expect(
            Set(f.build.notNeeded.map(\.symbol)) == [
                "iterate_mounts", "fsnotify_get_group", "vfs_getxattr_alloc", "lockdep_hlock_class",
            ])
        #expect(v.reason.contains("does not carry aufs's patches: it exports 0 of the 21 symbols aufs5.10.140 needs"))
        for symbol in ["d_walk", "task_work_run", "security_path_chmod"] {
            #expect(v.reason.contains(symbol))
        }
        #expect(!v.reason.contains("__sync_filesystem") && !v.reason.contains("update_time"))
        #expect(v.waysOut.contains { $0.contains("--fallback overlay") })
    }

    /// linux 5.10.218 patched with aufs5.10.140's base, mmap and standalone patches, with a real
    /// x86_64_defconfig + kvm_guest.config .config (CONFIG_SECURITY_PATH unset): the 18 exports it
    /// really has among 3000 real Module.symvers lines are all this kernel needs.
    @Test func patchedKernelWithoutSecurityPathIsInstallable() async throws {
        let root = HostRoot(packageRoot() + "/Tests/Fixtures/roots/debian11")
        let f = try await HostProbe(root: root, syscalls: FakeSyscalls(), runner: ScriptedRunner()).probe(
            kernel: KernelRelease("5.10.218-aufstest"))
        let v = Verdict.decide(f)
        #expect(v.state == .installable && v.method == .dkms, "\(v)")
        #expect(f.build.sublevel == 218)
        #expect(f.build.branch?.name == "aufs5.10.140")
        #expect(f.build.kernelConfig == "/boot/config-5.10.218-aufstest")
        #expect(f.build.missing == [] && f.build.required == 15)
        #expect(
            f.build.notNeeded.contains {
                $0.symbol == "security_path_chmod" && $0.why.contains("CONFIG_SECURITY_PATH is not set")
            })
        #expect(v.reason.contains("branch aufs5.10.140"))
    }

    @Test func debian12WithoutHeadersIsBlocked() async throws {
        let (_, f, v) = try await Self.probe("debian12")
        #expect(v.state == .blocked)
        #expect(v.method == nil)
        #expect(f.distro.family?.description == "debian 12")
        #expect(f.kernel.debianPointRelease == "6.1.76-1")
        #expect(f.build.headers == false)
        #expect(f.build.missing == nil)
        #expect(f.build.series == "aufs6")
        #expect(f.module.found == false)
        #expect(f.module.overlayModule == "/lib/modules/6.1.0-18-amd64/kernel/fs/overlayfs/overlay.ko")
        #expect(v.reason.contains("Debian 12"))
        #expect(v.waysOut.contains { $0.contains("linux-headers-6.1.0-18-amd64") })
    }

    @Test func ubuntu2004WithAufsKoIsLoadable() async throws {
        let (_, f, v) = try await Self.probe("ubuntu2004")
        let path = "/lib/modules/5.4.0-42-generic/kernel/fs/aufs/aufs.ko"
        #expect(v.state == .loadable)
        #expect(v.method == nil)
        #expect(v.exitCode == .installable)
        #expect(v.reason.contains(path))
        #expect(f.distro.family?.description == "ubuntu 20.04")
        #expect(f.module.found == true)
        #expect(f.module.path == path)
        #expect(f.module.vermagic == "5.4.0-42-generic SMP mod_unload modversions")
        #expect(f.module.state == .notLoaded)
        #expect(f.module.builtin == false)
        #expect(f.module.configAufsFs == "m")
        #expect(f.module.signer == nil)
        #expect(f.module.blacklistedBy.isEmpty)
    }

    @Test func ubuntu2204IsBlockedAndSecureBootIsEnabled() async throws {
        let (_, f, v) = try await Self.probe("ubuntu2204")
        #expect(v.state == .blocked)
        #expect(v.method == nil)
        #expect(f.boot.uefi)
        #expect(f.boot.secureBoot == .enabled)
        #expect(f.build.headers)
        #expect(f.build.symvers == "/lib/modules/5.15.0-91-generic/build/Module.symvers")
        #expect(f.build.branch?.name == "aufs5.15")
        #expect(f.build.missing?.count == 24 && f.build.lacksPatches == true)
        #expect(f.build.branch?.reason.contains("need the sublevel") == true)
        #expect(f.xino.filesystem == "tmpfs")
        #expect(f.xino.accepted == true)
    }

    // MARK: - exact JSON

    /// The report as `aufsctl check --json` prints it, with what depends on the machine running
    /// the test replaced: the absolute root path and the caller's euid.
    static func normalisedJSON(_ name: String) async throws -> String {
        let (root, facts, _) = try await probe(name)
        var f = facts
        f.user = HostFacts.User(euid: 0, root: true)
        var report = CheckReport(root: root, facts: f)
        report.root = "Tests/Fixtures/roots/" + name
        return try report.json() + "\n"
    }

    @Test(arguments: ["centos7", "ubuntu2004", "ubuntu2204"])
    func jsonMatchesExpected(_ name: String) async throws {
        let actual = try await Self.normalisedJSON(name)
        let expectedPath = Self.fixtures + "/expected/\(name).json"
        // AUFSCTL_UPDATE_EXPECTED=1 swift test ... rewrites the expected files (review the diff).
        if getenv("AUFSCTL_UPDATE_EXPECTED") != nil {
            try Data(actual.utf8).write(to: URL(filePath: expectedPath))
        }
        let expected = try #require(FileRead.string(expectedPath), "missing \(expectedPath)")
        #expect(actual == expected)
        if actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            if let i = (0..<max(a.count, e.count)).first(where: { $0 >= a.count || $0 >= e.count || a[$0] != e[$0] }) {
                Issue.record(
                    "first difference at line \(i + 1): got \(i < a.count ? String(a[i]) : "<end>"), expected \(i < e.count ? String(e[i]) : "<end>")"
                )
            }
        }
    }
}
