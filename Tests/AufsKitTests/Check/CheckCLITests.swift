// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Runs the built aufsctl binary (it sits beside the test bundle) by argv.
func aufsctl(_ args: [String], env: [String: String] = [:], asUser uid: UInt32? = nil) async throws -> CommandResult {
    let bin = Paths.dirname(FileRead.readLink("/proc/self/exe") ?? "") + "/aufsctl"
    var argv = [bin] + args
    if let uid { argv = ["setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--"] + argv }
    return try await SubprocessRunner().run(argv, environment: env)
}

/// A minimal root tree: a running kernel and /proc/filesystems, and whatever a test adds.
func minimalRoot(
    osRelease: String? = "ID=debian\nVERSION_ID=\"12\"\n", filesystems: String? = "nodev\toverlay\n"
) -> TempDir {
    let t = TempDir()
    t.write("proc/sys/kernel/osrelease", "6.1.0-18-amd64\n")
    if let osRelease { t.write("etc/os-release", osRelease) }
    if let filesystems { t.write("proc/filesystems", filesystems) }
    t.mkdirs(t.path + "/tmp")
    return t
}

@Suite struct CheckCLITests {
    @Test func nonexistentRoot() async throws {
        let r = try await aufsctl(["check", "--root", "/nonexistent/root"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--root /nonexistent/root") && r.stderr.contains("expected an existing directory"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: ["garbage", "../../etc", "6", "6.1.0 -18", ""])
    func garbageKernel(_ k: String) async throws {
        let r = try await aufsctl(["check", "--kernel", k])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--kernel") && r.stderr.contains("expected the form uname -r prints"))
    }

    @Test func unknownOptionIsUsageError() async throws {
        let r = try await aufsctl(["check", "--bogus"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--bogus"))
    }

    @Test func helpExitsZero() async throws {
        let r = try await aufsctl(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("check"))
    }

    @Test func missingOSReleaseIsUnknownNotFatal() async throws {
        let t = minimalRoot(osRelease: nil)
        let r = try await aufsctl(["check", "--root", t.path])
        #expect(r.status == 4)
        #expect(r.stderr.contains("neither /etc/os-release nor /usr/lib/os-release exists"))
        #expect(r.stdout.contains("distro") && r.stdout.contains("unknown"))
    }

    @Test func fallbackOSRelease() async throws {
        let t = minimalRoot(osRelease: nil)
        t.write("usr/lib/os-release", "ID=debian\nVERSION_ID=11\n")
        let r = try await aufsctl(["check", "--json", "--root", t.path])
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(r.stdout.utf8))
        #expect(report.facts.distro.family?.description == "debian 11")
        #expect(report.facts.distro.evidence.first?.source == "/usr/lib/os-release")
    }

    @Test func malformedOSReleaseWarnsWithLineNumber() async throws {
        let t = minimalRoot(osRelease: "ID=debian\nthis is not an assignment\nVERSION_ID=\"12\n")
        let r = try await aufsctl(["check", "--root", t.path])
        #expect(r.stderr.contains("/etc/os-release: line 2: expected KEY=value"))
        #expect(r.stderr.contains("line 3: VERSION_ID: unterminated double quote"))
        #expect(r.status == 4)
    }

    @Test func procWithoutFilesystems() async throws {
        let t = minimalRoot(filesystems: nil)
        let r = try await aufsctl(["check", "--json", "--root", t.path])
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(r.stdout.utf8))
        #expect(report.facts.filesystems.aufs == nil)
        #expect(report.facts.filesystems.evidence.first?.value.contains("missing") == true)
        #expect(r.status == 4)
    }

    @Test func rootWithoutRunningKernel() async throws {
        let t = TempDir()
        let r = try await aufsctl(["check", "--root", t.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("/proc/sys/kernel/osrelease is missing") && r.stderr.contains("--kernel KVER"))
        let withKernel = try await aufsctl(["check", "--root", t.path, "--kernel", "6.1.0-18-amd64"])
        #expect(withKernel.status == 4, "\(withKernel.stderr)")
        #expect(withKernel.stdout.contains("6.1.0-18-amd64 (not running)"))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to drop privileges"))
    func unreadableBootIsNotAnError() async throws {
        let t = minimalRoot()
        t.write("boot/config-6.1.0-18-amd64", "CONFIG_MODULES=y\n")
        chmod(t.path, 0o755)
        chmod(t.path + "/boot", 0o700)
        let r = try await aufsctl(["check", "--json", "--root", t.path], asUser: 65534)
        #expect(r.status == 4, "\(r.stderr)")
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(r.stdout.utf8))
        #expect(report.facts.user.root == false)
        #expect(report.facts.module.configAufsFs == nil)
    }

    @Test func noColorWhenPiped() async throws {
        let r = try await aufsctl(["check"])
        #expect(!r.stdout.contains("\u{1B}["))
    }

    /// `aufsctl check` on this machine agrees with what the kernel says right now.
    @Test func truthfulOnThisHost() async throws {
        let r = try await aufsctl(["check", "--json"])
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(r.stdout.utf8))
        let fs = ProcFilesystems.parse(FileRead.string("/proc/filesystems") ?? "")
        #expect(report.facts.filesystems.aufs == fs.has("aufs"))
        #expect(report.facts.filesystems.overlay == fs.has("overlay"))
        #expect(report.facts.module.moduleSupport == FileRead.exists("/proc/modules"))
        #expect(report.facts.user.root == (geteuid() == 0))
        #expect(r.status == report.exitCode.rawValue)
        #expect(report.verdict.state == (fs.has("aufs") ? .usable : report.verdict.state))
        if !fs.has("aufs") { #expect(report.verdict.state != .usable) }
    }

    @Test(.enabled(if: geteuid() == 0, "runs check as nobody and needs root for setpriv"))
    func nonRootCheckWorks() async throws {
        let r = try await aufsctl(["check", "--json"], asUser: 65534)
        #expect([0, 3, 4].contains(r.status), "\(r.stderr)")
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(r.stdout.utf8))
        #expect(report.facts.user.root == false && report.facts.user.euid == 65534)
    }
}
