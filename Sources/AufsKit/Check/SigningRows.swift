// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `check`'s human rows for the signing facts: one per fact with its evidence, then the load they
/// predict, then one row per /boot kernel image.
struct SigningRows {
    let f: SigningFacts
    let verdict: Verdict

    init(_ f: SigningFacts, _ verdict: Verdict) {
        self.f = f
        self.verdict = verdict
    }

    var rows: [(String, String, String)] {
        [secureBoot, lockdown, enforcement, key, enrolment, trust] + module + prediction + images
    }

    func ev(_ e: [Evidence]) -> String { e.map { "\($0.source): \($0.value)" }.joined(separator: "; ") }

    var secureBoot: (String, String, String) {
        let s = f.secureBoot
        var text = s.state.rawValue
        if s.setupMode == true { text += " (setup mode: no platform key, nothing is enforced)" }
        if s.shimValidation == false { text += " (shim's validation is off: mokutil --disable-validation)" }
        return ("secure boot", text, ev(s.evidence.filter { $0.source != "/sys/firmware/efi" }))
    }

    var lockdown: (String, String, String) {
        ("lockdown", f.lockdown.mode ?? "unknown", ev(f.lockdown.evidence))
    }

    var enforcement: (String, String, String) {
        let e = f.enforcement
        var parts: [String] = []
        if let s = e.sigEnforce { parts.append("sig_enforce=\(s ? "Y" : "N")") }
        if let c = e.configSigForce { parts.append("CONFIG_MODULE_SIG_FORCE=\(c ? "y" : "n")") }
        if e.lockdownUnderSecureBoot == true { parts.append("Secure Boot turns lockdown on") }
        if e.machineKeyring == true { parts.append("MOK keys trusted (.machine)") }
        return ("module signatures", parts.isEmpty ? "unknown" : parts.joined(separator: ", "), ev(e.evidence))
    }

    var key: (String, String, String) {
        let k = f.dkmsKey
        var text: String
        if k.signs == false {
            text = "DKMS builds unsigned: \(k.whyNot ?? "")"
        } else if let cert = k.certificate {
            text = cert
            if let subject = k.subject { text += " (\(subject), key id \(k.keyID ?? "none"))" }
            if k.madeAtFirstBuild { text += ", not made yet: dkms makes it at the first signed build" }
            text += "; \(k.origin)"
        } else {
            text = "unknown: \(k.whyNot ?? "")"
        }
        if !k.problems.isEmpty { text += "; UNFIT: \(k.problems.joined(separator: "; "))" }
        return ("dkms signing key", text, ev(k.evidence))
    }

    var enrolment: (String, String, String) {
        let e = f.enrolment
        var text = e.state.rawValue
        if let p = e.pendingKeys, !p.isEmpty {
            text += "; \(p.count) key\(p.count == 1 ? "" : "s") waiting for MokManager"
        }
        return ("key enrolment", text, ev(e.evidence))
    }

    var trust: (String, String, String) {
        let t = f.kernelTrust
        let text: String
        switch t.trustedForModules {
        case true?: text = "trusted (\(t.keyrings?.joined(separator: ", ") ?? ""))"
        case false?:
            text = "not trusted" + ((t.keyrings ?? []).isEmpty ? "" : " (in \(t.keyrings!.joined(separator: ", ")))")
        case nil: text = "unknown"
        }
        return ("kernel trusts key", text, ev(t.evidence))
    }

    var module: [(String, String, String)] {
        guard let m = f.module else { return [] }
        let text =
            m.signed
            ? "signed by \(m.signer ?? "(unnamed)"), key \(m.keyID ?? "?")"
                + (m.byDKMSKey == true ? " (DKMS's key)" : "")
            : "unsigned"
        return [("aufs.ko signature", text, ev(m.evidence))]
    }

    var prediction: [(String, String, String)] {
        guard let s = verdict.signing else { return [] }
        return [("module load", "\(s.outcome.rawValue): \(s.reason)", "")]
    }

    /// "will not boot under Secure Boot" only for an image with no signature at all: who signed a
    /// signed one, and whether shim trusts that, is shim's to decide.
    var images: [(String, String, String)] {
        f.kernelImages.enumerated().map { i, image in
            let text: String
            switch image.signed {
            case true?:
                text = "\(image.path): signed by \(image.signers.joined(separator: "; "))"
            case false?:
                text =
                    "\(image.path): no signature: will not boot under Secure Boot"
                    + (f.secureBoot.state == .enabled ? " (which is on here)" : "")
            case nil:
                text = "\(image.path): \(image.problem ?? "unreadable")"
            }
            return (i == 0 ? "kernel images" : "", text, "")
        }
    }
}
