// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// The signing facts over fixture roots made in a temporary directory (modes and symlinks are
/// part of what is tested, and git keeps neither owner nor mode).
@Suite struct SigningProbeTests {
    static let kver = "6.1.0-57-cloud-amd64"
    static let dkmsScript =
        "#!/bin/bash\n# a stand-in for dkms's script: only its version text is read\necho $\"dkms-3.0.10\"\n"

    /// A Debian 12 root with dkms 3.0.10, its framework.conf, the kbuild sign-file and optionally DKMS's pair.
    func debianRoot(pair: Bool = true) -> TempDir {
        let t = TempDir()
        t.write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        t.write("usr/sbin/dkms", Self.dkmsScript)
        t.write("etc/dkms/framework.conf", String(decoding: signingFixture("framework.conf.bookworm"), as: UTF8.self))
        t.write("usr/lib/linux-kbuild-6.1/scripts/sign-file", "#!/bin/sh\n")
        chmod(t.path + "/usr/lib/linux-kbuild-6.1/scripts/sign-file", 0o755)
        if pair {
            t.write("var/lib/dkms/mok.key", "fixture: not a key\n")
            chmod(t.path + "/var/lib/dkms/mok.key", 0o600)
            put(t, "var/lib/dkms/mok.pub", "dkms-mok.der")
        }
        return t
    }

