// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// The dkms method's Secure Boot actions: the tool dkms signs with, DKMS's signing pair made the
/// way the installed dkms makes it, and the pair's certificate staged for MokManager.
public enum SigningAction: Sendable {
    case signTool(SignTool)
    case keyPair(DKMSKeyPair)
    case fitKeys(FitKeys)
    case mokImport(MokImport)
    case moduleSigned(ModuleSigned)

    var kind: any ActionKind {
        switch self {
        case .signTool(let a): return a
        case .keyPair(let a): return a
        case .fitKeys(let a): return a
        case .mokImport(let a): return a
        case .moduleSigned(let a): return a
        }
    }
}

/// dkms signs only when its sign tool is there (prepare_signing: "modules won't be signed"
/// otherwise): the first of `candidates` that exists must be executable. The candidates follow
/// dkms 3.0.10: framework.conf's sign_file; else Debian's linux-kbuild or Ubuntu's kmodsign and
/// headers copy, then the build tree's scripts/sign-file.
public struct SignTool: ActionKind {
    public var candidates: [String]
    /// Set when framework.conf computes sign_file by shell: nothing is run to learn it.
    public var unknownBecause: String?
    /// What installs the tool (the headers' kbuild package), for the way out.
    public var wayOut: String
    /// `/lib/modules/KVER/build`: the headers the packages step installs.
    public var headers: String

    /// The tool dkms would pick; `kmodsign` is looked up on PATH as dkms does (`command -v`).
    func chosen(_ ctx: InstallContext) -> String? {
        for c in candidates {
            if c == "kmodsign" {
                let found =
                    ctx.root.isHost
                    ? ctx.runner.which(c)
                    : ["/usr/bin/kmodsign", "/usr/sbin/kmodsign", "/bin/kmodsign"].first { ctx.fs.exists(ctx.path($0)) }
                if let found { return found }
            } else if ctx.fs.exists(ctx.path(c)) {
                return c
            }
        }
        return nil
    }

    /// Before the packages step brought the headers (a dry run on a fresh host) the tool may come
    /// with them: not done yet, and apply checks it strictly.
    func isDone(_ ctx: InstallContext) async throws -> Bool {
        if unknownBecause == nil, chosen(ctx) == nil, !ctx.fs.exists(ctx.path(headers)) { return false }
        try require(ctx)
        return true
    }

    func require(_ ctx: InstallContext) throws {
        if let why = unknownBecause {
            throw AufsError(
                "which tool dkms signs with is unknown: \(why); aufsctl reads framework.conf as text and never runs "
                    + "it", exitCode: .blocked, details: ["way out: set sign_file to a plain path in framework.conf"])
        }
        guard let tool = chosen(ctx),
            case .success(let st) = ctx.syscalls.fileStatus(ctx.path(tool), followSymlinks: true),
            st.isRegular, st.mode & 0o111 != 0
        else {
            throw AufsError(
                "dkms would build aufs unsigned, which Secure Boot refuses: no executable sign tool at "
                    + candidates.joined(separator: " or "), exitCode: .blocked, details: ["way out: \(wayOut)"])
        }
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        try require(ctx)
        return []
    }

    var shellDoneTest: String? { nil }

    var shellCommands: [String] {
        if let why = unknownBecause {
            return ["echo \(ShellScript.quote("which tool dkms signs with is unknown: \(why)")) >&2; exit 4"]
        }
        let tests = candidates.map {
            $0 == "kmodsign"
                ? "SIGNTOOL=$(command -v kmodsign)"
                : "{ [ -e \(ShellScript.rooted($0)) ] && SIGNTOOL=\(ShellScript.rooted($0)); }"
        }
        return [
            "SIGNTOOL=; " + tests.joined(separator: " || ") + " || :",
            "[ -n \"$SIGNTOOL\" ] && [ -f \"$SIGNTOOL\" ] && [ -x \"$SIGNTOOL\" ] || { echo "
                + ShellScript.quote(
                    "dkms would build aufs unsigned, which Secure Boot refuses: no executable sign tool at "
                        + candidates.joined(separator: " or ") + "; way out: " + wayOut) + " >&2; exit 4; }",
        ]
    }
}

/// DKMS's signing pair, made the way the installed dkms makes it when it is missing: dkms >= 3.1
/// has `dkms generate_mok`; 3.0.10 (bookworm) makes it in prepare_signing with openssl (the same
/// argv here); Ubuntu's dkms asks `update-secureboot-policy --new-key`, which this runs first with
/// SHIM_NOTRIGGER=y so that the build never prompts through debconf.
public struct DKMSKeyPair: ActionKind {
    public enum Maker: Sendable, Equatable {
        /// dkms's own: `dkms generate_mok` where the installed script has it, else its openssl line.
        case dkms
        /// Ubuntu's shim-signed pair.
        case updateSecureBootPolicy
    }

