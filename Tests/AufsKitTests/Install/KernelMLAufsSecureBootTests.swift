// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// kernel-ml-aufs on a Secure Boot host: the kernel is installed before DEFAULTKERNEL names it, and
/// an image without a signature is not made the GRUB default unless --allow-unsigned-kernel.
/// The images are the first 4 KB of Debian's signed and unsigned vmlinuz (Tests/Fixtures/signing).
@Suite struct KernelMLAufsSecureBootTests {
    func secureBootRoot() -> TempDir {
        let t = copyFixture("centos7")
        TempDirWriter.write(
            t.path + "/sys/firmware/efi/efivars/SecureBoot-\(SigningProbe.efiGlobal)", [6, 0, 0, 0, 1], mode: 0o644)
        return t
    }

    func apply(_ t: TempDir, _ runner: FakeCentOS, allow: Bool = false) async throws -> InstallReport {
        var o = InstallOptions()
        o.allowUnsignedKernel = allow
        return try await KernelMLAufsPlanTests().apply(t, runner, options: o)
    }

    @Test func aSignedKernelIsMadeTheDefaultAndItsSignerSaid() async throws {
        let t = secureBootRoot()
        let r = FakeCentOS(root: t.path)
        r.image = signingFixture("vmlinuz-signed.head")
        let report = try await apply(t, r)
        #expect(report.exitCode == .rebootRequired)
        // The kernel comes before DEFAULTKERNEL=kernel-ml-aufs, so yum does not make it the default first.
        #expect(
            report.steps.map(\.id) == [
                "preflight", "yum-utils", "repo", "kernel", "defaultkernel", "grub-default", "grub-mkconfig", "grubby",
            ])
        #expect(r.mutating.last?.hasPrefix("grubby --set-default") == true)
        // What asks nothing of the user is a note (install/2), not a next step.
        #expect(
            report.notes.contains {
                $0.hasPrefix(
                    "Secure Boot: /boot/vmlinuz-5.13.1-1.el7.x86_64 is signed by "
                        + "CN=Debian Secure Boot Signer 2022 - linux")
            }, "\(report.notes)")
    }

    @Test func anUnsignedKernelIsNotMadeTheDefault() async throws {
        let t = secureBootRoot()
        let grubBefore = FileRead.string(t.path + "/etc/default/grub")
        let sysconfigBefore = FileRead.string(t.path + "/etc/sysconfig/kernel")
        let r = FakeCentOS(root: t.path)
        r.image = signingFixture("vmlinuz-unsigned.head")
        let report = try await apply(t, r)
        // A refusal after changes: the run rolls back what it applied (issue 25) and exits 4.
        #expect(report.exitCode == .blocked)
        #expect(report.onFailure == .rolledBack)
        let blocked = report.steps.first { $0.status == .failed }
        #expect(blocked?.id == "kernel")
        #expect(
            blocked?.evidence.first
                == "/boot/vmlinuz-5.13.1-1.el7.x86_64 will not boot under Secure Boot: it has no signature at all, and "
                + "shim refuses an unsigned kernel; aufsctl does not make it the GRUB default")
        #expect(blocked?.evidence.contains { $0.contains("--allow-unsigned-kernel") } == true)
        // Neither GRUB nor /etc/sysconfig/kernel was touched, and grubby never ran.
        #expect(FileRead.string(t.path + "/etc/default/grub") == grubBefore)
        #expect(FileRead.string(t.path + "/etc/sysconfig/kernel") == sysconfigBefore)
        #expect(!r.mutating.contains { $0.hasPrefix("grubby") || $0.hasPrefix("grub2-mkconfig") })
        // uninstall takes the kernel (and what came before it) away again.
        _ = try await Uninstaller(printer: { _ in }).run(root: HostRoot(t.path), runner: r, dryRun: false)
        #expect(!FileRead.exists(t.path + "/boot/vmlinuz-5.13.1-1.el7.x86_64"))
    }

    @Test func allowUnsignedKernelMakesItTheDefaultWithAWarning() async throws {
        let t = secureBootRoot()
        let r = FakeCentOS(root: t.path)
        r.image = signingFixture("vmlinuz-unsigned.head")
        let report = try await apply(t, r, allow: true)
        #expect(report.exitCode == .rebootRequired)
        #expect(r.mutating.last?.hasPrefix("grubby --set-default") == true)
        // It asks something of the user before the reboot: the first next step.
        #expect(
            report.afterwards.first.map {
                $0.hasPrefix("turn Secure Boot off in the firmware before the reboot: /boot/vmlinuz-5.13.1-1.el7")
                    && $0.contains("will not boot under Secure Boot") && $0.contains("--allow-unsigned-kernel")
            } == true, "\(report.afterwards)")
    }

    @Test func withoutSecureBootTheOrderAndStepsStayAsTheyWere() async throws {
        let t = copyFixture("centos7")
        let r = FakeCentOS(root: t.path)
        let report = try await apply(t, r)
        #expect(r.mutating == KernelMLAufsPlanTests.freshSequence)
        #expect(report.steps.map(\.id)[3...4] == ["defaultkernel", "kernel"])
        #expect(!report.afterwards.contains { $0.contains("Secure Boot") })
    }

    /// The emitted sh (CentOS 7 runs it, not the binary) checks the image with pesign -S.
    @Test func theEmittedScriptChecksTheImageWithPesign() async throws {
        for allow in [false, true] {
            let t = secureBootRoot()
            var o = InstallOptions()
            o.method = .kernelMLAufs
            o.allowUnsignedKernel = allow
            let installer = Installer(
                root: HostRoot(t.path), runner: FakeCentOS(root: t.path), syscalls: FakeSyscalls())
            guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
            let sh = ShellScript.render(plan, facts: facts)
            #expect(
                sh.contains(
                    "if pesign -S -i \"$ROOT/boot/vmlinuz-$KVER\" 2>&1 | grep -Eq 'No signatures found|No certificate list "
                        + "found'"))
            #expect(sh.contains("aufsctl does not make it the GRUB default\" >&2;") == !allow)
            let kernel = try #require(sh.firstRange(of: "yum install -y kernel-ml-aufs\n"))
            let sysconfig = try #require(sh.firstRange(of: "aufsctl_set DEFAULTKERNEL"))
            #expect(kernel.lowerBound < sysconfig.lowerBound)
        }
    }
}
