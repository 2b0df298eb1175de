// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsJournal
@testable import AufsKit
@testable import AufsMount

/// mokutil, openssl and update-secureboot-policy as a Secure Boot host answers them (MokNew and
/// MokList as sets of certificate files), over FakeDebian for the rest.
final class FakeShim: CommandRunner, @unchecked Sendable {
    let debian: FakeDebian
    let root: String
    var pending: [String] = []
    var enrolled: Set<String> = []
    /// Another key already waiting for MokManager (`mokutil --list-new` shows it too).
    var otherPending = false
    var environments: [String: [String: String]] = [:]
    var terminalRuns: [[String]] = []
    /// The serial dkms's sign tool signed aufs.ko with (dkms-mok.der's); "" unsigned.
    var moduleSigner: String? = "2E:AA:DE:77:05:D0:F5:6B:75:E7:F2:74:DF:C6:56:C9:0C:4B:A4:3A"

    init(_ debian: FakeDebian) {
        self.debian = debian
        root = debian.root
    }

    func which(_ name: String) -> String? { nil }

    /// The commands that change something (mokutil's queries left out).
    var changes: [String] {
        debian.mutating.filter { !$0.hasPrefix("mokutil --test-key") && !$0.hasPrefix("mokutil --list-new") }
    }

    static let listed = """
        [key 1]
        SHA1 Fingerprint: 57:a5:60:88
        Certificate:
            Data:
                Serial Number:
                    2e:aa:de:77:05:d0:f5:6b:75:e7:f2:74:df:c6:56:c9:0c:4b:a4:3a
                Subject: CN=DKMS module signing key
                X509v3 extensions:
                    X509v3 Subject Key Identifier:
                        A9:39:E8:2F:0E:25:E3:77:58:8C:24:05:19:EC:04:FB:08:1D:C3:DE

        """
    static let other = """
        [key 2]
        SHA1 Fingerprint: 11:22:33
                Subject: CN=someone else's key
                    X509v3 Subject Key Identifier:
                        01:02:03

        """

    func runOnTerminal(_ argv: [String], environment: [String: String]) async throws -> Int32 {
        terminalRuns.append(argv)
        return try await run(argv, environment: environment).status
    }

    func run(_ full: [String], environment: [String: String]) async throws -> CommandResult {
        var argv = full
        if argv.first == "chroot" { argv.removeFirst(2) }
        let key = argv.joined(separator: " ")
        environments[key] = environment
        switch argv.first {
        case "mokutil":
            debian.calls.append(argv)
            switch argv[1] {
            case "--test-key":
                let c = argv[2]
                if enrolled.contains(c) { return CommandResult(status: 1, stdout: "\(c) is already enrolled\n") }
                if pending.contains(c) {
                    return CommandResult(status: 1, stdout: "\(c) is already in the enrollment request\n")
                }
                return CommandResult(status: 0, stdout: "\(c) is not enrolled\n")
            case "--import":
                pending.append(argv[2])
                return CommandResult(status: 0)
            case "--list-new":
                if pending.isEmpty && !otherPending { return CommandResult(status: 1, stdout: "MokNew is empty\n") }
                return CommandResult(
                    status: 0, stdout: (pending.isEmpty ? "" : Self.listed) + (otherPending ? Self.other : ""))
            case "--revoke-import":
                pending = []
                otherPending = false
                return CommandResult(status: 0)
            default: return CommandResult(status: 2, stderr: "fake mokutil: \(key)")
            }
        case "openssl":
            debian.calls.append(argv)
            let keyPath = argv[argv.firstIndex(of: "-keyout")! + 1]
            let certPath = argv[argv.firstIndex(of: "-out")! + 1]
            TempDirWriter.write(root + keyPath, Array("fake key\n".utf8), mode: 0o600)
            TempDirWriter.write(root + certPath, signingFixture("dkms-mok.der"), mode: 0o644)
            return CommandResult(status: 0)
        case "update-secureboot-policy":
            debian.calls.append(argv)
            TempDirWriter.write(root + "/var/lib/shim-signed/mok/MOK.priv", Array("fake\n".utf8), mode: 0o600)
            TempDirWriter.write(
                root + "/var/lib/shim-signed/mok/MOK.der", signingFixture("ubuntu-MOK.der"), mode: 0o644)
            return CommandResult(status: 0)
        default:
            return try await debian.run(full, environment: environment)
        }
    }
}

