// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// What the kernel's module-loading policy is right now, read from /proc and /sys (each nil when
/// unreadable): the evidence a refused load is judged by when the kernel log says nothing.
public struct ModulePolicy: Sendable, Equatable {
    /// `/proc/cmdline`.
    public var commandLine: String?
    /// The selected mode of `/sys/kernel/security/lockdown`: `none`, `integrity`, `confidentiality`.
    public var lockdown: String?
    /// `/sys/module/module/parameters/sig_enforce` (`Y`: module.sig_enforce=1 or CONFIG_MODULE_SIG_FORCE).
    public var sigEnforce: Bool?
    /// `/proc/sys/kernel/modules_disabled`.
    public var modulesDisabled: Bool?

    public init(
        commandLine: String? = nil, lockdown: String? = nil, sigEnforce: Bool? = nil, modulesDisabled: Bool? = nil
    ) {
        self.commandLine = commandLine
        self.lockdown = lockdown
        self.sigEnforce = sigEnforce
        self.modulesDisabled = modulesDisabled
    }

    public static let lockdownPath = "/sys/kernel/security/lockdown"
    public static let sigEnforcePath = "/sys/module/module/parameters/sig_enforce"

    public static func read(root: HostRoot) -> ModulePolicy {
        let text = { (p: String) in FileRead.string(root.resolve(p))?.trimmingBlanks }
        return ModulePolicy(
            commandLine: text("/proc/cmdline"),
            lockdown: text(lockdownPath).flatMap(selectedLockdown),
            sigEnforce: text(sigEnforcePath).map { $0 == "Y" || $0 == "1" },
            modulesDisabled: text("/proc/sys/kernel/modules_disabled").map { $0 == "1" })
    }

    /// `none [integrity] confidentiality` -> `integrity` (the kernel brackets the active mode).
    public static func selectedLockdown(_ text: String) -> String? {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        where word.hasPrefix("[") && word.hasSuffix("]") {
            return String(word.dropFirst().dropLast())
        }
        return nil
    }

    /// The modules a `module_blacklist=a,b` kernel parameter names.
    public var commandLineBlacklist: [String] {
        guard let line = commandLine else { return [] }
        return line.split(separator: " ").filter { $0.hasPrefix("module_blacklist=") }.flatMap {
            $0.dropFirst("module_blacklist=".count).split(separator: ",").map(String.init)
        }
    }
}

/// Where DKMS keeps the key it signs modules with, as far as the caller knows it; used to make a
/// refused load's way out a command that can be run as is.
public struct SigningKeyHint: Sendable, Equatable {
    public var signFile: String?
    public var key: String?
    public var certificate: String?
    /// The certificate's serial number as libkmod prints a module's `sig_key` (`25:5E:...`).
    public var certificateSerial: String?

    public init(
        signFile: String? = nil, key: String? = nil, certificate: String? = nil, certificateSerial: String? = nil
    ) {
        self.signFile = signFile
        self.key = key
        self.certificate = certificate
        self.certificateSerial = certificateSerial
    }
}

/// One attempt to insert a module that the kernel refused: errno, the kernel's log lines written
/// during the attempt, what libkmod says about the file's signature, and the policy.
public struct LoadAttempt: Sendable, Equatable {
    public var module: String
    public var path: String?
    public var kernel: String
    public var errno: SysErrno
    public var kernelLines: [String]
    public var kernelLogReadable: Bool
    /// libkmod's `sig_id` (`PKCS#7`); nil when the file carries no signature.
    public var signatureID: String?
    public var signer: String?
    public var signatureKey: String?
    public var policy: ModulePolicy
    public var euid: UInt32
    public var signingKey: SigningKeyHint?

