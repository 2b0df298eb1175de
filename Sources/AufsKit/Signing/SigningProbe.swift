// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Reads the signing facts: files through the root, mokutil through the runner (the host only),
/// the running kernel's keyrings through `KernelKeyrings`. Reading only.
public struct SigningProbe: Sendable {
    public var root: HostRoot
    public var runner: any CommandRunner
    public var keyrings: any KernelKeyrings

    public init(root: HostRoot, runner: any CommandRunner = SubprocessRunner(), keyrings: (any KernelKeyrings)? = nil) {
        self.root = root
        self.runner = runner
        self.keyrings = keyrings ?? LinuxKeyrings(root: root)
    }

    public struct Distro: Sendable, Equatable {
        public var id: String?
        public var idLike: [String]
        public init(id: String?, idLike: [String]) {
            self.id = id
            self.idLike = idLike
        }
        /// dkms's distro_version(): `ubuntu` for Ubuntu, else ID_LIKE as one word list, else ID.
        public var dkmsName: String {
            if id == "ubuntu" { return "ubuntu" }
            return idLike.isEmpty ? (id ?? "") : idLike.joined(separator: " ")
        }
    }

    public static let efiGlobal = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
    public static let shimGUID = "605dab50-e046-4300-abb6-3dd810dd8b23"
    static let configKeys: Set<String> = [
        "CONFIG_MODULE_SIG", "CONFIG_MODULE_SIG_FORCE", "CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT",
        "CONFIG_INTEGRITY_MACHINE_KEYRING", "CONFIG_SECURITY_LOCKDOWN_LSM",
    ]

    /// `kernel`: the kernel DKMS would build for; `running`: it is the one running here (so /proc,
    /// /sys and the keyrings describe it); `module`: libkmod's view of an existing aufs.ko.
    public func probe(kernel: String, running: Bool, distro: Distro, module: ModuleInfo?) async -> SigningFacts {
        let config = kernelConfig(kernel, running: running)
        var dkms = dkmsKey(kernel: kernel, distro: distro)
        let cert = certificate(&dkms)
        let enrolment = await self.enrolment(dkms)
        let trust = kernelTrust(cert, running: running, kernel: kernel)
        return SigningFacts(
            secureBoot: await secureBoot(),
            lockdown: lockdown(running: running),
            enforcement: enforcement(config: config, running: running),
            dkmsKey: dkms, enrolment: enrolment, kernelTrust: trust,
            module: module.flatMap { moduleSignature($0, dkms: dkms, trust: trust, running: running) })
    }

    func kernelConfig(_ kernel: String, running: Bool) -> (KernelConfig, String)? {
        var candidates = [("/boot/config-\(kernel)", false)]
        if running { candidates.append(("/proc/config.gz", true)) }
        candidates.append(("/lib/modules/\(kernel)/build/.config", false))
        for (p, gz) in candidates {
            if let c = KernelConfig.read(root.resolve(p), keys: Self.configKeys, gzip: gz) { return (c, p) }
        }
        return nil
    }

    // MARK: Secure Boot

    func efiVariable(_ name: String, _ guid: String) -> (path: String, value: UInt8?)? {
        let path = "/sys/firmware/efi/efivars/\(name)-\(guid)"
        guard case .success(let b) = FileRead.bytes(root.resolve(path)) else { return nil }
        return (path, b.count >= 5 ? b[4] : nil)
    }