    public var key: String
    public var certificate: String
    public var maker: Maker

    static let dkmsScript = "/usr/sbin/dkms"
    static let kept =
        "DKMS's signing pair: dkms signs every module it builds with it (and makes it at its first signed build "
        + "anyway); remove it by hand once no DKMS module needs it and its certificate is deleted from MokList"

    var openssl: [String] {
        [
            "openssl", "req", "-new", "-x509", "-nodes", "-days", "36500", "-subj", "/CN=DKMS module signing key",
            "-newkey", "rsa:2048", "-keyout", key, "-outform", "DER", "-out", certificate,
        ]
    }
    var newKey: [String] { ["update-secureboot-policy", "--new-key"] }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        ctx.fs.exists(ctx.path(key)) && ctx.fs.exists(ctx.path(certificate))
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let undo: [UndoAction] = [.keep(what: "\(key) and \(certificate)", why: Self.kept)]
        try ctx.willChange(undo)
        switch maker {
        case .updateSecureBootPolicy:
            try await ctx.check(newKey, environment: ["SHIM_NOTRIGGER": "y"])
        case .dkms:
            if ctx.fs.string(ctx.path(Self.dkmsScript))?.contains("generate_mok") == true {
                try await ctx.check(["dkms", "generate_mok"])
            } else {
                try await ctx.check(openssl)
            }
        }
        guard try await isDone(ctx) else {
            throw AufsError(
                "\(maker == .dkms ? "dkms's key" : "update-secureboot-policy --new-key") made no "
                    + "\(key) and \(certificate)")
        }
        return undo
    }

    var shellDoneTest: String? {
        "[ -e \(ShellScript.rooted(key)) ] && [ -e \(ShellScript.rooted(certificate)) ]"
    }

    var shellCommands: [String] {
        let make: String
        switch maker {
        case .updateSecureBootPolicy: make = "SHIM_NOTRIGGER=y " + ShellScript.quote(newKey)
        case .dkms:
            make =
                "if grep -qs generate_mok \(ShellScript.rooted(Self.dkmsScript)); then dkms generate_mok; "
                + "else \(ShellScript.quote(openssl)) >/dev/null 2>&1; fi"
        }
        return [
            make,
            "\(shellDoneTest!) || { echo \(ShellScript.quote("made no \(key) and \(certificate)")) >&2; exit 1; }",
        ]
    }
}

/// The pair must be fit to sign with and to enroll, whoever made it: no symlink, root's, not
/// writable by others (the key not readable by them), in a directory others cannot swap it in.
public struct FitKeys: ActionKind {
    /// nil: a PKCS#11 key, which stays in its token.
    public var key: String?
    public var certificate: String

    var files: [(String, Bool)] { (key.map { [($0, true)] } ?? []) + [(certificate, false)] }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        try MokImport.refuseUnfit(files, ctx)
        return true
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] { [] }
    var shellDoneTest: String? { nil }
    var shellCommands: [String] { MokImport.refuseUnfitShell(files) }
}

/// Stages the certificate for MokManager: `mokutil --import CERT` with `--hash-file` (fleets), or
/// on this terminal, where mokutil asks for the one-time password. Done when mokutil says the key
/// is enrolled, in db, in the kernel or already pending; a pending key means "reboot and confirm
/// it in MokManager" (exit 5). `mokutil --test-key` is read by its text: it exits 0 when the key is
/// NOT enrolled.
public struct MokImport: ActionKind {
    public var certificate: String
    /// `--mok-password-hash FILE` (made by `mokutil --generate-hash`); nil: ask on the terminal.
    public var passwordHashFile: String?

    static let next = "reboot and confirm the key in MokManager (with the password given to mokutil --import)"

    func state(_ ctx: InstallContext) async throws -> Mokutil.KeyState {
        let r = try await ctx.run(["mokutil", "--test-key", certificate])
        return Mokutil.parseTestKey(r.stdout + r.stderr)
    }

