// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

func signingFixture(_ name: String) -> [UInt8] {
    guard case .success(let b) = FileRead.bytes(packageRoot() + "/Tests/Fixtures/signing/" + name) else {
        fatalError("no fixture \(name)")
    }
    return b
}

/// The certificate fields, against what `openssl x509 -noout -subject -serial -ext subjectKeyIdentifier`
/// printed for the same files when they were made (Tests/Fixtures/signing/README.md).
@Suite struct CertificateTests {
    @Test func dkmsCertificate() throws {
        let c = try CertificateInfo.parse(signingFixture("dkms-mok.der"))
        #expect(c.subject.commonName == "DKMS module signing key")
        #expect(c.subject.organization == nil)
        #expect(c.issuer == c.subject)
        #expect(c.serial == "2eaade7705d0f56b75e7f274dfc656c90c4ba43a")
        #expect(c.serialForModinfo == "2E:AA:DE:77:05:D0:F5:6B:75:E7:F2:74:DF:C6:56:C9:0C:4B:A4:3A")
        #expect(c.subjectKeyID == "a939e82f0e25e377588c240519ec04fb081dc3de")
        #expect(c.kernelDescription == "DKMS module signing key: a939e82f0e25e377588c240519ec04fb081dc3de")
        #expect(c.notAfter == "2126-11-12")  // GeneralizedTime after 2049
    }

    @Test func organisationAndCommonNameFollowTheKernelsRule() throws {
        let ubuntu = try CertificateInfo.parse(signingFixture("ubuntu-MOK.der"))
        #expect(ubuntu.subject.kernelName == "aufsctl tests: host1 Secure Boot Module Signature key")
        // A CN that starts with the O is used alone (x509_fabricate_name).
        let acme = try CertificateInfo.parse(signingFixture("acme-fleet.pem"))
        #expect(acme.subject.organization == "Acme Fleet")
        #expect(acme.subject.email == "ops@example.org")
        #expect(acme.subject.kernelName == "Acme Fleet module key")
        #expect(acme.subjectKeyID == "781ceb04bfc167493cfe43894c0cedabb3db9310")
    }

    @Test func withoutSubjectKeyIDTheSerialNamesTheKey() throws {
        let c = try CertificateInfo.parse(signingFixture("no-skid.der"))
        #expect(c.subjectKeyID == nil)
        #expect(c.kernelDescription == "no skid key: 7e452426e87949ba261c95dcae6cd27f64a172be")
    }

    @Test func aHighBitSerialKeepsItsZeroByteForTheKernelButNotForModinfo() throws {
        let c = try CertificateInfo.parse(signingFixture("high-bit-serial.der"))
        #expect(c.serial == "008a1b")
        #expect(c.serialForModinfo == "8A:1B")
        #expect(c.notAfter == "2036-12-03")  // UTCTime
    }

    @Test func notACertificate() {
        for bytes in [
            Array("hello".utf8), [], Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8),
        ] {
            #expect(throws: CertificateInfo.ParseError.self) { try CertificateInfo.parse(bytes) }
        }
        // A truncated certificate.
        #expect(throws: CertificateInfo.ParseError.self) {
            try CertificateInfo.parse(Array(signingFixture("dkms-mok.der").prefix(300)))
        }
    }
}

@Suite struct FrameworkConfTests {
    func parse(_ text: String) -> FrameworkConf {
        var c = FrameworkConf()
        c.parse(text, file: "/etc/dkms/framework.conf", kernel: "6.1.0-57-cloud-amd64")
        return c
    }

    @Test func debiansShippedFileSetsNothing() throws {
        let shipped = try #require(FileRead.string(packageRoot() + "/Tests/Fixtures/signing/framework.conf.bookworm"))
        let c = parse(shipped)
        #expect(c.settings.isEmpty)
        #expect(c.commands.isEmpty)
    }

    @Test func literalValuesAndKernelver() {
        let c = parse(
            """
            # a comment
            mok_signing_key="/root/keys/$kernelver/mok.key"
            mok_certificate='/root/keys/fleet cert.der'   # trailing comment
            sign_file=/usr/local/bin/sign-${kernelver}
            """)
        #expect(c.settings["mok_signing_key"]?.value == "/root/keys/6.1.0-57-cloud-amd64/mok.key")
        #expect(c.settings["mok_certificate"]?.value == "/root/keys/fleet cert.der")
        #expect(c.settings["sign_file"]?.value == "/usr/local/bin/sign-6.1.0-57-cloud-amd64")
        #expect(c.settings["mok_certificate"]?.source == "/etc/dkms/framework.conf:3")
    }

