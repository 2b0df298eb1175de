// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct KernelMLAufsPlanTests {
    static let freshSequence = [
        "yum install -y yum-utils",
        "yum-config-manager --add-repo=https://yum.spaceduck.org/kernel-ml-aufs/kernel-ml-aufs.repo",
        "yum install -y kernel-ml-aufs",
        "grub2-mkconfig -o /boot/grub2/grub.cfg",
        "grubby --set-default /boot/vmlinuz-5.13.1-1.el7.x86_64",
    ]

    func apply(
        _ t: TempDir, _ runner: FakeCentOS, options: InstallOptions = InstallOptions()
    ) async throws -> InstallReport {
        var o = options
        o.method = .kernelMLAufs
        let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(o) else {
            Issue.record("no plan")
            throw AufsError("no plan")
        }
        return try await Executor(printer: { _ in }).run(plan, context: installer.context(facts, o), dryRun: false)
    }

    @Test func freshHost() async throws {
        let t = copyFixture("centos7")
        let grubBefore = try #require(FileRead.string(t.path + "/etc/default/grub"))
        let runner = FakeCentOS(root: t.path)
        let report = try await apply(t, runner)
        #expect(runner.mutating == Self.freshSequence)
        #expect(report.exitCode.rawValue == AufsExitCode.rebootRequired.rawValue)
        #expect(
            report.steps.map(\.status) == [.ok, .changed, .changed, .changed, .changed, .changed, .changed, .changed])
        // GRUB: only the GRUB_DEFAULT line changed; the backup is the original byte for byte.
        let grubAfter = try #require(FileRead.string(t.path + "/etc/default/grub"))
        #expect(grubAfter == grubBefore.replacingFirst("GRUB_DEFAULT=saved\n", "GRUB_DEFAULT=0\n"))
        let state = try InstallState.load(root: HostRoot(t.path))
        let grubUndo = state.installs.first?.steps.first { $0.id == "grub-default" }?.undo.first
        guard case .restoreFile(_, let backup)? = grubUndo else { Issue.record("no grub backup"); return }
        #expect(FileRead.string(t.path + backup) == grubBefore)
        #expect(FileRead.string(t.path + "/etc/sysconfig/kernel")?.contains("DEFAULTKERNEL=kernel-ml-aufs\n") == true)
        #expect(FileRead.string(t.path + "/boot/grub2/grub.cfg")?.contains("vmlinuz-5.13.1-1.el7.x86_64") == true)
    }

    @Test func rerunChangesNothing() async throws {
        let t = copyFixture("centos7")
        _ = try await apply(t, FakeCentOS(root: t.path))
        let again = FakeCentOS(root: t.path)
        let report = try await apply(t, again)
        #expect(again.mutating.isEmpty, "\(again.mutating)")
        #expect(report.steps.allSatisfy { $0.status == .ok })
        #expect(report.changed == false && report.message?.contains("nothing to do") == true)
    }

    /// A failure at each mutating step: the report says which and the run rolls back what it
    /// applied (every file as before, exit 1); with --keep-on-failure exit 6 once something
    /// changed, the state holds what did, and uninstall puts every file back.
    @Test(arguments: 0..<5)
    func failureAtEachStep(_ i: Int) async throws {
        for keep in [false, true] {
            let t = copyFixture("centos7")
            let files = ["/etc/default/grub", "/etc/sysconfig/kernel", "/boot/grub2/grub.cfg"]
            let before = files.map { FileRead.string(t.path + $0) }
            let runner = FakeCentOS(root: t.path)
            runner.failing = (Self.freshSequence[i], "simulated failure")
            var o = InstallOptions()
            o.keepOnFailure = keep
            let report = try await apply(t, runner, options: o)
            #expect(report.steps.contains { $0.status == .failed })
            let mutated = runner.mutating.firstIndex(of: Self.freshSequence[i])
            #expect(mutated != nil)
            if keep {
                #expect(report.exitCode == (i == 0 ? AufsExitCode.failure : AufsExitCode.partial))
                #expect(runner.mutating.last == Self.freshSequence[i])
                let state = try InstallState.load(root: HostRoot(t.path))
                // Every completed change is recorded, and so is the failed step's undo, journaled before it ran.
                #expect(
                    (state.installs.first?.steps.count ?? 0) == report.steps.filter { $0.status == .changed }.count + 1)
                _ = try await Uninstaller(printer: { _ in }).run(root: HostRoot(t.path), runner: runner, dryRun: false)
            } else {
                #expect(report.exitCode == .failure, "\(report)")
                #expect(report.onFailure == .rolledBack)
            }
            #expect(files.map { FileRead.string(t.path + $0) } == before)
            #expect(!FileRead.exists(t.path + "/etc/yum.repos.d/kernel-ml-aufs.repo"))
            #expect(!FileRead.exists(t.path + "/usr/bin/yum-config-manager"))
            #expect(try InstallState.load(root: HostRoot(t.path)).installs.isEmpty)
        }
    }

    @Test func endOfLifeMirrorsAreExplained() async throws {
        let t = copyFixture("centos7")
        let runner = FakeCentOS(root: t.path)
        runner.failing = (
            "yum install -y yum-utils",
            "Loaded plugins: fastestmirror\nCould not retrieve mirrorlist http://mirrorlist.centos.org/?release=7&arch=x86_64&repo=os error was\n14: curl#6 - \"Could not resolve host: mirrorlist.centos.org; Unknown error\"\n"
        )
        let report = try await apply(t, runner)
        let evidence = report.steps.first { $0.status == .failed }?.evidence.joined(separator: "\n") ?? ""
        #expect(
            evidence.contains("end of life") && evidence.contains("vault.centos.org")
                && evidence.contains("Could not retrieve mirrorlist"))
    }

    @Test func repoAlreadyDefinedIsSkipped() async throws {
        let t = copyFixture("centos7")
        let runner = FakeCentOS(root: t.path)
        runner.write(
            "/etc/yum.repos.d/bnied-kernel-ml-aufs-epel-7.repo",
            "[copr:copr.fedorainfracloud.org:bnied:kernel-ml-aufs]\nname=Copr\n")
        _ = try await apply(t, runner)
        #expect(!runner.mutating.contains { $0.hasPrefix("yum-config-manager") })
    }

    /// The kernel that will boot the host is signature-checked: an upstream .repo without gpgcheck
    /// stops the install before the kernel (exit 4, yum-utils and the repo file rolled back) unless --gpgkey (turns it on with that key) or --no-gpgcheck
    /// (installs unsigned, and says so); a baseurl needs one of the two up front.
    @Test func signatures() async throws {
        let t = copyFixture("centos7")
        let runner = FakeCentOS(root: t.path)
        runner.upstreamGpgCheck = "0"
        let refused = try await apply(t, runner)
        #expect(refused.exitCode == .blocked && refused.onFailure == .rolledBack, "\(refused)")
        #expect(!FileRead.exists(t.path + "/usr/bin/yum-config-manager"))
        #expect(
            refused.message?.contains("does not check signatures") == true, "\(String(describing: refused.message))")
        #expect(!runner.calls.contains { $0.contains("kernel-ml-aufs") && $0.first == "yum" && $0.contains("install") })
        // A second run meets the same question: the unsigned repo file was taken away again.
        #expect(!FileRead.exists(t.path + "/etc/yum.repos.d/kernel-ml-aufs.repo"))
        let again = try await apply(t, runner)
        #expect(
            again.exitCode.rawValue != 0 && again.exitCode.rawValue != AufsExitCode.rebootRequired.rawValue, "\(again)")
        #expect(!runner.calls.contains { $0.contains("kernel-ml-aufs") && $0.first == "yum" && $0.contains("install") })

        let t2 = copyFixture("centos7")
        let r2 = FakeCentOS(root: t2.path)
        r2.upstreamGpgCheck = "0"
        var o = InstallOptions()
        o.gpgKey = "https://example.invalid/KEY"
        let keyed = try await apply(t2, r2, options: o)
        #expect(keyed.exitCode == .rebootRequired, "\(keyed)")
        let repo = FileRead.string(t2.path + "/etc/yum.repos.d/kernel-ml-aufs.repo") ?? ""
        #expect(repo.contains("gpgcheck=1\n") && repo.contains("gpgkey=https://example.invalid/KEY\n"), "\(repo)")

        let t3 = copyFixture("centos7")
        let r3 = FakeCentOS(root: t3.path)
        r3.upstreamGpgCheck = "0"
        var unsigned = InstallOptions()
        unsigned.noGpgCheck = true
        let r = try await apply(t3, r3, options: unsigned)
        #expect(r.exitCode.rawValue == AufsExitCode.rebootRequired.rawValue)
        #expect(r.afterwards.contains { $0.contains("WITHOUT signature checks") })
        #expect(r.steps.contains { $0.id == "repo" && $0.title.contains("gpgcheck=0: --no-gpgcheck") })

        var baseurl = InstallOptions()
        baseurl.method = .kernelMLAufs
        baseurl.repoURL = "https://example.invalid/el7/x86_64"
        let installer = Installer(
            root: HostRoot(copyFixture("centos7").path), runner: FakeCentOS(root: t3.path), syscalls: FakeSyscalls())
        await #expect(throws: AufsError.self) { _ = try await installer.decide(baseurl) }
    }

    /// Repo files are INI: signatures are set and checked in every [..kernel-ml-aufs..] section,
    /// `key = value` with blanks is read, values are written bare, other sections are untouched.
    @Test func repoSections() {
        let repo = Array(
            "[kernel-ml-aufs]\r\nname=x\r\ngpgcheck = 0\r\n\n[kernel-ml-aufs-source]\nenabled=0\n\n[other]\ngpgcheck=1\n"
                .utf8)
        #expect(!YumRepo.signed(repo, sectionsNaming: "kernel-ml-aufs", key: nil))
        var out = YumRepo.set("gpgcheck", to: "1", sectionsNaming: "kernel-ml-aufs", in: repo)
        out = YumRepo.set("gpgkey", to: "https://example.invalid/k?x=1", sectionsNaming: "kernel-ml-aufs", in: out)
        #expect(YumRepo.signed(out, sectionsNaming: "kernel-ml-aufs", key: "https://example.invalid/k?x=1"))
        #expect(
            String(decoding: out, as: UTF8.self)
                == "[kernel-ml-aufs]\r\ngpgkey=https://example.invalid/k?x=1\r\nname=x\r\ngpgcheck=1\r\n\n[kernel-ml-aufs-source]\ngpgkey=https://example.invalid/k?x=1\ngpgcheck=1\nenabled=0\n\n[other]\ngpgcheck=1\n"
        )
        // A signed trailing section does not vouch for an unsigned kernel-ml-aufs one.
        let mixed = Array("[kernel-ml-aufs]\ngpgcheck=0\n[kernel-ml-aufs-debuginfo]\ngpgcheck=1\n".utf8)
        #expect(!YumRepo.signed(mixed, sectionsNaming: "kernel-ml-aufs", key: nil))
    }
}
