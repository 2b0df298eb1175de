// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// What the kernel will do with aufs.ko, predicted from the signing facts: the module on disk, or
/// the one DKMS would build and sign. One reason and one way out; `check` folds it into its verdict.
public struct SigningVerdict: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        /// Nothing checks signatures: it loads (an unverified module taints the kernel).
        case loads
        /// Checked, and signed by a key the kernel trusts.
        case trusted
        /// The signing key waits for MokManager: confirmed at the next boot, then trusted.
        case afterEnrolment = "after-enrolment"
        case refused
        case unknown
    }

    public var outcome: Outcome
    public var reason: String
    public var wayOut: String?

    /// Whether this boot checks module signatures, and why.
    static func enforcement(_ f: SigningFacts) -> String? {
        if f.enforcement.sigEnforce == true {
            return f.secureBoot.state == .enabled ? "Secure Boot (sig_enforce=Y)" : "module.sig_enforce=1"
        }
        if let l = f.lockdown.mode, l != "none" { return "lockdown=\(l)" }
        if f.secureBoot.state == .enabled && f.secureBoot.shimValidation != false
            && f.enforcement.lockdownUnderSecureBoot != false
        {
            return "Secure Boot"
        }
        return nil
    }

    public static func predict(_ f: SigningFacts) -> SigningVerdict {
        guard let why = enforcement(f) else {
            let known = f.enforcement.sigEnforce != nil || f.lockdown.mode != nil
            return SigningVerdict(
                outcome: known ? .loads : .unknown,
                reason: known
                    ? "this kernel loads unsigned modules (no sig_enforce, no lockdown); an unverified one taints it"
                    : "whether this kernel checks module signatures is unknown (not the running kernel, or /sys "
                        + "unreadable)",
                wayOut: nil)
        }
        let k = f.dkmsKey
        let dkmsName =
            k.subject.map { "DKMS's key \($0) (\(k.certificate ?? "?"))" } ?? "DKMS's key \(k.certificate ?? "")"
        if let m = f.module {
            guard m.signed else {
                return SigningVerdict(
                    outcome: .refused, reason: "\(why): unsigned modules are refused, and \(m.path) is unsigned",
                    wayOut:
                        "rebuild it with DKMS, which signs with its key (`aufsctl install --method dkms`), and "
                        + "enroll that key"
                )
            }
            if m.byDKMSKey == true { return keyVerdict(f, why: why, name: dkmsName) }
            let signer = "'\(m.signer ?? "unnamed")' (key \(m.keyID ?? "?"))"
            if let keys = m.signerKeysInKernel, !keys.isEmpty {
                return SigningVerdict(
                    outcome: .trusted, reason: "signed by \(signer); the kernel holds a key of that name (\(keys[0]))",
                    wayOut: nil)
            }
            return SigningVerdict(
                outcome: m.signerKeysInKernel == nil ? .unknown : .refused,
                reason: "\(why): \(m.path) is signed by \(signer), which this kernel does not trust",
                wayOut:
                    "`mokutil --import CERT` with that signer's certificate, then reboot and confirm it in MokManager")
        }
        // No module yet: the one DKMS would build.
        if k.signs == false {
            return SigningVerdict(
                outcome: .refused,
                reason: "\(why): unsigned modules are refused, and DKMS would build aufs unsigned: \(k.whyNot ?? "")",
                wayOut: "install the headers' kbuild (scripts/sign-file), or set sign_file in /etc/dkms/framework.conf")
        }
        if k.signs == nil {
            return SigningVerdict(
                outcome: .unknown, reason: "which key DKMS signs with is unknown: \(k.whyNot ?? "")", wayOut: nil)
        }
        if k.madeAtFirstBuild {
            return SigningVerdict(
                outcome: .afterEnrolment,
                reason: "\(why): DKMS makes its key at the first build; that key must then be enrolled",
                wayOut:
                    "`aufsctl install --method dkms` (it makes the key and stages `mokutil --import "
                    + "\(k.certificate ?? "CERT")`), then reboot and confirm the key in MokManager"
            )
        }
        return keyVerdict(f, why: why, name: dkmsName)
    }

    /// A module signed by DKMS's key: trusted, waiting for MokManager, or refused.
    static func keyVerdict(_ f: SigningFacts, why: String, name: String) -> SigningVerdict {
        let cert = f.dkmsKey.certificate ?? "CERT"
        if let trusted = f.kernelTrust.trustedForModules, trusted {
            return SigningVerdict(
                outcome: .trusted,
                reason:
                    "signed by \(name), which this kernel trusts "
                    + "(\(f.kernelTrust.keyrings?.joined(separator: ", ") ?? ""))",
                wayOut: nil)
        }
        switch f.enrolment.state {
        case .pending:
            return SigningVerdict(
                outcome: .afterEnrolment, reason: "usable after enrolment and a reboot: \(name) waits for MokManager",
                wayOut: "reboot and confirm the key in MokManager (the password given to mokutil --import)")
        case .enrolled, .inDB:
            return SigningVerdict(
                outcome: .unknown,
                reason:
                    "\(name) is \(f.enrolment.state == .inDB ? "in the firmware's db" : "enrolled in MokList"), but "
                    + "this kernel's keyrings do not show it as trusted for modules",
                wayOut: "reboot (an enrolment takes effect at the next boot), then `aufsctl check`")
        case .blocked:
            return SigningVerdict(
                outcome: .refused, reason: "\(name) is blocked (dbx or MokListX)", wayOut: "sign with another key")
        default:
            let refused = f.kernelTrust.trustedForModules == false
            return SigningVerdict(
                outcome: refused ? .refused : .unknown,
                reason: refused
                    ? "will be refused: signed by \(name), which this kernel does not trust (\(why))"
                    : "\(why): whether this kernel trusts \(name) is unknown (its keyrings are readable by root only)",
                wayOut: "`mokutil --import \(cert)`, then reboot and confirm the key in MokManager")
        }
    }
}