    /// mokutil not there yet (a dry run before the packages step): not done.
    func isDone(_ ctx: InstallContext) async throws -> Bool {
        guard let state = try? await state(ctx) else { return false }
        switch state {
        case .enrolled, .inDB, .builtin:
            return true
        case .pending:
            ctx.mokEnrolment = try enrolment(ctx, staged: false)
            return true
        case .blocked:
            throw AufsError(
                "\(certificate) is blocked (dbx or MokListX): the kernel refuses what it signs", exitCode: .blocked,
                details: ["way out: a new signing pair (move \(certificate) and its key aside, then install again)"])
        case .notEnrolled, .unknown:
            return false
        }
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        try Self.refuseUnfit([(certificate, false)], ctx)
        let info = try Self.certificateInfo(certificate, ctx)
        let undo: [UndoAction] = [
            .revokeMokImport(certificate: certificate, keyID: info.subjectKeyID, serial: info.serialForModinfo)
        ]
        try ctx.willChange(undo)
        if let hash = passwordHashFile {
            try await ctx.check(["mokutil", "--import", certificate, "--hash-file", hash])
        } else {
            let status = try await ctx.runner.runOnTerminal(
                ctx.root.command(["mokutil", "--import", certificate]), environment: [:])
            guard status == 0 else { throw AufsError("mokutil --import \(certificate) exited \(status)") }
        }
        let now = try await state(ctx)
        guard now == .pending else {
            throw AufsError("mokutil --import \(certificate) ran, but mokutil --test-key says \(now.rawValue)")
        }
        ctx.mokEnrolment = try enrolment(ctx, staged: true)
        return undo
    }

    func enrolment(_ ctx: InstallContext, staged: Bool) throws -> MokEnrolment {
        let info = try? Self.certificateInfo(certificate, ctx)
        return MokEnrolment(
            certificate: certificate, subject: info?.subject.text, keyID: info?.subjectKeyID,
            state: staged ? .staged : .pending, next: Self.next)
    }

    /// The certificate's fields; mokutil takes DER only.
    static func certificateInfo(_ path: String, _ ctx: InstallContext) throws -> CertificateInfo {
        guard case .success(let bytes) = ctx.fs.read(ctx.path(path)) else { throw AufsError("cannot read \(path)") }
        if bytes.starts(with: Array("-----BEGIN".utf8)) {
            throw AufsError(
                "\(path) is PEM, and mokutil --import takes DER only", exitCode: .blocked,
                details: [
                    "way out: `openssl x509 -in \(path) -outform DER -out \(path).der`, point mok_certificate in "
                        + "framework.conf at it, and install again"
                ])
        }
        do { return try CertificateInfo.parse(bytes) } catch { throw AufsError("\(path): \(error)") }
    }

    /// Root signs with and enrolls only files no one else can swap: no symlink, root's, not
    /// writable by group or others (a private key not readable by them), in a directory others
    /// cannot write without the sticky bit.
    static func refuseUnfit(_ files: [(String, Bool)], _ ctx: InstallContext) throws {
        var problems: [String] = []
        for (path, isKey) in files {
            let f = KeyFile.inspect(path, root: ctx.root, isPrivateKey: isKey)
            problems += f.exists ? f.problems : f.problems + ["\(path) does not exist"]
        }
        guard problems.isEmpty else {
            throw AufsError(
                "refusing to sign with or enroll DKMS's signing pair: " + problems.joined(separator: "; "),
                exitCode: .blocked,
                details: [
                    "way out: make the files plain root-owned files (chown root:root, chmod 600 the key and "
                        + "644 the certificate) in a root-owned directory, or point framework.conf at ones that are"
                ])
        }
    }

    /// The same checks in sh (stat -c: owner, octal mode).
    static func refuseUnfitShell(_ files: [(String, Bool)]) -> [String] {
        files.map { path, isKey in
            let p = ShellScript.rooted(path)
            let why = ShellScript.quote("refusing to sign with or enroll \(path): ")
            let dir = ShellScript.rooted(Paths.dirname(path))
            return "if [ -L \(p) ] || [ ! -f \(p) ] || [ \"$(stat -c %u \(p))\" != 0 ] || "
                + "[ $(( 0$(stat -c %a \(p)) & \(isKey ? "066" : "022") )) -ne 0 ] || "
                + "[ $(( 0$(stat -L -c %a \(dir)) & 01002 )) -eq 2 ]; then echo \(why)\"a symlink, not a root-owned "
                + "regular file, or open to others\" >&2; exit 4; fi"
        }
    }

    var shellDoneTest: String? {
        "mokutil --test-key \(ShellScript.quote(certificate)) 2>&1 | grep -Eq "
            + "' is already (enrolled|in db|in the enrollment request|in the built-in trusted keyring)$'"
    }