    func secureBoot() async -> SigningFacts.SecureBoot {
        let mode = BootMode.probe(root: root)
        var out = SigningFacts.SecureBoot(
            uefi: mode.uefi, state: mode.secureBoot, setupMode: nil, shimValidation: nil, evidence: mode.evidence)
        guard mode.uefi else { return out }
        if let v = efiVariable("SetupMode", Self.efiGlobal), let b = v.value {
            out.setupMode = b == 1
            out.evidence.append(Evidence(v.path, "value byte \(b)"))
            if b == 1 && out.state == .enabled { out.state = .disabled }
        }
        if let v = efiVariable("MokSBStateRT", Self.shimGUID) {
            out.shimValidation = v.value != 1
            out.evidence.append(Evidence(v.path, "present: shim's validation is off (mokutil --disable-validation)"))
        } else if out.state == .enabled {
            out.shimValidation = true
        }
        if root.isHost, let mok = runner.which("mokutil"), let r = try? await runner.run([mok, "--sb-state"]) {
            let text = (r.stdout + r.stderr).trimmingBlanks
            out.evidence.append(Evidence("mokutil --sb-state", text))
            let s = Mokutil.parseSBState(text)
            if out.state == .unknown { out.state = s.secureBoot }
            if s.shimValidationDisabled { out.shimValidation = false }
        }
        return out
    }

    // MARK: lockdown and enforcement

    func lockdown(running: Bool) -> SigningFacts.Lockdown {
        let p = ModulePolicy.lockdownPath
        guard running else {
            return SigningFacts.Lockdown(mode: nil, evidence: [Evidence(p, "describes the running kernel only")])
        }
        var ev: [Evidence] = []
        var mode: String?
        switch FileRead.text(root.resolve(p)) {
        case .ok(let t):
            mode = ModulePolicy.selectedLockdown(t)
            ev.append(Evidence(p, t.trimmingBlanks))
        case .missing:
            let mounted = !(FileRead.list(root.resolve("/sys/kernel/security")) ?? []).isEmpty
            ev.append(
                Evidence(p, mounted ? "absent: the kernel has no lockdown LSM" : "absent (securityfs not mounted)"))
            if mounted { mode = "none" }
        case .denied: ev.append(Evidence(p, "permission denied"))
        case .failed(let why): ev.append(Evidence(p, why))
        }
        if let cmd = FileRead.string(root.resolve("/proc/cmdline"))?.trimmingBlanks,
            let word = cmd.split(separator: " ").first(where: { $0.hasPrefix("lockdown=") })
        {
            ev.append(Evidence("/proc/cmdline", String(word)))
        }
        return SigningFacts.Lockdown(mode: mode, evidence: ev)
    }

    func enforcement(config: (KernelConfig, String)?, running: Bool) -> SigningFacts.Enforcement {
        var out = SigningFacts.Enforcement(
            sigEnforce: nil, configModuleSig: nil, configSigForce: nil, lockdownUnderSecureBoot: nil,
            machineKeyring: nil, evidence: [])
        if running {
            let p = ModulePolicy.sigEnforcePath
            if let t = FileRead.string(root.resolve(p))?.trimmingBlanks {
                out.sigEnforce = t == "Y" || t == "1"
                out.evidence.append(Evidence(p, t))
            } else {
                out.evidence.append(Evidence(p, "absent (no CONFIG_MODULE_SIG, or /sys not mounted)"))
            }
            if let cmd = FileRead.string(root.resolve("/proc/cmdline")),
                let w = cmd.split(separator: " ").first(where: { $0.hasPrefix("module.sig_enforce=") })
            {
                out.evidence.append(Evidence("/proc/cmdline", String(w.trimmingBlanks)))
            }
        }
        if let (c, source) = config {
            func flag(_ k: String) -> Bool { c[k] == "y" }
            out.configModuleSig = flag("CONFIG_MODULE_SIG")
            out.configSigForce = flag("CONFIG_MODULE_SIG_FORCE")
            out.lockdownUnderSecureBoot = flag("CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT")
            out.machineKeyring = flag("CONFIG_INTEGRITY_MACHINE_KEYRING")
            let set = Self.configKeys.sorted().map { "\($0)=\(c[$0] ?? "n")" }
            out.evidence.append(Evidence(source, set.joined(separator: " ")))
            if out.sigEnforce == nil, out.configSigForce == true { out.sigEnforce = true }
        }
        return out
    }