    @Test func theLastSettingWins() {
        let c = parse("mok_signing_key=/a\nmok_signing_key=/b\n")
        #expect(c.settings["mok_signing_key"]?.value == "/b")
    }

    /// dkms sources the file with bash as root: nothing here may run, and what only bash could
    /// compute is unknown.
    @Test func shellIsNeverRunAndNeverGuessed() {
        let c = parse(
            """
            mok_signing_key=$(cat /etc/keypath; touch /tmp/pwned)
            mok_certificate=`hostname`.der
            sign_file=$HOME/sign-file
            """)
        for v in ["mok_signing_key", "mok_certificate", "sign_file"] {
            #expect(c.settings[v]?.value == nil, "\(v)")
            #expect(c.settings[v]?.unknownBecause != nil)
        }
        #expect(c.settings["mok_signing_key"]?.unknownBecause == "a command substitution ($(...)) computes it")
        #expect(c.settings["sign_file"]?.unknownBecause == "it expands $HOME/sign-file, which only bash knows")
        #expect(!FileRead.exists("/tmp/pwned"))
    }

    @Test func conditionalsCommandsAndTrailingSyntaxAreUnknown() {
        let c = parse(
            """
            if [ -f /root/fleet.key ]; then
                mok_signing_key=/root/fleet.key
            fi
            mok_certificate=/root/fleet.der; rm -rf /
            source /etc/dkms/extra.sh
            """)
        #expect(c.settings["mok_signing_key"]?.value == nil)
        #expect(c.settings["mok_certificate"]?.value == nil)
        // `source` can set anything, including sign_file and sign_tool.
        #expect(c.settings["sign_file"]?.value == nil)
        #expect(c.settings["sign_file"]?.source == "/etc/dkms/framework.conf:5")
        #expect(c.commands.contains("/etc/dkms/framework.conf:5: source /etc/dkms/extra.sh"))
        let oneLine = parse("[ -f /x ] && mok_signing_key=/x\nf() { mok_certificate=/y; }\n")
        #expect(oneLine.settings["mok_signing_key"]?.value == nil)
        #expect(oneLine.settings["mok_certificate"]?.value == nil)
    }

    @Test func globsTildeAndExport() {
        #expect(parse("mok_certificate=/root/*.der").settings["mok_certificate"]?.value == nil)
        #expect(parse("mok_certificate=~/mok.der").settings["mok_certificate"]?.value == nil)
        #expect(parse("mok_certificate='~/mok.der'").settings["mok_certificate"]?.value == "~/mok.der")
        #expect(parse("export mok_certificate=/a").settings["mok_certificate"]?.value == nil)
        #expect(parse("unrelated=$(date)").settings.isEmpty)
        #expect(parse("unrelated=$(date)").commands.count == 1)
    }

    @Test func filesInDkmsOrder() {
        let t = TempDir()
        t.write("etc/dkms/framework.conf", "mok_signing_key=/main.key\nmok_certificate=/main.der\n")
        t.write("etc/dkms/framework.conf.d/20-fleet.conf", "mok_signing_key=/fleet.key\n")
        t.write("etc/dkms/framework.conf.d/10-early.conf", "mok_certificate=/early.der\n")
        t.write("etc/dkms/framework.conf.d/30-off.conf.disabled", "mok_signing_key=/ignored\n")
        let c = FrameworkConf.read(root: HostRoot(t.path), kernel: "6.1.0-57-cloud-amd64")
        #expect(
            c.files == [
                "/etc/dkms/framework.conf", "/etc/dkms/framework.conf.d/10-early.conf",
                "/etc/dkms/framework.conf.d/20-fleet.conf",
            ])
        #expect(c.settings["mok_signing_key"]?.value == "/fleet.key")
        #expect(c.settings["mok_certificate"]?.value == "/early.der")
    }
}

