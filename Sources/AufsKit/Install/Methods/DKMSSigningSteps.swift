// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// The dkms method on a Secure Boot host: before the build, the tool dkms signs with and DKMS's
/// signing pair (made as the installed dkms makes it, then checked fit); after it, the pair's
/// certificate staged for MokManager. Decided from the facts at plan time, as the other steps.
struct DKMSSigningSteps: Sendable {
    let facts: HostFacts
    let o: InstallOptions
    let kver: String

    var key: SigningFacts.DKMSKey { facts.signing.dkmsKey }
    var distro: SigningProbe.Distro { .init(id: facts.distro.id, idLike: facts.distro.idLike) }
    var ubuntu: Bool { distro.dkmsName.hasPrefix("ubuntu") }
    /// The pair's paths: what framework.conf says, else Ubuntu's shim-signed pair, else dkms's own.
    var keyPath: String? { key.key }
    var certificate: String? { key.certificate }

    /// Packages the Secure Boot steps run: mokutil, and what makes the pair.
    var packages: [String] { ubuntu ? ["mokutil", "shim-signed"] : ["mokutil", "openssl"] }

    /// Why the pair cannot be planned (framework.conf computes it), if so.
    var unknown: String? {
        if key.key == nil || key.certificate == nil { return key.whyNot ?? "DKMS's signing pair is unknown" }
        return nil
    }

    func signTool(root: HostRoot) -> SignTool {
        let conf = FrameworkConf.read(root: root, kernel: kver)
        let major = key.dkmsVersion.flatMap { Int($0.prefix { $0.isNumber }) }
        let tool = SigningProbe.signToolCandidates(kernel: kver, distro: distro, conf: conf, dkmsMajor: major)
        let series = kver.lastIndex(of: ".").map { String(kver[..<$0]) } ?? kver
        return SignTool(
            candidates: tool.candidates, unknownBecause: tool.unknownBecause ?? unknown,
            wayOut: ubuntu
                ? "install linux-headers-\(kver) (its scripts/sign-file) or kmodsign"
                : "install linux-kbuild-\(series) (linux-headers-\(kver) depends on it)",
            headers: "/lib/modules/\(kver)/build")
    }

    /// Before the build: the sign tool, the pair (made where missing) and its fitness.
    func keyStep(root: HostRoot) -> Step {
        var actions: [StepAction] = [.signing(.signTool(signTool(root: root)))]
        if unknown == nil, let k = keyPath, let c = certificate {
            let pkcs11 = k.hasPrefix("pkcs11:")
            // dkms 3.0.10 leaves the Ubuntu pair to update-secureboot-policy unless framework.conf names one.
            let fromShim = ubuntu && key.origin.hasPrefix("Ubuntu's shim-signed pair")
            if !pkcs11 {
                actions.append(
                    .signing(
                        .keyPair(
                            DKMSKeyPair(key: k, certificate: c, maker: fromShim ? .updateSecureBootPolicy : .dkms))))
            }
            actions.append(.signing(.fitKeys(FitKeys(key: pkcs11 ? nil : k, certificate: c))))
        }
        return Step(
            id: "signing-key",
            title:
                "Secure Boot: DKMS signs with \(certificate ?? "an unknown key") (made if missing, as dkms makes it)",
            actions: actions, uses: [])
    }

    /// After `dkms install`: the module it installed is signed by the pair's certificate.
    func signedStep() -> Step? {
        guard unknown == nil, let c = certificate else { return nil }
        return Step(
            id: "module-signed", title: "Secure Boot: check that the installed aufs.ko is signed by \(c)",
            actions: [.signing(.moduleSigned(ModuleSigned(kernel: kver, certificate: c)))], uses: [])
    }

    /// After `dkms install`: the certificate staged for MokManager (nothing when already trusted).
    func enrolStep() -> Step? {
        guard unknown == nil, let c = certificate else { return nil }
        return Step(
            id: "mok-import",
            title: "Secure Boot: stage \(c) for MokManager (mokutil --import"
                + (o.mokPasswordHash.map { " --hash-file \($0)" } ?? ", the password asked on this terminal") + ")",
            actions: [.signing(.mokImport(MokImport(certificate: c, passwordHashFile: o.mokPasswordHash)))], uses: [])
    }

    /// The key still has to be imported and no hash file was given: mokutil will ask.
    var needsTerminal: String? {
        guard o.mokPasswordHash == nil else { return nil }
        switch facts.signing.enrolment.state {
        case .enrolled, .inDB, .pending, .builtin: return nil
        default:
            if facts.signing.kernelTrust.trustedForModules == true { return nil }
            return "staging DKMS's key for MokManager asks for a one-time password (mokutil --import)"
        }
    }

    /// Whether the module can be loaded now: the kernel already trusts what DKMS signs with.
    var loadsNow: Bool {
        [.trusted, .loads].contains(SigningVerdict.predict(facts.signing).outcome)
    }

    var afterwards: [String] {
        loadsNow
            ? []
            : [
                "Secure Boot: after the reboot and MokManager's confirmation the kernel trusts DKMS's key; aufs then "
                    + "loads at boot (/etc/modules-load.d/aufs.conf), or now with `aufsctl load`"
            ]
    }
}

extension DKMSSigningSteps {
    /// `--mok-password-hash FILE`, where mokutil will read it (inside --root): a root-owned regular
    /// file others cannot write, holding one crypt(3) hash as `mokutil --generate-hash` prints it.
    func checkPasswordHash(root: HostRoot) throws {
        guard let path = o.mokPasswordHash else { return }
        let f = KeyFile.inspect(path, root: root, isPrivateKey: false)
        guard f.exists else {
            throw AufsError.usage(
                "--mok-password-hash \(path): no such file\(root.isHost ? "" : " in \(root.path)"); make it with "
                    + "`mokutil --generate-hash > \(path)`")
        }
        guard f.problems.isEmpty else {
            throw AufsError.usage("--mok-password-hash \(path): \(f.problems.joined(separator: "; "))")
        }
        let text = FileRead.string(root.resolve(path))?.trimmingBlanks ?? ""
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard text.hasPrefix("$"), fields.count >= 4, !text.contains(where: { $0.isWhitespace }) else {
            throw AufsError.usage(
                "--mok-password-hash \(path): not a password hash (expected one line like `$6$SALT$HASH`, as "
                    + "`mokutil --generate-hash` prints it)")
        }
    }
}