    // MARK: DKMS's key

    /// `dkms-3.0.10` in the dkms script (its --version text).
    func dkmsVersion() -> (path: String, version: String?)? {
        for p in ["/usr/sbin/dkms", "/usr/bin/dkms", "/sbin/dkms"] {
            guard let text = FileRead.string(root.resolve(p)) else { continue }
            guard
                let r = text.split(separator: "\"dkms-", maxSplits: 1, omittingEmptySubsequences: false).dropFirst()
                    .first
            else { return (p, nil) }
            let v = r.prefix { $0.isNumber || $0 == "." }
            return (p, v.isEmpty ? nil : String(v))
        }
        return nil
    }

    func isExecutableFile(_ p: String) -> Bool {
        var st = stat()
        return stat(root.resolve(p), &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_mode & 0o111 != 0
    }

    /// dkms 3.0.10's prepare_signing(), without running it.
    func dkmsKey(kernel: String, distro: Distro) -> SigningFacts.DKMSKey {
        let conf = FrameworkConf.read(root: root, kernel: kernel)
        var out = SigningFacts.DKMSKey(
            dkmsVersion: nil, signs: nil, whyNot: nil, signFile: nil, key: nil, certificate: nil,
            origin: "", madeAtFirstBuild: false, keyFile: nil, certificateFile: nil, subject: nil, keyID: nil,
            serial: nil, kernelDescription: nil, notAfter: nil, problems: conf.problems, evidence: [])
        if let d = dkmsVersion() {
            out.dkmsVersion = d.version
            out.evidence.append(Evidence(d.path, d.version.map { "dkms \($0)" } ?? "version not found in the script"))
        } else {
            out.evidence.append(Evidence("/usr/sbin/dkms", "absent: dkms is not installed"))
        }
        out.evidence.append(
            Evidence(
                FrameworkConf.mainFile,
                conf.files.isEmpty
                    ? "no framework.conf files" : "read (never sourced): " + conf.files.joined(separator: ", ")))
        for c in conf.commands {
            out.problems.append("\(c): dkms would run this as root when it sources the file")
        }
        for (name, s) in conf.settings.sorted(by: { $0.key < $1.key }) {
            out.evidence.append(
                Evidence(s.source, s.value.map { "\(name)=\($0)" } ?? "\(name): unknown, \(s.unknownBecause ?? "")"))
        }
        let ubuntu = distro.dkmsName.hasPrefix("ubuntu")
        let major = out.dkmsVersion.flatMap { Int($0.prefix { $0.isNumber }) }
        if let major, major < 3 {
            return dkms2Key(out, conf: conf, ubuntu: ubuntu)
        }
        // sign_file
        let tool = Self.signToolCandidates(kernel: kernel, distro: distro, conf: conf, dkmsMajor: major)
        if let why = tool.unknownBecause {
            out.whyNot = why
        } else {
            let existing = tool.candidates.first {
                $0 == "kmodsign" ? kmodsign() != nil : FileRead.exists(root.resolve($0))
            }
            out.signFile = existing == "kmodsign" ? kmodsign() : existing ?? tool.candidates.last
        }
        if let sign = out.signFile {
            let ok = isExecutableFile(sign)
            out.evidence.append(Evidence(sign, ok ? "present" : "absent or not executable"))
            if !ok {
                out.signs = false
                out.whyNot = "\(sign) is not there, so dkms builds unsigned modules (\"modules won't be signed\")"
            }
        }
        // key and certificate
        var key = conf.settings["mok_signing_key"]
        var cert = conf.settings["mok_certificate"]
        if key == nil && ubuntu {
            let shim = "/var/lib/shim-signed/mok"
            out.origin = "Ubuntu's shim-signed pair (dkms on \(distro.dkmsName))"
            key = FrameworkConf.Setting(value: shim + "/MOK.priv", source: out.origin, line: "", unknownBecause: nil)
            cert = FrameworkConf.Setting(value: shim + "/MOK.der", source: out.origin, line: "", unknownBecause: nil)
        }
        out.key = key == nil ? "/var/lib/dkms/mok.key" : key!.value
        out.certificate = cert == nil ? "/var/lib/dkms/mok.pub" : cert!.value
        if out.origin.isEmpty {
            let from = [key, cert].compactMap { $0?.source }
            out.origin =
                from.isEmpty ? "dkms's default (/var/lib/dkms)" : "framework.conf (\(from.joined(separator: ", ")))"
        }
        for (what, s) in [("mok_signing_key", key), ("mok_certificate", cert)] {
            if let s, s.value == nil {
                out.signs = nil
                out.whyNot = "\(what) is computed by the shell at \(s.source): unknown (\(s.unknownBecause ?? ""))"
            }
        }
        inspectFiles(&out, ubuntu: ubuntu)
        if out.signs == nil && out.whyNot == nil { out.signs = true }
        return out
    }

    /// The tools dkms 3.0.10's prepare_signing tries, in order (the first that exists is used, and
    /// must be executable): framework.conf's sign_file; else Debian's linux-kbuild copy, or Ubuntu's
    /// kmodsign (`kmodsign`: looked up on PATH) and its headers' copy; then the build tree's.
    public static func signToolCandidates(
        kernel: String, distro: Distro, conf: FrameworkConf, dkmsMajor: Int?
    ) -> (candidates: [String], unknownBecause: String?) {
        if let major = dkmsMajor, major < 3 {
            guard let tool = conf.settings["sign_tool"] else { return ([], nil) }
            return tool.value.map { ([$0], nil) } ?? ([], "sign_tool is computed by the shell (\(tool.source))")
        }
        if let s = conf.settings["sign_file"] {
            return s.value.map { ([$0], nil) } ?? ([], "sign_file is computed by the shell (\(s.source))")
        }
        var out: [String] = []
        if distro.dkmsName.hasPrefix("debian") {
            let series = kernel.lastIndex(of: ".").map { String(kernel[..<$0]) } ?? kernel
            out.append("/usr/lib/linux-kbuild-\(series)/scripts/sign-file")
        } else if distro.dkmsName.hasPrefix("ubuntu") {
            out += ["kmodsign", "/usr/src/linux-headers-\(kernel)/scripts/sign-file"]
        }
        return (out + ["/lib/modules/\(kernel)/build/scripts/sign-file"], nil)
    }

    func kmodsign() -> String? {
        if root.isHost { return runner.which("kmodsign") }
        return ["/usr/bin/kmodsign", "/usr/sbin/kmodsign", "/bin/kmodsign"].first { FileRead.exists(root.resolve($0)) }
    }

    /// dkms 2.x signs only through framework.conf's sign_tool (Ubuntu's sign_helper.sh runs
    /// kmodsign with the shim-signed pair).
    func dkms2Key(_ base: SigningFacts.DKMSKey, conf: FrameworkConf, ubuntu: Bool) -> SigningFacts.DKMSKey {
        var out = base
        guard let tool = conf.settings["sign_tool"] else {
            out.signs = false
            out.whyNot =
                "dkms \(out.dkmsVersion ?? "2.x") signs only through framework.conf's sign_tool, which is not set"
            out.origin = "none (dkms \(out.dkmsVersion ?? "2.x"))"
            return out
        }
        out.signFile = tool.value
        out.origin = "sign_tool (\(tool.source))"
        if ubuntu {
            out.key = "/var/lib/shim-signed/mok/MOK.priv"
            out.certificate = "/var/lib/shim-signed/mok/MOK.der"
            inspectFiles(&out, ubuntu: true)
        } else {
            out.whyNot =
                "sign_tool \(tool.value ?? "(computed)") chooses its own key; aufsctl does not run it to find out"
        }
        return out
    }

    func inspectFiles(_ out: inout SigningFacts.DKMSKey, ubuntu: Bool) {
        guard let key = out.key, let cert = out.certificate else { return }
        if key.hasPrefix("pkcs11:") {
            out.evidence.append(Evidence("mok_signing_key", "a PKCS#11 URI: the key stays in its token"))
        } else {
            let k = KeyFile.inspect(key, root: root, isPrivateKey: true)
            out.keyFile = k
            out.problems += k.problems
            out.evidence.append(
                Evidence(key, k.exists ? "present, mode \(k.mode ?? "?"), uid \(k.uid ?? 0)" : "absent"))
        }
        let c = KeyFile.inspect(cert, root: root, isPrivateKey: false)
        out.certificateFile = c
        out.problems += c.problems
        out.evidence.append(Evidence(cert, c.exists ? "present, mode \(c.mode ?? "?"), uid \(c.uid ?? 0)" : "absent"))
        if (out.keyFile?.exists == false && !key.hasPrefix("pkcs11:")) || !c.exists {
            out.madeAtFirstBuild = true
            out.evidence.append(
                Evidence(
                    "dkms",
                    ubuntu
                        ? "the pair is absent: dkms runs `update-secureboot-policy --new-key` at the first signed build"
                        : "the pair is absent: dkms makes it (openssl req, CN=DKMS module signing key) at the first "
                            + "signed build"))
        }
    }

    /// The certificate's fields, when it is there and readable.
    func certificate(_ out: inout SigningFacts.DKMSKey) -> CertificateInfo? {
        guard let path = out.certificate, out.certificateFile?.exists == true else { return nil }
        switch FileRead.bytes(root.resolve(path), limit: 1 << 20) {
        case .success(let bytes):
            do {
                let c = try CertificateInfo.parse(bytes)
                out.subject = c.subject.text
                out.keyID = c.subjectKeyID
                out.serial = c.serialForModinfo
                out.kernelDescription = c.kernelDescription
                out.notAfter = c.notAfter
                out.evidence.append(
                    Evidence(
                        path,
                        "subject \(c.subject.text), key id \(c.subjectKeyID ?? "none"), serial \(c.serialForModinfo)"))
                return c
            } catch {
                out.problems.append("\(path): \(error)")
                return nil
            }
        case .failure(let e):
            out.evidence.append(Evidence(path, e.description))
            return nil
        }
    }

    // MARK: enrolment and the kernel's trust

    func enrolment(_ dkms: SigningFacts.DKMSKey) async -> SigningFacts.Enrolment {
        var out = SigningFacts.Enrolment(state: .unknown, pendingKeys: nil, evidence: [])
        guard root.isHost else {
            out.evidence.append(Evidence("mokutil", "runs only for the host root"))
            return out
        }
        guard FileRead.isDirectory("/sys/firmware/efi") else {
            out.evidence.append(Evidence("/sys/firmware/efi", "absent: no UEFI, no MOK"))
            return out
        }
        guard let mok = runner.which("mokutil") else {
            out.evidence.append(Evidence("PATH", "no mokutil (package mokutil)"))
            return out
        }
        if let cert = dkms.certificate, dkms.certificateFile?.exists == true,
            let r = try? await runner.run([mok, "--test-key", cert])
        {
            let text = (r.stdout + r.stderr).trimmingBlanks
            out.state = Mokutil.parseTestKey(text)
            out.evidence.append(Evidence("mokutil --test-key \(cert)", "exit \(r.status): \(text)"))
        }
        if let r = try? await runner.run([mok, "--list-new"]) {
            let text = (r.stdout + r.stderr).trimmingBlanks
            out.pendingKeys = Mokutil.parseList(text)
            let summary =
                text.contains("is empty") || out.pendingKeys!.isEmpty
                ? text.split(separator: "\n").first.map(String.init) ?? "(nothing)"
                : out.pendingKeys!.map { $0.subject ?? "?" }.joined(separator: "; ")
            out.evidence.append(Evidence("mokutil --list-new", summary))
            if out.state == .unknown, let id = dkms.keyID, out.pendingKeys!.contains(where: { $0.subjectKeyID == id }) {
                out.state = .pending
            }
        }
        return out
    }

    func kernelTrust(_ cert: CertificateInfo?, running: Bool, kernel: String) -> SigningFacts.KernelTrust {
        guard running else {
            return SigningFacts.KernelTrust(
                keyrings: nil, trustedForModules: nil,
                evidence: [Evidence("/proc/keys", "describes the running kernel only")])
        }
        guard let cert else {
            return SigningFacts.KernelTrust(
                keyrings: nil, trustedForModules: nil, evidence: [Evidence("/proc/keys", "no certificate to look for")])
        }
        switch KeyringLookup.find(description: cert.kernelDescription, keyID: cert.subjectKeyID, in: keyrings) {
        case .found(let t):
            let debian = KernelRelease(kernel)?.flavor == .debian
            return SigningFacts.KernelTrust(
                keyrings: t.keyrings,
                trustedForModules: t.trustedForModules(platformVerifiesModules: debian ? true : nil),
                evidence: [
                    Evidence(
                        "/proc/keys + keyctl",
                        t.entry.map {
                            "\($0) in \(t.keyrings.isEmpty ? "no trusted keyring" : t.keyrings.joined(separator: ", "))"
                        }
                            ?? "no key \"\(cert.kernelDescription)\"")
                ])
        case .unknown(let why):
            return SigningFacts.KernelTrust(
                keyrings: nil, trustedForModules: nil, evidence: [Evidence("/proc/keys", why)])
        }
    }

    func moduleSignature(
        _ m: ModuleInfo, dkms: SigningFacts.DKMSKey, trust: SigningFacts.KernelTrust, running: Bool
    ) -> SigningFacts.ModuleSignature? {
        guard let path = m.path else { return nil }
        var out = SigningFacts.ModuleSignature(
            path: path, signed: m.signatureID != nil, signer: m.signer, keyID: m.signatureKey,
            hashAlgorithm: m.signatureHash, byDKMSKey: nil, signerKeysInKernel: nil, evidence: [])
        guard out.signed else {
            out.evidence.append(Evidence("libkmod \(path)", "no signature"))
            return out
        }
        out.evidence.append(
            Evidence(
                "libkmod \(path)",
                "\(m.signatureID ?? "") signer \(m.signer ?? "(unnamed)"), key \(m.signatureKey ?? "?"), "
                    + (m.signatureHash ?? "")))
        if let serial = dkms.serial, let key = m.signatureKey {
            out.byDKMSKey = LoadFailure.normalizedSerial(serial) == LoadFailure.normalizedSerial(key)
        }
        if out.byDKMSKey == true {
            out.signerKeysInKernel = trust.keyrings.map { $0.isEmpty ? [] : [dkms.kernelDescription ?? ""] }
        } else if running, let signer = m.signer {
            out.signerKeysInKernel = KeyringLookup.keys(named: signer, in: keyrings)
        }
        return out
    }
}

extension SigningProbe {
    /// DKMS's pair for `kernel`, from files only (no commands): what a refused load's way out names.
    public static func keyHint(root: HostRoot, kernel: String) -> SigningKeyHint {
        let os = ["/etc/os-release", "/usr/lib/os-release"].lazy.compactMap { FileRead.string(root.resolve($0)) }.first
            .map(OSRelease.parse)
        let probe = SigningProbe(root: root)
        var key = probe.dkmsKey(kernel: kernel, distro: Distro(id: os?.id, idLike: os?.idLike ?? []))
        _ = probe.certificate(&key)
        return SigningKeyHint(
            signFile: key.signFile, key: key.key, certificate: key.certificate, certificateSerial: key.serial)
    }
}