    func put(_ t: TempDir, _ rel: String, _ fixture: String) {
        t.mkdirs(Paths.dirname(t.path + "/" + rel))
        let bytes = signingFixture(fixture)
        let fd = open(t.path + "/" + rel, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func probe(
        _ t: TempDir, distro: SigningProbe.Distro, running: Bool = false, module: ModuleInfo? = nil,
        keyrings: (any KernelKeyrings)? = nil
    ) async -> SigningFacts {
        await SigningProbe(root: HostRoot(t.path), runner: ScriptedRunner(), keyrings: keyrings)
            .probe(kernel: Self.kver, running: running, distro: distro, module: module)
    }

    /// Problems other than "owned by uid N" (the fixture's files belong to whoever runs the tests).
    func problems(_ k: SigningFacts.DKMSKey) -> [String] {
        k.problems.filter { !$0.contains("is owned by uid \(geteuid())") }
    }

    static let debian = SigningProbe.Distro(id: "debian", idLike: [])
    static let ubuntu = SigningProbe.Distro(id: "ubuntu", idLike: ["debian"])

    @Test func debiansDKMSPair() async {
        let t = debianRoot()
        let f = await probe(t, distro: Self.debian)
        let k = f.dkmsKey
        #expect(k.dkmsVersion == "3.0.10")
        #expect(k.signs == true)
        #expect(k.signFile == "/usr/lib/linux-kbuild-6.1/scripts/sign-file")
        #expect(k.key == "/var/lib/dkms/mok.key")
        #expect(k.certificate == "/var/lib/dkms/mok.pub")
        #expect(k.origin == "dkms's default (/var/lib/dkms)")
        #expect(!k.madeAtFirstBuild)
        #expect(k.subject == "CN=DKMS module signing key")
        #expect(k.keyID == "a939e82f0e25e377588c240519ec04fb081dc3de")
        #expect(k.serial == "2E:AA:DE:77:05:D0:F5:6B:75:E7:F2:74:DF:C6:56:C9:0C:4B:A4:3A")
        #expect(k.kernelDescription == "DKMS module signing key: a939e82f0e25e377588c240519ec04fb081dc3de")
        #expect(problems(k).isEmpty, "\(k.problems)")
        #expect(f.enrolment.state == .unknown)  // mokutil runs only for the host
        #expect(f.signingKeyHint.certificate == "/var/lib/dkms/mok.pub")
    }

    @Test func noPairYetAndNoSignFile() async {
        let t = debianRoot(pair: false)
        unlink(t.path + "/usr/lib/linux-kbuild-6.1/scripts/sign-file")
        let k = await probe(t, distro: Self.debian).dkmsKey
        #expect(k.madeAtFirstBuild)
        #expect(k.signs == false)
        #expect(k.signFile == "/lib/modules/\(Self.kver)/build/scripts/sign-file")
        #expect(k.whyNot?.contains("builds unsigned modules") == true)
        #expect(k.subject == nil)
    }

    @Test func ubuntusShimSignedPair() async {
        let t = TempDir()
        t.write("usr/sbin/dkms", Self.dkmsScript)
        t.write("usr/bin/kmodsign", "#!/bin/sh\n")
        chmod(t.path + "/usr/bin/kmodsign", 0o755)
        t.write("var/lib/shim-signed/mok/MOK.priv", "fixture\n")
        chmod(t.path + "/var/lib/shim-signed/mok/MOK.priv", 0o600)
        put(t, "var/lib/shim-signed/mok/MOK.der", "ubuntu-MOK.der")
        let k = await probe(t, distro: Self.ubuntu).dkmsKey
        #expect(k.signFile == "/usr/bin/kmodsign")
        #expect(k.key == "/var/lib/shim-signed/mok/MOK.priv")
        #expect(k.certificate == "/var/lib/shim-signed/mok/MOK.der")
        #expect(k.origin.hasPrefix("Ubuntu's shim-signed pair"))
        #expect(
            k.kernelDescription
                == "aufsctl tests: host1 Secure Boot Module Signature key: 70b148856f019fe89be658653f5cba2a7db40357")
        #expect(k.signs == true)
        // A derivative (ID_LIKE="ubuntu debian") is Ubuntu to dkms too.
        let mint = await probe(t, distro: SigningProbe.Distro(id: "linuxmint", idLike: ["ubuntu", "debian"])).dkmsKey
        #expect(mint.certificate == "/var/lib/shim-signed/mok/MOK.der")
    }

    @Test func ubuntuDKMS2SignsThroughSignTool() async {
        let t = TempDir()
        t.write("usr/sbin/dkms", "echo $\"dkms-2.8.7\"\n")
        t.write(
            "etc/dkms/framework.conf",
            "## Script to sign modules during build\nsign_tool=\"/etc/dkms/sign_helper.sh\"\n")
        let k = await probe(t, distro: Self.ubuntu).dkmsKey
        #expect(k.signFile == "/etc/dkms/sign_helper.sh")
        #expect(k.certificate == "/var/lib/shim-signed/mok/MOK.der")
        #expect(k.madeAtFirstBuild)
        let debian11 = TempDir()
        debian11.write("usr/sbin/dkms", "echo $\"dkms-2.8.4\"\n")
        let d = await probe(debian11, distro: Self.debian).dkmsKey
        #expect(d.signs == false)
        #expect(d.whyNot == "dkms 2.8.4 signs only through framework.conf's sign_tool, which is not set")
    }

    @Test func frameworkConfChoosesAFleetKey() async {
        let t = debianRoot(pair: false)
        t.write(
            "etc/dkms/framework.conf.d/50-fleet.conf",
            "mok_signing_key=\"/etc/fleet/$kernelver.key\"\nmok_certificate=/etc/fleet/fleet.pem\n")
        t.write("etc/fleet/\(Self.kver).key", "fixture\n")
        chmod(t.path + "/etc/fleet/\(Self.kver).key", 0o600)
        put(t, "etc/fleet/fleet.pem", "acme-fleet.pem")
        let k = await probe(t, distro: Self.debian).dkmsKey
        #expect(k.key == "/etc/fleet/\(Self.kver).key")
        #expect(k.certificate == "/etc/fleet/fleet.pem")
        #expect(
            k.origin
                == "framework.conf (/etc/dkms/framework.conf.d/50-fleet.conf:1, /etc/dkms/framework.conf.d/50-fleet.conf:2)"
        )
        #expect(k.subject == "CN=Acme Fleet module key, O=Acme Fleet, emailAddress=ops@example.org")
        #expect(!k.madeAtFirstBuild)
    }