@Suite struct MokutilOutputTests {
    @Test func testKeyIsReadNotItsExitCode() {
        #expect(Mokutil.parseTestKey("/var/lib/dkms/mok.pub is not enrolled\n") == .notEnrolled)
        #expect(Mokutil.parseTestKey("/var/lib/dkms/mok.pub is already enrolled\n") == .enrolled)
        #expect(Mokutil.parseTestKey("/var/lib/dkms/mok.pub is already in db\n") == .inDB)
        #expect(Mokutil.parseTestKey("/var/lib/dkms/mok.pub is already in the enrollment request\n") == .pending)
        #expect(Mokutil.parseTestKey("/var/lib/dkms/mok.pub is blocked in dbx\n") == .blocked)
        #expect(Mokutil.parseTestKey("/x.der is already in the built-in trusted keyring\n") == .builtin)
        #expect(Mokutil.parseTestKey("EFI variables are not supported on this system\n") == .unknown)
    }

    @Test func sbState() {
        let on = Mokutil.parseSBState("SecureBoot enabled\nSecureBoot validation is disabled in shim\n")
        #expect(on.secureBoot == .enabled && on.shimValidationDisabled)
        let setup = Mokutil.parseSBState("SecureBoot disabled\nPlatform is in Setup Mode\n")
        #expect(setup.secureBoot == .disabled && setup.setupMode)
        #expect(Mokutil.parseSBState("This system doesn't support Secure Boot\n").secureBoot == .notApplicable)
    }

    @Test func listNew() {
        #expect(Mokutil.parseList("MokNew is empty\n").isEmpty)
        let out = """
            [key 1]
            SHA1 Fingerprint: 3c:1d:aa:bb
            Certificate:
                Data:
                    Version: 3 (0x2)
                    Serial Number:
                        2e:aa:de:77:05:d0:f5:6b
                    Subject: CN = DKMS module signing key
                    X509v3 extensions:
                        X509v3 Subject Key Identifier:
                            A9:39:E8:2F:0E:25:E3:77:58:8C:24:05:19:EC:04:FB:08:1D:C3:DE

            [key 2]
            SHA1 Fingerprint: 11:22
                    Subject: O = Acme Fleet, CN = Acme Fleet module key
            """
        let keys = Mokutil.parseList(out)
        #expect(keys.count == 2)
        #expect(keys[0].subject == "CN = DKMS module signing key")
        #expect(keys[0].subjectKeyID == "a939e82f0e25e377588c240519ec04fb081dc3de")
        #expect(keys[1].subjectKeyID == nil)
    }
}

/// /proc/keys and keyctl as a test answers them.
struct FakeKeyrings: KernelKeyrings {
    var text: FileRead.Outcome
    var links: [Int32: [Int32]]
    func procKeys() -> FileRead.Outcome { text }
    func members(of keyring: Int32) -> Result<[Int32], SysErrno> {
        links[keyring].map { .success($0) } ?? .failure(SysErrno(EACCES))
    }
}

@Suite struct KeyringTests {
    /// The lines as a Debian 6.1 kernel shows them (ids and the DKMS key's line made up).
    static let procKeys = """
        0a1b2c3d I------     1 perm 1f0b0000     0     0 keyring   .builtin_trusted_keys: 2
        0b000001 I------     1 perm 1f030000     0     0 asymmetri Debian Secure Boot CA: 6ccece7e4c6c0d1f6149f3dd27dfcc5cbb419ea1: X509.rsa cb419ea1 []
        0b000002 I------     1 perm 1f030000     0     0 asymmetri Build time autogenerated kernel key: 255ea732118d4230c1cbfaf3540e3f2b5de65c32: X509.rsa 5de65c32 []
        0c000000 I------     1 perm 1f0f0000     0     0 keyring   .secondary_trusted_keys: 2
        0d000000 I------     1 perm 1f0b0000     0     0 keyring   .machine: 1
        0e000000 I------     1 perm 1f0b0000     0     0 keyring   .platform: 1
        0f000001 I------     1 perm 1f030000     0     0 asymmetri DKMS module signing key: a939e82f0e25e377588c240519ec04fb081dc3de: X509.rsa 081dc3de []
        0f000002 I------     1 perm 1f030000     0     0 asymmetri Microsoft Corporation UEFI CA 2011: 13adbf4309bd82709c8cd54f316ed522988a1bd4: X509.rsa 988a1bd4 []
        """

