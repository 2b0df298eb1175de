// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsMount

/// Every refused load named from errno and the kernel's own lines. The lines are verbatim from
/// Debian's 6.1.0-57-cloud-amd64 in QEMU (Tests/signing/run.sh prints them as SIG-OUT lines).
@Suite struct LoadFailureTests {
    static let kver = "6.1.0-57-cloud-amd64"
    static let path = "/lib/modules/6.1.0-57-cloud-amd64/updates/dkms/aufs.ko"

    func attempt(
        _ errno: Int32, _ lines: [String], signed: Bool = false, policy: ModulePolicy = ModulePolicy(),
        euid: UInt32 = 0, readable: Bool = true, hint: SigningKeyHint? = nil
    ) -> LoadFailure {
        LoadFailure.diagnose(
            LoadAttempt(
                module: "aufs", path: Self.path, kernel: Self.kver, errno: SysErrno(errno), kernelLines: lines,
                kernelLogReadable: readable, signatureID: signed ? "PKCS#7" : nil,
                signer: signed ? "aufsctl throwaway signing key" : nil,
                signatureKey: signed ? "2E:AA:DE:77" : nil, policy: policy, euid: euid, signingKey: hint))
    }

    @Test func unsignedUnderSigEnforce() {
        let f = attempt(
            EKEYREJECTED, ["Loading of unsigned module is rejected"], policy: ModulePolicy(sigEnforce: true))
        #expect(f.kind == .unsigned)
        #expect(
            f.message.hasPrefix(
                "loading aufs failed (EKEYREJECTED, unsigned module): \(Self.path) carries no signature"))
        #expect(f.evidence.contains("kernel: Loading of unsigned module is rejected"))
        #expect(f.evidence.contains("/sys/module/module/parameters/sig_enforce: Y"))
        #expect(f.wayOut.contains("aufsctl check"))
    }

    @Test func untrustedKeyNamesTheSignerAndDKMSsCertificate() {
        let hint = SigningKeyHint(
            signFile: "/usr/lib/linux-kbuild-6.1/scripts/sign-file", key: "/var/lib/dkms/mok.key",
            certificate: "/var/lib/dkms/mok.pub", certificateSerial: "2e:aa:de:77")
        let f = attempt(EKEYREJECTED, ["Loading of module with unavailable key is rejected"], signed: true, hint: hint)
        #expect(f.kind == .untrustedKey)
        #expect(
            f.sentence.contains(
                "signed by 'aufsctl throwaway signing key' (key 2E:AA:DE:77, DKMS's key /var/lib/dkms/mok.pub), which this kernel does not trust"
            ))
        #expect(f.wayOut == "`mokutil --import /var/lib/dkms/mok.pub`, then reboot and confirm the key in MokManager")
    }

    @Test func untrustedKeyOfAnotherSigner() {
        let hint = SigningKeyHint(certificate: "/var/lib/dkms/mok.pub", certificateSerial: "01:02")
        let f = attempt(EKEYREJECTED, ["Loading of module with unavailable key is rejected"], signed: true, hint: hint)
        #expect(f.kind == .untrustedKey)
        #expect(!f.sentence.contains("DKMS's key"))
        #expect(f.wayOut.contains("mokutil --import CERT"))
    }

    @Test func lockdownAndModuleBlacklistShareEPERMButNotTheLine() {
        let lock = attempt(
            EPERM, ["Lockdown: aufsctl: unsigned module loading is restricted; see man kernel_lockdown.7"],
            policy: ModulePolicy(commandLine: "console=ttyS0 lockdown=integrity", lockdown: "integrity"))
        #expect(lock.kind == .lockdown)
        #expect(lock.sentence.contains("lockdown=integrity"))
        #expect(lock.sentence.contains("carries no signature"))
        let black = attempt(
            EPERM, ["Module aufs is blacklisted"],
            policy: ModulePolicy(commandLine: "console=ttyS0 module_blacklist=aufs", lockdown: "integrity"))
        #expect(black.kind == .commandLineBlacklist)
        #expect(black.sentence.contains("module_blacklist=aufs"))
        #expect(black.wayOut.contains("update-grub"))
    }

    @Test func lockdownWithASignedModuleAsksForEnrolment() {
        let f = attempt(
            EPERM, ["Lockdown: mount.aufs: unsigned module loading is restricted; see man kernel_lockdown.7"],
            signed: true, policy: ModulePolicy(lockdown: "integrity"))
        #expect(f.kind == .lockdown)
        #expect(f.sentence.contains("signed by 'aufsctl throwaway signing key'"))
        #expect(f.wayOut.contains("mokutil --import"))
    }

    @Test func withoutTheLogThePolicyFilesDecide() {
        #expect(attempt(EKEYREJECTED, [], readable: false).kind == .unsigned)
        #expect(attempt(EKEYREJECTED, [], signed: true, readable: false).kind == .untrustedKey)
        #expect(attempt(ENOKEY, [], signed: true, readable: false).kind == .untrustedKey)
        #expect(
            attempt(EPERM, [], policy: ModulePolicy(modulesDisabled: true), readable: false).kind == .modulesDisabled)
        #expect(attempt(EPERM, [], euid: 1000, readable: false).kind == .notPermitted)
        #expect(
            attempt(EPERM, [], policy: ModulePolicy(commandLine: "ro module_blacklist=foo,aufs"), readable: false).kind
                == .commandLineBlacklist)
        #expect(attempt(EPERM, [], policy: ModulePolicy(lockdown: "integrity"), readable: false).kind == .lockdown)
        #expect(attempt(EPERM, [], policy: ModulePolicy(lockdown: "none"), readable: false).kind == .notPermitted)
        #expect(attempt(ENOENT, [], readable: false).kind == .unknownSymbol)
        #expect(attempt(ENOEXEC, [], readable: false).kind == .otherKernel)
        #expect(attempt(ENOSYS, [], readable: false).kind == .noModuleSupport)
        #expect(attempt(EIO, [], readable: false).kind == .other)
        let f = attempt(EKEYREJECTED, [], readable: false)
        #expect(f.evidence.contains("kernel: (/dev/kmsg not readable: judged without the log)"))
    }

    @Test func unknownSymbolNamesEverySymbol() {
        let f = attempt(
            ENOENT, ["aufs: Unknown symbol d_walk (err -2)", "aufs: Unknown symbol vfs_getxattr_alloc (err -2)"])
        #expect(f.kind == .unknownSymbol)
        #expect(
            f.sentence.hasPrefix("aufs needs d_walk, vfs_getxattr_alloc, which kernel \(Self.kver) does not export"))
        #expect(f.wayOut.contains("aufsctl check"))
    }

    @Test func aCRCMismatchIsNotAnUnknownSymbol() {
        let f = attempt(
            EINVAL,
            [
                "aufs: disagrees about version of symbol register_filesystem",
                "aufs: Unknown symbol register_filesystem (err -22)",
            ])
        #expect(f.kind == .symbolVersion)
        #expect(f.message.contains("(EINVAL, symbol version mismatch)"))
        #expect(f.sentence.contains("the version (CRC) of register_filesystem differs"))
        #expect(f.wayOut.contains("dkms install --force aufs/VERSION -k \(Self.kver)"))
    }

    @Test func moduleLayoutAndVermagicMeanAnotherKernel() {
        let layout = attempt(ENOEXEC, ["aufs: disagrees about version of symbol module_layout"])
        #expect(layout.kind == .otherKernel)
        let magic = attempt(
            ENOEXEC,
            [
                "aufs: version magic '6.1.0-57-cloud-amd64 SMP preempt mod_unl0ad modversions ' should be "
                    + "'6.1.0-57-cloud-amd64 SMP preempt mod_unload modversions '"
            ])
        #expect(magic.kind == .otherKernel)
        #expect(
            magic.sentence == "\(Self.path) was built for another kernel than \(Self.kver) (its version magic differs)")
        #expect(magic.evidence.first?.hasPrefix("kernel: aufs: version magic '6.1.0-57-cloud-amd64 SMP") == true)
    }

    @Test func unrelatedLinesAreLeftOut() {
        let f = attempt(
            EKEYREJECTED,
            [
                "virtio_net virtio0 ens3: renamed from eth0", "Loading of unsigned module is rejected",
                "random: crng init done",
            ])
        #expect(f.evidence.filter { $0.hasPrefix("kernel: ") } == ["kernel: Loading of unsigned module is rejected"])
    }

    @Test func modprobeBlacklistNamesTheFile() {
        let f = LoadFailure.blacklisted(module: "aufs", by: ["/etc/modprobe.d/aufs-blacklist.conf:1"])
        #expect(
            f.message
                == "loading aufs failed (blacklisted in modprobe.d): /etc/modprobe.d/aufs-blacklist.conf:1 says `blacklist aufs`, and modprobe (libkmod) honours it"
        )
        #expect(f.error.details.first == "way out: delete that `blacklist aufs` line, then `aufsctl load`")
    }

    @Test func signWayUsesDKMSsPair() {
        let hint = SigningKeyHint(
            signFile: "/usr/lib/linux-kbuild-6.1/scripts/sign-file", key: "/var/lib/dkms/mok.key",
            certificate: "/var/lib/dkms/mok.pub", certificateSerial: "01")
        let f = attempt(EKEYREJECTED, ["Loading of unsigned module is rejected"], hint: hint)
        #expect(
            f.wayOut
                == "sign it with DKMS's key, `/usr/lib/linux-kbuild-6.1/scripts/sign-file sha256 /var/lib/dkms/mok.key "
                + "/var/lib/dkms/mok.pub \(Self.path)`, and have /var/lib/dkms/mok.pub enrolled (`mokutil --import "
                + "/var/lib/dkms/mok.pub`, reboot, confirm in MokManager)")
    }

    @Test func policyFiles() throws {
        let t = TempDir()
        t.write("sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
        t.write("sys/module/module/parameters/sig_enforce", "N\n")
        t.write("proc/sys/kernel/modules_disabled", "0\n")
        t.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 module_blacklist=aufs,floppy\n")
        let p = ModulePolicy.read(root: HostRoot(t.path))
        #expect(p.lockdown == "integrity")
        #expect(p.sigEnforce == false)
        #expect(p.modulesDisabled == false)
        #expect(p.commandLineBlacklist == ["aufs", "floppy"])
        #expect(ModulePolicy.selectedLockdown("[none] integrity confidentiality") == "none")
        #expect(ModulePolicy.read(root: HostRoot(t.path + "/nonexistent")) == ModulePolicy())
    }

    @Test func serialsCompareAcrossPrinters() {
        #expect(LoadFailure.normalizedSerial("00:8A:1B") == LoadFailure.normalizedSerial("8a:1b"))
        #expect(LoadFailure.normalizedSerial("8A:1B") != LoadFailure.normalizedSerial("8A:1C"))
    }
}