    public init(
        module: String, path: String?, kernel: String, errno: SysErrno, kernelLines: [String],
        kernelLogReadable: Bool = true, signatureID: String? = nil, signer: String? = nil,
        signatureKey: String? = nil, policy: ModulePolicy = ModulePolicy(), euid: UInt32 = 0,
        signingKey: SigningKeyHint? = nil
    ) {
        self.module = module
        self.path = path
        self.kernel = kernel
        self.errno = errno
        self.kernelLines = kernelLines
        self.kernelLogReadable = kernelLogReadable
        self.signatureID = signatureID
        self.signer = signer
        self.signatureKey = signatureKey
        self.policy = policy
        self.euid = euid
        self.signingKey = signingKey
    }
}

/// Why the kernel refused a module, told apart by the kernel's own log line first (several cases
/// share an errno: lockdown and module_blacklist= both give EPERM) and by errno and the policy
/// files when the log is unreadable; one sentence and one way out each.
public struct LoadFailure: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case unsigned
        case untrustedKey = "untrusted-key"
        case badSignature = "bad-signature"
        case lockdown
        case commandLineBlacklist = "module-blacklist"
        case modprobeBlacklist = "modprobe-blacklist"
        case modulesDisabled = "modules-disabled"
        case notPermitted = "not-permitted"
        case unknownSymbol = "unknown-symbol"
        case symbolVersion = "symbol-version"
        case otherKernel = "other-kernel"
        case notAModule = "not-a-module"
        case badParameter = "bad-parameter"
        case noModuleSupport = "no-module-support"
        case other

        /// The words the message names the case with.
        public var title: String {
            switch self {
            case .unsigned: return "unsigned module"
            case .untrustedKey: return "signed by a key the kernel does not trust"
            case .badSignature: return "signature does not verify"
            case .lockdown: return "lockdown"
            case .commandLineBlacklist: return "blacklisted on the kernel command line"
            case .modprobeBlacklist: return "blacklisted in modprobe.d"
            case .modulesDisabled: return "module loading disabled"
            case .notPermitted: return "not permitted"
            case .unknownSymbol: return "unknown symbol"
            case .symbolVersion: return "symbol version mismatch"
            case .otherKernel: return "built for another kernel"
            case .notAModule: return "not a module for this kernel"
            case .badParameter: return "bad module parameter"
            case .noModuleSupport: return "no module support"
            case .other: return "refused"
            }
        }
    }

    public var kind: Kind
    /// nil for a modprobe.d blacklist (libkmod refuses before asking the kernel).
    public var errno: SysErrno?
    public var sentence: String
    public var wayOut: String
    /// The kernel's lines and the policy files the judgement rests on.
    public var evidence: [String]

    public var message: String {
        "loading \(module) failed (\(errno.map { $0.name + ", " } ?? "")\(kind.title)): \(sentence)"
    }
    var module: String

    /// The error `load`, `mount` and the mount helper report.
    public var error: AufsError {
        AufsError(message, exitCode: .failure, details: ["way out: " + wayOut] + evidence)
    }

    /// A module that modprobe.d blacklists (libkmod's refusal; the kernel is never asked).
    public static func blacklisted(module: String, by entries: [String]) -> LoadFailure {
        let at = entries.isEmpty ? "a modprobe.d file" : entries.joined(separator: ", ")
        return LoadFailure(
            kind: .modprobeBlacklist, errno: nil,
            sentence: "\(at) says `blacklist \(module)`, and modprobe (libkmod) honours it",
            wayOut: "delete that `blacklist \(module)` line, then `aufsctl load`",
            evidence: entries.map { "modprobe.d: \($0)" }, module: module)
    }

    /// The kernel's messages for a refused load, in kernel/module/{main,signing,version}.c and
    /// security/lockdown/lockdown.c (6.1; "Request for unknown module key" is 3.x/4.x's).
    static func kind(ofLine l: String, module: String) -> (Kind, symbol: String?)? {
        if l.contains("Loading of unsigned module is rejected") { return (.unsigned, nil) }
        if l.contains("Loading of module with unavailable key is rejected") { return (.untrustedKey, nil) }
        if l.contains("Request for unknown module key") { return (.untrustedKey, nil) }
        if l.contains("Loading of module with unsupported crypto is rejected") { return (.badSignature, nil) }
        if l.hasPrefix("Lockdown: "), l.contains("unsigned module loading is restricted") { return (.lockdown, nil) }
        if l == "Module \(module) is blacklisted" { return (.commandLineBlacklist, nil) }
        let own = module + ": "
        guard l.hasPrefix(own) else { return nil }
        let rest = l.dropFirst(own.count)
        if rest.hasPrefix("disagrees about version of symbol ") {
            let sym = String(rest.dropFirst("disagrees about version of symbol ".count))
            return (sym == "module_layout" ? .otherKernel : .symbolVersion, sym)
        }
        if rest.hasPrefix("no symbol version for ") {
            return (.symbolVersion, String(rest.dropFirst("no symbol version for ".count)))
        }
        if rest.hasPrefix("Unknown symbol ") {
            let sym = rest.dropFirst("Unknown symbol ".count).split(separator: " ").first.map(String.init)
            return (.unknownSymbol, sym)
        }
        if rest.hasPrefix("version magic ") || rest.contains("section size must match the kernel's built struct module")
        {
            return (.otherKernel, nil)
        }
        if rest.contains("invalid for parameter") { return (.badParameter, nil) }
        return nil
    }

    /// The lines worth showing: the refusal's own and the module's.
    public static func relevant(_ lines: [String], module: String) -> [String] {
        lines.filter {
            kind(ofLine: $0, module: module) != nil || $0.hasPrefix(module + ": ") || $0.contains("Invalid ELF header")
                || $0.contains("invalid ELF") || $0.hasPrefix("Lockdown: ")
        }
    }

    public static func diagnose(_ a: LoadAttempt) -> LoadFailure {
        let lines = relevant(a.kernelLines, module: a.module)
        let judged: [(kind: Kind, symbol: String?)] = lines.compactMap { kind(ofLine: $0, module: a.module) }
        // "Unknown symbol X (err -22)" follows a CRC complaint: the CRC line says what happened.
        let found = judged.first(where: { $0.kind != .unknownSymbol })?.kind ?? judged.first?.kind ?? fallbackKind(a)
        let symbols = unique(judged.filter { $0.kind == found }.compactMap { $0.symbol })
        var evidence = lines.map { "kernel: " + $0 }
        if lines.isEmpty {
            evidence.append(
                a.kernelLogReadable
                    ? "kernel: (no log line for this load)" : "kernel: (/dev/kmsg not readable: judged without the log)"
            )
        }
        evidence += policyEvidence(a, found)
        let (sentence, way) = explain(found, a, symbols: symbols, lines: lines)
        return LoadFailure(
            kind: found, errno: a.errno, sentence: sentence, wayOut: way, evidence: evidence, module: a.module)
    }

    static func unique(_ s: [String]) -> [String] {
        var seen = Set<String>()
        return s.filter { seen.insert($0).inserted }
    }

    /// Without a log line: errno, then the policy files and the file's own signature.
    static func fallbackKind(_ a: LoadAttempt) -> Kind {
        switch a.errno.code {
        case EKEYREJECTED: return a.signatureID == nil ? .unsigned : .untrustedKey
        case ENOKEY: return .untrustedKey
        case EBADMSG, ENOPKG: return .badSignature
        case EPERM:
            if a.policy.modulesDisabled == true { return .modulesDisabled }
            if a.euid != 0 { return .notPermitted }
            if a.policy.commandLineBlacklist.contains(a.module) { return .commandLineBlacklist }
            if let l = a.policy.lockdown, l != "none" { return .lockdown }
            return .notPermitted
        case ENOENT: return .unknownSymbol
        case ENOEXEC: return .otherKernel
        case ENOSYS: return .noModuleSupport
        default: return .other
        }
    }

    static func policyEvidence(_ a: LoadAttempt, _ kind: Kind) -> [String] {
        var ev: [String] = []
        let p = a.policy
        switch kind {
        case .unsigned, .untrustedKey, .badSignature, .lockdown:
            if let s = p.sigEnforce { ev.append("\(ModulePolicy.sigEnforcePath): \(s ? "Y" : "N")") }
            if let l = p.lockdown { ev.append("\(ModulePolicy.lockdownPath): \(l)") }
            ev.append(
                "libkmod: "
                    + (a.signatureID == nil
                        ? "\(a.path ?? a.module) carries no signature"
                        : "signed (\(a.signatureID!)) by \(a.signer.map { "'\($0)'" } ?? "an unnamed signer")"
                            + (a.signatureKey.map { ", key \($0)" } ?? "")))
        case .commandLineBlacklist:
            if let c = p.commandLine { ev.append("/proc/cmdline: \(c)") }
        case .modulesDisabled:
            ev.append("/proc/sys/kernel/modules_disabled: 1")
        case .notPermitted where a.euid != 0:
            ev.append("geteuid(): \(a.euid)")
        default:
            break
        }
        return ev
    }

    static func isDKMSKey(_ a: LoadAttempt) -> Bool {
        guard let serial = a.signingKey?.certificateSerial, let key = a.signatureKey else { return false }
        return normalizedSerial(serial) == normalizedSerial(key)
    }

    /// `00:A1:02` and `a1:02` name one serial: case and leading zero bytes differ between printers.
    public static func normalizedSerial(_ s: String) -> String {
        let bytes = s.lowercased().split(separator: ":")
        return bytes.drop(while: { $0 == "00" }).joined(separator: ":")
    }

    static func explain(_ kind: Kind, _ a: LoadAttempt, symbols: [String], lines: [String]) -> (String, String) {
        let file = a.path ?? a.module
        let rebuild =
            "rebuild it against \(a.kernel)'s headers: `dkms install --force \(a.module)/VERSION -k \(a.kernel)` "
            + "(`dkms status \(a.module)` names VERSION)"
        if let signing = signingExplanation(kind, a, file: file) { return signing }
        switch kind {
        case .commandLineBlacklist:
            let list = a.policy.commandLine?.split(separator: " ").first { $0.hasPrefix("module_blacklist=") }
            return (
                "the kernel command line blacklists \(a.module) (\(list.map(String.init) ?? "module_blacklist=")), so "
                    + "the kernel refuses it whatever its signature",
                "drop \(a.module) from module_blacklist= in GRUB_CMDLINE_LINUX (/etc/default/grub), run `update-grub` "
                    + "and reboot"
            )
        case .modprobeBlacklist:
            return ("modprobe.d blacklists \(a.module)", "delete the `blacklist \(a.module)` line, then `aufsctl load`")
        case .modulesDisabled:
            return (
                "kernel.modules_disabled=1: this boot loads no more modules, and the setting cannot be turned back",
                "reboot without it (`grep -rn modules_disabled /etc/sysctl.conf /etc/sysctl.d` finds who sets it)"
            )
        case .notPermitted:
            if a.euid != 0 { return ("loading a module needs root (CAP_SYS_MODULE)", "`sudo aufsctl load`") }
            return (
                "the kernel refused with EPERM and logged no reason (a security module or seccomp filter may forbid "
                    + "loading modules)", "`dmesg | tail` shows what the kernel said"
            )
        case .unknownSymbol:
            let s = symbols.isEmpty ? "symbols" : symbols.joined(separator: ", ")
            return (
                "\(a.module) needs \(s), which kernel \(a.kernel) does not export: it was built for a kernel carrying "
                    + "aufs's patches",
                "`aufsctl check` runs the export preflight and says which kernel would do"
            )
        case .symbolVersion:
            let s = symbols.isEmpty ? "a symbol" : symbols.joined(separator: ", ")
            return (
                "\(file) was built against other headers than the running \(a.kernel): the version (CRC) of \(s) "
                    + "differs", rebuild
            )
        case .otherKernel:
            let why =
                lines.contains { $0.contains("version magic") }
                ? " (its version magic differs)"
                : lines.contains { $0.contains("module_layout") } ? " (its module_layout differs)" : ""
            return ("\(file) was built for another kernel than \(a.kernel)\(why)", rebuild)
        case .notAModule:
            return ("\(file) is not a loadable module for this kernel", rebuild)
        case .badParameter:
            return ("the kernel refused a module parameter", "`modinfo -p \(a.module)` lists the parameters it takes")
        case .noModuleSupport:
            return (
                "kernel \(a.kernel) has no loadable module support (CONFIG_MODULES is not set)",
                "boot a kernel with aufs built in (`aufsctl check`)"
            )
        case .other, .unsigned, .untrustedKey, .badSignature, .lockdown:
            return ("the kernel refused it: \(a.errno.text)", "`dmesg | tail` shows what the kernel said")
        }
    }

    /// The cases a signature decides: what is wrong with it and how to get one the kernel trusts.
    static func signingExplanation(_ kind: Kind, _ a: LoadAttempt, file: String) -> (String, String)? {
        switch kind {
        case .unsigned:
            return (
                "\(file) carries no signature and this kernel loads only signed modules (module.sig_enforce=1, "
                    + "CONFIG_MODULE_SIG_FORCE, or Secure Boot: Debian's kernels enforce signatures under it)",
                signWay(a, file)
            )
        case .untrustedKey:
            return (
                "\(file) is signed by \(signerText(a)), which this kernel does not trust, and it loads only modules "
                    + "with a trusted signature", enrolWay(a)
            )
        case .badSignature:
            return (
                "\(file)'s signature cannot be checked (unsupported hash or key type, or a damaged module)",
                signWay(a, file)
            )
        case .lockdown:
            let why =
                a.signatureID == nil
                ? "\(file) carries no signature" : "\(file) is signed by \(signerText(a)), which it does not trust"
            return (
                "the kernel is locked down (\(a.policy.lockdown.map { "lockdown=\($0)" } ?? "lockdown"), which Secure "
                    + "Boot or the lockdown= parameter turns on) and refuses modules without a trusted signature; "
                    + why,
                a.signatureID == nil ? signWay(a, file) : enrolWay(a)
            )
        default:
            return nil
        }
    }

    static func signerText(_ a: LoadAttempt) -> String {
        var s = a.signer.map { "'\($0)'" } ?? "an unnamed signer"
        var about = a.signatureKey.map { ["key \($0)"] } ?? []
        if isDKMSKey(a), let c = a.signingKey?.certificate { about.append("DKMS's key \(c)") }
        if !about.isEmpty { s += " (\(about.joined(separator: ", ")))" }
        return s
    }

    static func signWay(_ a: LoadAttempt, _ file: String) -> String {
        guard let h = a.signingKey, let sign = h.signFile, let key = h.key, let cert = h.certificate else {
            return "sign it with a key this kernel trusts (`aufsctl check` names the key DKMS signs with)"
        }
        return
            "sign it with DKMS's key, `\(sign) sha256 \(key) \(cert) \(file)`, and have \(cert) enrolled "
            + "(`mokutil --import \(cert)`, reboot, confirm in MokManager)"
    }

    static func enrolWay(_ a: LoadAttempt) -> String {
        if isDKMSKey(a), let cert = a.signingKey?.certificate {
            return "`mokutil --import \(cert)`, then reboot and confirm the key in MokManager"
        }
        return
            "`mokutil --import CERT` with the certificate of that signer, then reboot and confirm the key in "
            + "MokManager (`aufsctl check` names the key DKMS signs with)"
    }
}
