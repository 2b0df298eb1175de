// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// `check` with the signing facts: the verdict predicts the load (it replaces the old Debian-only
/// Secure Boot hint), the report shows each fact and each /boot kernel's signer.
@Suite struct SigningCheckTests {
    /// ubuntu2004's facts (an unsigned aufs.ko on disk: loadable) under Secure Boot with sig_enforce.
    func underSecureBoot() async throws -> HostFacts {
        var (_, f, v) = try await FixtureRootTests.probe("ubuntu2004")
        #expect(v.state == .loadable)
        f.boot.secureBoot = .enabled
        f.signing.secureBoot.state = .enabled
        f.signing.secureBoot.shimValidation = true
        f.signing.enforcement.sigEnforce = true
        f.signing.lockdown.mode = "integrity"
        return f
    }

    @Test func anUnsignedModuleUnderSecureBootIsRefused() async throws {
        let f = try await underSecureBoot()
        let v = Verdict.decide(f)
        #expect(v.state == .blocked)
        #expect(v.exitCode == .blocked)
        #expect(v.signing?.outcome == .refused)
        #expect(
            v.reason
                == "the aufs module is at /lib/modules/5.4.0-42-generic/kernel/fs/aufs/aufs.ko but will be refused: "
                + "Secure Boot (sig_enforce=Y): unsigned modules are refused, and "
                + "/lib/modules/5.4.0-42-generic/kernel/fs/aufs/aufs.ko is unsigned")
        #expect(v.waysOut.first?.hasPrefix("rebuild it with DKMS") == true)
        // The old hint named Debian's key on every distro; it is gone.
        #expect(!v.waysOut.contains { $0.contains("/var/lib/dkms/mok.key") })
    }

    @Test func lockdownWithoutEnforcementNamesLockdown() async throws {
        var f = try await underSecureBoot()
        f.signing.enforcement.sigEnforce = false
        let v = Verdict.decide(f)
        #expect(v.state == .blocked)
        #expect(
            v.reason.hasSuffix(
                "lockdown=integrity: unsigned modules are refused, and "
                    + "/lib/modules/5.4.0-42-generic/kernel/fs/aufs/aufs.ko is unsigned"))
    }

    @Test func aModuleSignedByAPendingKeyIsUsableAfterEnrolment() async throws {
        var f = try await underSecureBoot()
        f.signing.module?.signed = true
        f.signing.module?.byDKMSKey = true
        f.signing.dkmsKey.subject = "CN=DKMS module signing key"
        f.signing.enrolment.state = .pending
        f.signing.kernelTrust.trustedForModules = false
        let v = Verdict.decide(f)
        #expect(v.state == .installable)
        #expect(v.method == nil)
        #expect(v.reason.contains("usable after enrolment and a reboot"))
        #expect(v.waysOut == ["reboot and confirm the key in MokManager (the password given to mokutil --import)"])
        // Trusted: loadable as before.
        f.signing.kernelTrust = .init(keyrings: [".machine"], trustedForModules: true, evidence: [])
        #expect(Verdict.decide(f).state == .loadable)
        #expect(Verdict.decide(f).signing?.outcome == .trusted)
    }

    @Test func withoutEnforcementNothingChanges() async throws {
        var (_, f, before) = try await FixtureRootTests.probe("ubuntu2004")
        f.signing.enforcement.sigEnforce = false
        f.signing.lockdown.mode = "none"
        let v = Verdict.decide(f)
        #expect(v.state == before.state && v.reason == before.reason && v.waysOut == before.waysOut)
        #expect(v.signing?.outcome == .loads)
    }

    @Test func aUsableOrBlockedHostHasNoSigningVerdict() async throws {
        #expect(try await FixtureRootTests.probe("centos7-aufs").2.signing == nil)
        #expect(try await FixtureRootTests.probe("debian11").2.signing == nil)
    }

    /// A root with Debian's signed and unsigned image heads in /boot, under Secure Boot.
    func bootRoot(nextUnsigned: Bool) -> TempDir {
        let t = TempDir()
        t.write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        t.write("proc/sys/kernel/osrelease", "6.1.0-57-cloud-amd64\n")
        let efi = "sys/firmware/efi/efivars/SecureBoot-\(SigningProbe.efiGlobal)"
        t.write(efi, "")
        let fd = open(t.path + "/" + efi, O_WRONLY | O_TRUNC)
        _ = [UInt8]([6, 0, 0, 0, 1]).withUnsafeBytes { write(fd, $0.baseAddress, 5) }
        close(fd)
        SigningProbeTests().put(t, "boot/vmlinuz-6.1.0-57-cloud-amd64", "vmlinuz-signed.head")
        SigningProbeTests().put(
            t, "boot/vmlinuz-6.1.0-58-cloud-amd64", nextUnsigned ? "vmlinuz-unsigned.head" : "vmlinuz-signed.head")
        symlink("boot/vmlinuz-6.1.0-57-cloud-amd64", t.path + "/vmlinuz")
        symlink("vmlinuz-6.1.0-57-cloud-amd64", t.path + "/boot/vmlinuz.old")
        return t
    }

    @Test func eachBootKernelsSigner() async throws {
        let t = bootRoot(nextUnsigned: true)
        let f = try await HostProbe(root: HostRoot(t.path), runner: FixtureRootTests.ForbiddenRunner()).probe()
        #expect(f.boot.secureBoot == .enabled && f.boot.uefi)
        // Newest first, links left out.
        #expect(
            f.signing.kernelImages.map(\.path) == [
                "/boot/vmlinuz-6.1.0-58-cloud-amd64", "/boot/vmlinuz-6.1.0-57-cloud-amd64",
            ])
        #expect(f.signing.kernelImages.map(\.signed) == [false, true])
        let report = CheckReport(root: HostRoot(t.path), facts: f)
        let text = report.human(style: TextStyle(color: false))
        #expect(
            text.contains(
                "kernel images       /boot/vmlinuz-6.1.0-58-cloud-amd64: no signature: will not boot under Secure Boot "
                    + "(which is on here)"), "\(text)")
        #expect(
            text.contains("/boot/vmlinuz-6.1.0-57-cloud-amd64: signed by CN=Debian Secure Boot Signer 2022 - linux"))
        // The next boot (GRUB_DEFAULT unset: the newest) starts the unsigned one.
        #expect(report.warnings.contains { $0.hasPrefix("the next boot starts 6.1.0-58-cloud-amd64, whose ") })
        // A signed one is never said not to boot: whether shim trusts its signer is shim's question.
        let signed = bootRoot(nextUnsigned: false)
        let g = try await HostProbe(root: HostRoot(signed.path), runner: FixtureRootTests.ForbiddenRunner()).probe()
        let gText = CheckReport(root: HostRoot(signed.path), facts: g).human(style: TextStyle(color: false))
        #expect(!gText.contains("will not boot"))
        #expect(CheckReport(root: HostRoot(signed.path), facts: g).warnings.allSatisfy { !$0.contains("signature") })
    }

    @Test func theJSONCarriesEachPartWithItsEvidence() async throws {
        let t = bootRoot(nextUnsigned: true)
        let f = try await HostProbe(root: HostRoot(t.path), runner: FixtureRootTests.ForbiddenRunner()).probe()
        let json = try CheckReport(root: HostRoot(t.path), facts: f).json()
        for key in [
            "\"signing\"", "\"secureBoot\"", "\"lockdown\"", "\"enforcement\"", "\"dkmsKey\"", "\"enrolment\"",
            "\"kernelTrust\"", "\"kernelImages\"", "\"signers\"",
        ] {
            #expect(json.contains(key), "\(key) missing")
        }
    }
}