    var shellCommands: [String] {
        let cert = ShellScript.quote(certificate)
        return Self.refuseUnfitShell([(certificate, false)]) + [
            "mokutil --import \(cert)" + (passwordHashFile.map { " --hash-file \(ShellScript.quote($0))" } ?? ""),
            "mokutil --test-key \(cert) 2>&1 | grep -q ' is already in the enrollment request$'",
        ]
    }

    /// At the end of the script: a pending key means a reboot and MokManager (exit 5, as the binary).
    var shellEpilogue: [String] {
        let cert = ShellScript.quote(certificate)
        return [
            "if mokutil --test-key \(cert) 2>&1 | grep -q ' is already in the enrollment request$'; then",
            "    echo \(ShellScript.quote("\(Self.next): \(certificate)"))",
            "    exit 5",
            "fi",
        ]
    }
}

/// After `dkms install`: the aufs.ko the module tree now has for the kernel (libkmod, as modinfo
/// finds it) carries a signature by DKMS's certificate (its serial, as modinfo's sig_key). dkms
/// builds unsigned without a word when its sign tool vanished, and Secure Boot refuses that module.
public struct ModuleSigned: ActionKind {
    public var kernel: String
    public var certificate: String

    /// Why the module is not signed by the certificate with `serial`, or nil when it is.
    static func problem(_ m: ModuleInfo, serial: String, certificate: String) -> String? {
        let path = m.path ?? "aufs"
        guard m.signatureID != nil, let key = m.signatureKey else {
            return "\(path) is unsigned: the kernel refuses it under Secure Boot"
        }
        if LoadFailure.normalizedSerial(key) == LoadFailure.normalizedSerial(serial) { return nil }
        return "\(path) is signed by \(m.signer ?? "an unnamed key") (serial \(key)), not by \(certificate) (serial "
            + "\(serial)), which is the key install stages for MokManager"
    }

    /// Not done before `dkms install` put a module there (a dry run); apply checks it strictly.
    func isDone(_ ctx: InstallContext) async throws -> Bool {
        guard let m = ctx.moduleInfo(ctx.root, kernel, "aufs"), m.path != nil else { return false }
        try verify(m, ctx)
        return true
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        guard let m = ctx.moduleInfo(ctx.root, kernel, "aufs"), m.path != nil else {
            throw AufsError("no aufs module in /lib/modules/\(kernel) after dkms install (libkmod, modules.dep)")
        }
        try verify(m, ctx)
        return []
    }

    func verify(_ m: ModuleInfo, _ ctx: InstallContext) throws {
        let serial = try MokImport.certificateInfo(certificate, ctx).serialForModinfo
        guard let why = Self.problem(m, serial: serial, certificate: certificate) else { return }
        let v = (try? DKMSMethod.source(ctx)?.version) ?? nil
        throw AufsError(
            why,
            details: [
                "way out: make the sign tool and the pair of the signing-key step usable, then "
                    + "`dkms install --force aufs/\(v ?? "VERSION") -k \(kernel)` and install again"
            ])
    }

    var shellDoneTest: String? { nil }

    /// modinfo's sig_key (libkmod) against openssl's serial of the certificate, both as bare hex.
    /// /sbin/modinfo by path: a busybox sh runs its own applet, which knows neither -b nor sig_key.
    var shellCommands: [String] {
        let bare = "tr -d ':' | tr 'a-f' 'A-F' | sed 's/^0*//'"
        let cert = ShellScript.rooted(certificate)
        let k = ShellScript.quote(kernel)
        return [
            "SIGKEY=$(/sbin/modinfo -b \"${ROOT:-/}\" -k \(k) -F sig_key aufs 2>/dev/null | \(bare)) || SIGKEY=",
            "CERTSERIAL=$(openssl x509 -inform DER -noout -serial -in \(cert) | sed 's/^serial=//' | \(bare))",
            "[ -n \"$SIGKEY\" ] && [ \"$SIGKEY\" = \"$CERTSERIAL\" ] || { echo "
                + ShellScript.quote(
                    "the aufs.ko dkms installed for \(kernel) is not signed by \(certificate): the kernel refuses it "
                        + "under Secure Boot; make the sign tool and the pair usable, then dkms install --force aufs/")
                + "\"$V\"" + ShellScript.quote(" -k \(kernel)") + " >&2; exit 1; }",
        ]
    }
}

/// `install --json`'s `mokEnrolment`: the key waiting for MokManager.
public struct MokEnrolment: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Staged by this run.
        case staged
        /// Staged before (an earlier run), still waiting.
        case pending
    }
    public var certificate: String
    public var subject: String?
    public var keyID: String?
    public var state: State
    public var next: String
}