    static let links: [Int32: [Int32]] = [
        0x0a1b2c3d: [0x0b000001, 0x0b000002], 0x0c000000: [0x0a1b2c3d, 0x0d000000],
        0x0d000000: [0x0f000001], 0x0e000000: [0x0f000002],
    ]

    @Test func aMOKKeyReachesModulesThroughMachineAndSecondary() {
        let rings = FakeKeyrings(text: .ok(Self.procKeys), links: Self.links)
        let a = KeyringLookup.find(
            description: "DKMS module signing key: a939e82f0e25e377588c240519ec04fb081dc3de",
            keyID: "a939e82f0e25e377588c240519ec04fb081dc3de", in: rings)
        guard case .found(let t) = a else { Issue.record("\(a)"); return }
        #expect(t.keyrings == [".secondary_trusted_keys", ".machine"])
        #expect(t.trustedForModules(platformVerifiesModules: nil) == true)
    }

    @Test func aDbKeyIsOnlyInPlatform() {
        let rings = FakeKeyrings(text: .ok(Self.procKeys), links: Self.links)
        guard
            case .found(let t) = KeyringLookup.find(
                description: "Microsoft Corporation UEFI CA 2011: 13adbf4309bd82709c8cd54f316ed522988a1bd4",
                keyID: nil, in: rings)
        else { Issue.record("not found"); return }
        #expect(t.keyrings == [".platform"])
        #expect(t.trustedForModules(platformVerifiesModules: true) == true)  // Debian's kernels
        #expect(t.trustedForModules(platformVerifiesModules: nil) == nil)  // mainline's do not; others: unknown
    }

    @Test func anUnknownKeyIsInNoKeyring() {
        let rings = FakeKeyrings(text: .ok(Self.procKeys), links: Self.links)
        #expect(
            KeyringLookup.find(description: "Other: 0102", keyID: "0102", in: rings)
                == .found(KeyringTrust(keyrings: [], entry: nil)))
    }

    @Test func notRootSeesNoKeyrings() {
        let user = FakeKeyrings(
            text: .ok("2f3a4b5c I--Q---     1 perm 3f030000  1000  1000 keyring   _ses: 1\n"), links: [:])
        guard case .unknown(let why) = KeyringLookup.find(description: "x: 01", keyID: nil, in: user) else {
            Issue.record("should be unknown"); return
        }
        #expect(why.contains("listed to root only"))
        let denied = FakeKeyrings(text: .ok(Self.procKeys), links: [:])
        guard
            case .unknown(let w2) = KeyringLookup.find(
                description: "DKMS module signing key: a939e82f0e25e377588c240519ec04fb081dc3de", keyID: nil, in: denied
            )
        else {
            Issue.record("should be unknown"); return
        }
        #expect(w2.hasPrefix("keyctl read of .builtin_trusted_keys"))
    }

    @Test func keysByName() {
        let rings = FakeKeyrings(text: .ok(Self.procKeys), links: Self.links)
        #expect(KeyringLookup.keys(named: "Build time autogenerated kernel key", in: rings)?.count == 1)
    }

    /// This host's own keyrings through the real keyctl (root only: others see no trusted keyring).
    @Test(.enabled(if: geteuid() == 0, "root only: /proc/keys lists the kernel's keyrings to root"))
    func theRunningKernelsKeyrings() throws {
        let rings = LinuxKeyrings(root: HostRoot())
        guard case .ok(let text) = rings.procKeys() else { Issue.record("no /proc/keys"); return }
        let builtin = try #require(
            ProcKey.parse(text).first { $0.isKeyring && $0.keyringName == ".builtin_trusted_keys" })
        guard case .success(let ids) = rings.members(of: builtin.id) else { Issue.record("keyctl read failed"); return }
        let all = Set(ProcKey.parse(text).map(\.id))
        // /proc/keys says how many keys a keyring links (`: 3`, or `: empty`); keyctl lists them.
        let count = builtin.text.split(separator: " ").last.flatMap { Int($0) } ?? 0
        #expect(ids.count == count, "\(builtin.text)")
        #expect(ids.allSatisfy { all.contains($0) }, "every key the builtin keyring links is listed in /proc/keys")
    }
}