    @Test func shellInFrameworkConfIsReportedNotRun() async {
        let t = debianRoot()
        let marker = t.path + "/ran"
        t.write("etc/dkms/framework.conf", "mok_signing_key=$(touch \(marker); echo /root/k)\nlogger hello\n")
        let k = await probe(t, distro: Self.debian).dkmsKey
        #expect(!FileRead.exists(marker))
        #expect(k.key == nil)
        #expect(k.signs == nil)
        #expect(k.whyNot?.hasPrefix("mok_signing_key is computed by the shell at /etc/dkms/framework.conf:1") == true)
        #expect(
            k.problems.contains(
                "/etc/dkms/framework.conf:2: logger hello: dkms would run this as root when it sources the file"))
    }

    @Test func aKeyThatIsASymlinkElsewhere() async {
        let t = debianRoot()
        unlink(t.path + "/var/lib/dkms/mok.pub")
        put(t, "home/mallory/evil.der", "acme-fleet.pem")
        symlink("/home/mallory/evil.der", t.path + "/var/lib/dkms/mok.pub")
        let k = await probe(t, distro: Self.debian).dkmsKey
        #expect(k.certificateFile?.symlinkTo == "/home/mallory/evil.der")
        #expect(
            k.problems.contains(
                "/var/lib/dkms/mok.pub is a symlink to /home/mallory/evil.der: dkms follows it, so the key is whatever "
                    + "that path holds"))
        // What dkms would really use is the link's target, and that is what is reported.
        #expect(k.subject == "CN=Acme Fleet module key, O=Acme Fleet, emailAddress=ops@example.org")
        // A link out of the root is resolved inside it, never on this host.
        unlink(t.path + "/var/lib/dkms/mok.pub")
        symlink("/etc/passwd", t.path + "/var/lib/dkms/mok.pub")
        let k2 = await probe(t, distro: Self.debian).dkmsKey
        #expect(k2.problems.contains("/var/lib/dkms/mok.pub leads nowhere (ENOENT)"))
    }

    @Test func aWorldWritableKey() async {
        let t = debianRoot()
        chmod(t.path + "/var/lib/dkms/mok.key", 0o666)
        chmod(t.path + "/var/lib/dkms/mok.pub", 0o646)
        let k = await probe(t, distro: Self.debian).dkmsKey
        #expect(
            problems(k) == [
                "/var/lib/dkms/mok.key is writable by every user (mode 0666): another user can replace it",
                "/var/lib/dkms/mok.key is readable by every user (mode 0666): anyone who reads it can sign modules "
                    + "this kernel will trust once the key is enrolled",
                "/var/lib/dkms/mok.pub is writable by every user (mode 0646): another user can replace it",
            ])
    }

    @Test func notACertificate() async {
        let t = debianRoot()
        t.write("var/lib/dkms/mok.pub", "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n")
        let k = await probe(t, distro: Self.debian).dkmsKey
        #expect(k.problems.contains { $0.hasPrefix("/var/lib/dkms/mok.pub: not an X.509 certificate in DER or PEM") })
        #expect(k.subject == nil)
    }

    @Test func secureBootLockdownAndEnforcementFromTheRoot() async {
        let t = debianRoot()
        let efi = "sys/firmware/efi/efivars/"
        t.mkdirs(t.path + "/" + efi)
        for (name, value) in [("SecureBoot-\(SigningProbe.efiGlobal)", 1), ("SetupMode-\(SigningProbe.efiGlobal)", 0)] {
            let fd = open(t.path + "/" + efi + name, O_WRONLY | O_CREAT, 0o644)
            _ = [UInt8]([6, 0, 0, 0, UInt8(value)]).withUnsafeBytes { write(fd, $0.baseAddress, 5) }
            close(fd)
        }
        t.write("sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
        t.write("sys/module/module/parameters/sig_enforce", "N\n")
        t.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz-\(Self.kver) root=UUID=x ro quiet\n")
        t.write(
            "boot/config-\(Self.kver)",
            "CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\nCONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y\n"
                + "CONFIG_INTEGRITY_MACHINE_KEYRING=y\n")
        let f = await probe(t, distro: Self.debian, running: true)
        #expect(f.secureBoot.state == .enabled)
        #expect(f.secureBoot.setupMode == false)
        #expect(f.secureBoot.shimValidation == true)
        #expect(f.lockdown.mode == "integrity")
        #expect(f.enforcement.sigEnforce == false)
        #expect(f.enforcement.configSigForce == false)
        #expect(f.enforcement.lockdownUnderSecureBoot == true)
        #expect(f.enforcement.machineKeyring == true)
        // shim's validation switched off: Linux then runs as without Secure Boot.
        let fd = open(t.path + "/" + efi + "MokSBStateRT-\(SigningProbe.shimGUID)", O_WRONLY | O_CREAT, 0o644)
        _ = [UInt8]([6, 0, 0, 0, 1]).withUnsafeBytes { write(fd, $0.baseAddress, 5) }
        close(fd)
        #expect(await probe(t, distro: Self.debian, running: true).secureBoot.shimValidation == false)
        // Not the running kernel: /proc and /sys say nothing about it.
        let other = await probe(t, distro: Self.debian, running: false)
        #expect(other.lockdown.mode == nil && other.enforcement.sigEnforce == nil)
    }

    @Test func theKernelsTrustAndAModulesSigner() async {
        let t = debianRoot()
        let rings = FakeKeyrings(text: .ok(KeyringTests.procKeys), links: KeyringTests.links)
        let signed = ModuleInfo(
            name: "aufs", path: "/lib/modules/\(Self.kver)/updates/dkms/aufs.ko", builtin: false, state: .notLoaded,
            vermagic: nil, signer: "DKMS module signing key", blacklistedBy: [], signatureID: "PKCS#7",
            signatureKey: "2E:AA:DE:77:05:D0:F5:6B:75:E7:F2:74:DF:C6:56:C9:0C:4B:A4:3A", signatureHash: "sha256")
        let f = await probe(t, distro: Self.debian, running: true, module: signed, keyrings: rings)
        #expect(f.kernelTrust.keyrings == [".secondary_trusted_keys", ".machine"])
        #expect(f.kernelTrust.trustedForModules == true)
        #expect(f.module?.byDKMSKey == true)
        #expect(f.module?.signed == true)
        // Signed by someone else: looked for by name.
        var other = signed
        other.signer = "Build time autogenerated kernel key"
        other.signatureKey = "25:5E:A7:32"
        let g = await probe(t, distro: Self.debian, running: true, module: other, keyrings: rings)
        #expect(g.module?.byDKMSKey == false)
        #expect(g.module?.signerKeysInKernel?.count == 1)
        var unsigned = signed
        unsigned.signatureID = nil
        unsigned.signer = nil
        unsigned.signatureKey = nil
        #expect(
            await probe(t, distro: Self.debian, running: true, module: unsigned, keyrings: rings).module?.signed
                == false)
        // The key in no keyring.
        let none = FakeKeyrings(
            text: .ok(KeyringTests.procKeys), links: [0x0a1b2c3d: [], 0x0c000000: [], 0x0d000000: [], 0x0e000000: []])
        let n = await probe(t, distro: Self.debian, running: true, keyrings: none)
        #expect(n.kernelTrust.keyrings == [] && n.kernelTrust.trustedForModules == false)
    }
}