enum TempDirWriter {
    static func write(_ path: String, _ bytes: [UInt8], mode: mode_t) {
        var cur = ""
        for c in Paths.dirname(path).split(separator: "/") {
            cur += "/" + c
            mkdir(cur, 0o755)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        chmod(path, mode)
    }
}

@Suite struct DKMSSecureBootTests {
    static let kver = DKMSPlanTests.kver
    static let hash = "/etc/aufsctl/mok.hash"

    /// debian12 with Secure Boot on (the efivar), bookworm's kbuild sign-file and a password hash.
    func secureBootRoot(ubuntu: Bool = false) -> TempDir {
        let t = copyFixture(ubuntu ? "ubuntu2204" : "debian12")
        TempDirWriter.write(
            t.path + "/sys/firmware/efi/efivars/SecureBoot-\(SigningProbe.efiGlobal)", [6, 0, 0, 0, 1], mode: 0o644)
        TempDirWriter.write(
            t.path + "/usr/lib/linux-kbuild-6.1/scripts/sign-file", Array("#!/bin/sh\n".utf8), mode: 0o755)
        TempDirWriter.write(t.path + Self.hash, Array("$6$salt$0123456789abcdef\n".utf8), mode: 0o600)
        return t
    }

    func options(hash: String? = Self.hash) -> InstallOptions {
        var o = DKMSPlanTests().options()
        o.mokPasswordHash = hash
        return o
    }

    func apply(
        _ t: TempDir, _ runner: FakeShim, _ o: InstallOptions, dryRun: Bool = false
    ) async throws -> InstallReport {
        let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
        let ctx = installer.context(facts, o)
        // The module tree dkms would have filled: aufs.ko signed as `signed` says (nil: not there).
        let signed = runner.moduleSigner
        let debian = runner.debian
        ctx.moduleInfo = { _, kernel, name in
            guard debian.dkms.values.contains("installed"), let serial = signed else { return nil }
            return ModuleInfo(
                name: name, path: "/lib/modules/\(kernel)/updates/dkms/aufs.ko", builtin: false, state: .notLoaded,
                vermagic: nil, signer: serial.isEmpty ? nil : "DKMS module signing key", blacklistedBy: [],
                signatureID: serial.isEmpty ? nil : "PKCS#7", signatureKey: serial.isEmpty ? nil : serial)
        }
        return try await Executor(printer: { _ in }).run(plan, context: ctx, dryRun: dryRun)
    }

    func runner(_ t: TempDir) -> FakeShim {
        FakeShim(FakeDebian(root: t.path, kver: Self.kver, symvers: DKMSPlanTests.realSymvers))
    }

    static let cert = "/var/lib/dkms/mok.pub"

    @Test func freshInstallMakesTheKeyAndStagesItsEnrolment() async throws {
        let t = secureBootRoot()
        let r = runner(t)
        let report = try await apply(t, r, options())
        #expect(
            r.changes == [
                "apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 dkms build-essential "
                    + "linux-headers-amd64 mokutil openssl linux-headers-6.1.0-18-amd64",
                "openssl req -new -x509 -nodes -days 36500 -subj /CN=DKMS module signing key -newkey rsa:2048 -keyout "
                    + "/var/lib/dkms/mok.key -outform DER -out /var/lib/dkms/mok.pub",
                "dkms add aufs/0.0-standin",
                "dkms build aufs/0.0-standin -k 6.1.0-18-amd64 -j 2",
                "dkms install aufs/0.0-standin -k 6.1.0-18-amd64",
                "mokutil --import /var/lib/dkms/mok.pub --hash-file /etc/aufsctl/mok.hash",
            ])
        #expect(report.exitCode == .rebootRequired)
        #expect(report.mokEnrolment?.state == .staged)
        #expect(report.mokEnrolment?.keyID == "a939e82f0e25e377588c240519ec04fb081dc3de")
        #expect(report.mokEnrolment?.next.hasPrefix("reboot and confirm the key in MokManager") == true)
        #expect(report.steps.map(\.id).contains("signing-key") && report.steps.map(\.id).contains("mok-import"))
        #expect(!report.steps.map(\.id).contains("load"))
        let json = try JSONText.encode(report)
        #expect(json.contains("\"mokEnrolment\"") && json.contains("\"exitCode\" : 5"))
        // The record keeps the revoke and says the pair stays.
        let undo = try InstallState.load(root: HostRoot(t.path)).installs.last!.steps.flatMap(\.undo)
        #expect(
            undo.contains(
                .revokeMokImport(
                    certificate: Self.cert, keyID: "a939e82f0e25e377588c240519ec04fb081dc3de",
                    serial: "2E:AA:DE:77:05:D0:F5:6B:75:E7:F2:74:DF:C6:56:C9:0C:4B:A4:3A")))
        #expect(undo.contains { if case .keep = $0 { return true } else { return false } })

        // Again before the reboot: nothing changes, and the key still waits (exit 5).
        let before = r.changes.count
        let again = try await apply(t, r, options())
        #expect(again.exitCode == .rebootRequired && again.mokEnrolment?.state == .pending && !again.changed)
        #expect(r.changes.count == before)
        // After MokManager: nothing changes and the run succeeds.
        r.enrolled = Set(r.pending)
        r.pending = []
        let after = try await apply(t, r, options())
        #expect(after.exitCode == .success && !after.changed && after.mokEnrolment == nil)
        #expect(after.message == "nothing to do: every step was already done")
    }

    @Test func uninstallRevokesAnImportStillPendingWhenItIsTheOnlyOne() async throws {
        let t = secureBootRoot()
        let r = runner(t)
        _ = try await apply(t, r, options())
        let lines = Lines()
        _ = try await Uninstaller(printer: lines.add).run(root: HostRoot(t.path), runner: r, dryRun: false)
        #expect(r.changes.contains("mokutil --revoke-import"))
        #expect(r.pending.isEmpty)
        #expect(lines.all.contains { $0.contains("kept /var/lib/dkms/mok.key and /var/lib/dkms/mok.pub") })
        #expect(FileRead.exists(t.path + Self.cert))
    }

    @Test func uninstallLeavesOtherPendingRequestsAndSaysSo() async throws {
        let t = secureBootRoot()
        let r = runner(t)
        _ = try await apply(t, r, options())
        r.otherPending = true
        let lines = Lines()
        _ = try await Uninstaller(printer: lines.add).run(root: HostRoot(t.path), runner: r, dryRun: false)
        #expect(!r.changes.contains("mokutil --revoke-import"))
        #expect(r.pending == [Self.cert])
        #expect(
            lines.all.contains {
                $0.contains("not revoked: `mokutil --revoke-import` drops every pending import, and 1 other key waits")
                    && $0.contains("someone else's key")
            }, "\(lines.all)")
    }

    @Test func uninstallSaysAnEnrolledKeyStaysAndHowToDeleteIt() async throws {
        let t = secureBootRoot()
        let r = runner(t)
        _ = try await apply(t, r, options())
        r.enrolled = [Self.cert]
        r.pending = []
        let lines = Lines()
        _ = try await Uninstaller(printer: lines.add).run(root: HostRoot(t.path), runner: r, dryRun: false)
        #expect(!r.changes.contains("mokutil --revoke-import"))
        #expect(
            lines.all.contains {
                $0.contains("cannot undo: /var/lib/dkms/mok.pub is enrolled in MokList")
                    && $0.contains("`mokutil --delete /var/lib/dkms/mok.pub`")
            }, "\(lines.all)")
    }

    @Test func withoutAHashFileMokutilAsksOnTheTerminal() async throws {
        let t = secureBootRoot()
        let r = runner(t)
        let installer = Installer(root: HostRoot(t.path), runner: r, syscalls: FakeSyscalls())
        guard case .plan(let plan, _) = try await installer.decide(options(hash: nil)) else { throw AufsError("") }
        #expect(plan.needsTerminal?.contains("one-time password") == true)
        let report = try await apply(t, r, options(hash: nil))
        #expect(r.terminalRuns == [["chroot", t.path, "mokutil", "--import", Self.cert]])
        #expect(report.exitCode == .rebootRequired)
        // No terminal and no hash file: refused before anything changes.
        let u = secureBootRoot()
        let ru = runner(u)
        let lines = Lines()
        let frontend = InstallFrontend(
            installer: Installer(root: HostRoot(u.path), runner: ru, syscalls: FakeSyscalls()),
            options: options(hash: nil), mode: .apply, json: false,
            confirmation: Confirmation(assumeYes: true, isTerminal: { false }),
            console: Console(write: { lines.add($0) }, error: { lines.add($0) }))
        if geteuid() == 0 {
            let e = await #expect(throws: AufsError.self) { try await frontend.run() }
            #expect(e?.exitCode == .usage)
            #expect(e?.message.contains("--mok-password-hash FILE") == true)
            #expect(ru.changes.isEmpty)
        }
    }

    @Test func aSymlinkedOrWorldWritableKeyIsRefusedBeforeTheBuild() async throws {
        for how in ["symlink", "world-writable"] {
            let t = secureBootRoot()
            TempDirWriter.write(t.path + "/var/lib/dkms/mok.key", Array("k\n".utf8), mode: 0o600)
            if how == "symlink" {
                TempDirWriter.write(t.path + "/home/mallory/evil.der", signingFixture("dkms-mok.der"), mode: 0o644)
                symlink("/home/mallory/evil.der", t.path + Self.cert)
            } else {
                TempDirWriter.write(t.path + Self.cert, signingFixture("dkms-mok.der"), mode: 0o646)
            }
            let r = runner(t)
            let report = try await apply(t, r, options())
            #expect(report.exitCode == .blocked, "\(how)")
            let blocked = report.steps.first { $0.status == .blocked }
            #expect(blocked?.id == "signing-key")
            #expect(blocked?.evidence.first?.hasPrefix("refusing to sign with or enroll DKMS's signing pair") == true)
            #expect(!r.changes.contains { $0.hasPrefix("dkms") || $0.hasPrefix("mokutil") }, "\(how)")
        }
    }

    @Test func noSignToolMeansUnsignedAndStops() async throws {
        let t = secureBootRoot()
        unlink(t.path + "/usr/lib/linux-kbuild-6.1/scripts/sign-file")
        let r = runner(t)
        let report = try await apply(t, r, options())
        #expect(report.exitCode == .blocked)
        let blocked = report.steps.first { $0.status == .blocked }
        #expect(blocked?.evidence.first?.contains("dkms would build aufs unsigned, which Secure Boot refuses") == true)
        #expect(
            blocked?.evidence.contains("way out: install linux-kbuild-6.1 (linux-headers-6.1.0-18-amd64 depends on it)")
                == true)
    }

    @Test func aBadPasswordHashIsAUsageError() async throws {
        let t = secureBootRoot()
        TempDirWriter.write(t.path + Self.hash, Array("hunter2\n".utf8), mode: 0o600)
        let installer = Installer(root: HostRoot(t.path), runner: runner(t), syscalls: FakeSyscalls())
        for (hash, why) in [(Self.hash, "not a password hash"), ("/nope", "no such file")] {
            do {
                _ = try await installer.decide(options(hash: hash))
                Issue.record("\(hash) was accepted")
            } catch let e as AufsError {
                #expect(e.exitCode == .usage)
                #expect(e.message.contains(why), "\(e.message)")
            }
        }
    }

    @Test func withoutSecureBootNothingChanges() async throws {
        let t = copyFixture("debian12")
        let r = runner(t)
        let report = try await apply(t, r, options())
        #expect(r.changes == DKMSPlanTests.fresh)
        #expect(report.exitCode == .success && report.mokEnrolment == nil)
    }

    @Test func theEmittedScriptCarriesTheSameSteps() async throws {
        let t = secureBootRoot()
        let installer = Installer(root: HostRoot(t.path), runner: runner(t), syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(options()) else { throw AufsError("") }
        let sh = ShellScript.render(plan, facts: facts)
        #expect(sh.contains("openssl req -new -x509 -nodes -days 36500 -subj '/CN=DKMS module signing key'"))
        #expect(sh.contains("mokutil --import /var/lib/dkms/mok.pub --hash-file /etc/aufsctl/mok.hash"))
        #expect(sh.contains("    exit 5"))
        #expect(!sh.contains("modprobe aufs"))
    }

    @Test func aModuleDkmsBuiltUnsignedOrWithAnotherKeyFailsTheRun() async throws {
        for (signer, why) in [
            (
                "",
                "/lib/modules/6.1.0-18-amd64/updates/dkms/aufs.ko is unsigned: the kernel refuses it under Secure Boot"
            ),
            ("25:5E:A7", "is signed by DKMS module signing key (serial 25:5E:A7), not by /var/lib/dkms/mok.pub"),
        ] {
            let t = secureBootRoot()
            let r = runner(t)
            r.moduleSigner = signer
            let report = try await apply(t, r, options())
            let failed = report.steps.first { $0.status == .failed }
            #expect(failed?.id == "module-signed", "\(signer)")
            #expect(failed?.evidence.first?.contains(why) == true, "\(failed?.evidence ?? [])")
            #expect(
                failed?.evidence.contains {
                    $0.contains("`dkms install --force aufs/0.0-standin -k 6.1.0-18-amd64`")
                } == true)
            // A failed run rolls back what it applied (issue 25): exit 1.
            #expect(report.exitCode == .failure && report.onFailure == .rolledBack)
            // Nothing is staged for MokManager for a module the key did not sign.
            #expect(!r.changes.contains { $0.hasPrefix("mokutil --import") })
        }
    }

    /// A dry run on a fresh host: the headers (and the sign tool with them), the pair and the module are
    /// not there yet; every Secure Boot step says it would change, none is blocked, nothing runs.
    @Test func aDryRunOnAFreshHostListsTheSigningSteps() async throws {
        let t = secureBootRoot()
        unlink(t.path + "/usr/lib/linux-kbuild-6.1/scripts/sign-file")
        let r = runner(t)
        let report = try await apply(t, r, options(), dryRun: true)
        #expect(report.exitCode == .success, "\(report.steps)")
        let status = Dictionary(uniqueKeysWithValues: report.steps.map { ($0.id, $0.status) })
        #expect(status["signing-key"] == .pending && status["module-signed"] == .pending)
        #expect(status["mok-import"] == .pending)
        #expect(r.changes.isEmpty)
    }

    /// Tests/secureboot's guest runs the real `aufsctl uninstall` over the record install leaves after
    /// staging the import (guest-init.sh's record()): that text decodes to the undo install writes.
    @Test func theSecureBootGuestsRecordIsTheOneInstallWrites() throws {
        let guest =
            #"{"schema":"aufsctl.state/2","installs":[{"id":1,"kernel":"6.1.0-57-cloud-amd64","method":"dkms","#
            + #""steps":[{"id":"mok-import","title":"stage","undo":[{"revokeMokImport":{"certificate":"#
            + #""/var/lib/dkms/mok.pub","keyID":"a939e82f0e25e377588c240519ec04fb081dc3de"}}]}]}]}"#
        let state = try JSONDecoder().decode(InstallState.self, from: Data(guest.utf8))
        #expect(
            state.installs.first?.steps.first?.undo == [
                .revokeMokImport(
                    certificate: Self.cert, keyID: "a939e82f0e25e377588c240519ec04fb081dc3de", serial: nil)
            ])
        let written = try JSONText.encode(
            UndoAction.revokeMokImport(certificate: Self.cert, keyID: "k", serial: nil))
        #expect(written.contains("\"revokeMokImport\""))
    }

    /// Ubuntu: dkms signs with shim-signed's MOK pair, which update-secureboot-policy makes;
    /// SHIM_NOTRIGGER=y keeps it from asking for the password through debconf (the import is ours).
    @Test func onUbuntuShimSignedsPairIsMadeWithoutDebconf() async throws {
        let t = secureBootRoot(ubuntu: true)
        let k = "5.15.0-91-generic"
        TempDirWriter.write(t.path + "/usr/bin/apt-get", Array("#!/bin/sh\n".utf8), mode: 0o755)
        TempDirWriter.write(
            t.path + "/usr/src/linux-headers-\(k)/scripts/sign-file", Array("#!/bin/sh\n".utf8), mode: 0o755)
        let r = FakeShim(FakeDebian(root: t.path, kver: k, symvers: DKMSPlanTests.realSymvers))
        r.moduleSigner = "5F:14:6D:B6:4F:62:19:C5:BB:82:2F:EC:F3:9C:8E:E1:65:54:D8:62"
        let report = try await apply(t, r, options())
        #expect(report.exitCode == .rebootRequired, "\(report.steps) \(report.message ?? "")")
        #expect(r.changes.contains("update-secureboot-policy --new-key"), "\(r.changes)")
        #expect(r.environments["update-secureboot-policy --new-key"]?["SHIM_NOTRIGGER"] == "y")
        #expect(!r.changes.contains { $0.hasPrefix("openssl") })
        #expect(r.changes.contains("mokutil --import /var/lib/shim-signed/mok/MOK.der --hash-file \(Self.hash)"))
        #expect(r.changes.first?.contains("mokutil shim-signed") == true, "\(r.changes)")
        #expect(report.exitCode == .rebootRequired, "\(report.steps)")
    }
}