/// The load the facts predict, in the words issue 24 asks for.
@Suite struct SigningVerdictTests {
    func facts(secureBoot: Bool = true) async -> SigningFacts {
        let t = SigningProbeTests().debianRoot()
        var f = await SigningProbeTests().probe(t, distro: SigningProbeTests.debian)
        f.secureBoot.state = secureBoot ? .enabled : .disabled
        f.secureBoot.shimValidation = secureBoot ? true : nil
        f.enforcement.sigEnforce = secureBoot
        f.lockdown.mode = secureBoot ? "integrity" : "none"
        f.kernelTrust = SigningFacts.KernelTrust(keyrings: [], trustedForModules: false, evidence: [])
        return f
    }

    @Test func noEnforcementLoads() async {
        #expect(SigningVerdict.predict(await facts(secureBoot: false)).outcome == .loads)
    }

    @Test func untrustedDKMSKey() async {
        let v = SigningVerdict.predict(await facts())
        #expect(v.outcome == .refused)
        #expect(
            v.reason
                == "will be refused: signed by DKMS's key CN=DKMS module signing key (/var/lib/dkms/mok.pub), which this "
                + "kernel does not trust (Secure Boot (sig_enforce=Y))")
        #expect(v.wayOut == "`mokutil --import /var/lib/dkms/mok.pub`, then reboot and confirm the key in MokManager")
    }

    @Test func pendingMeansAfterEnrolmentAndAReboot() async {
        var f = await facts()
        f.enrolment.state = .pending
        let v = SigningVerdict.predict(f)
        #expect(v.outcome == .afterEnrolment)
        #expect(v.reason.hasPrefix("usable after enrolment and a reboot"))
    }

    @Test func trustedThroughTheMachineKeyring() async {
        var f = await facts()
        f.kernelTrust = SigningFacts.KernelTrust(
            keyrings: [".secondary_trusted_keys", ".machine"], trustedForModules: true, evidence: [])
        #expect(SigningVerdict.predict(f).outcome == .trusted)
    }

    @Test func anUnsignedModuleUnderLockdown() async {
        var f = await facts()
        f.enforcement.sigEnforce = false
        f.module = SigningFacts.ModuleSignature(
            path: "/lib/modules/6.1.0-57-cloud-amd64/updates/dkms/aufs.ko", signed: false, signer: nil, keyID: nil,
            hashAlgorithm: nil, byDKMSKey: nil, signerKeysInKernel: nil, evidence: [])
        let v = SigningVerdict.predict(f)
        #expect(v.outcome == .refused)
        #expect(
            v.reason == "lockdown=integrity: unsigned modules are refused, and "
                + "/lib/modules/6.1.0-57-cloud-amd64/updates/dkms/aufs.ko is unsigned")
    }

    @Test func dkmsWithoutSignFileBuildsUnsigned() async {
        var f = await facts()
        f.dkmsKey.signs = false
        f.dkmsKey.whyNot = "/usr/lib/linux-kbuild-6.1/scripts/sign-file is not there"
        #expect(SigningVerdict.predict(f).outcome == .refused)
    }
}
