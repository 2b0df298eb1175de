// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `aufsctl load`: modprobe aufs through libkmod, with messages a user can act on.
public struct ModuleLoader {
    public var root: HostRoot
    public var syscalls: any Syscalls
    /// Where DKMS's signing key is, asked only when a load is refused (AufsKit reads it; the mount
    /// helper goes without and points at `aufsctl check`).
    public var signingKey: (@Sendable (_ kernel: String) -> SigningKeyHint?)?

    public init(
        root: HostRoot, syscalls: any Syscalls = LinuxSyscalls(),
        signingKey: (@Sendable (_ kernel: String) -> SigningKeyHint?)? = nil
    ) {
        self.root = root
        self.syscalls = syscalls
        self.signingKey = signingKey
    }

    public struct Outcome: Sendable, Equatable {
        public var message: String
        public var changed: Bool
    }

    /// Validates `K=V` module parameters into libkmod's option string.
    public static func optionString(_ params: [String]) throws -> String? {
        guard !params.isEmpty else { return nil }
        for p in params {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex,
                p[..<eq].unicodeScalars.allSatisfy({ $0 == "_" || $0.isASCIILetter || ("0"..."9").contains($0) }),
                !p.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\0" })
            else {
                throw AufsError.usage(
                    "--kernel-param \"\(p)\": expected NAME=VALUE with a parameter name of letters, digits and _, and "
                        + "no blanks (e.g. brs=1)"
                )
            }
        }
        return params.joined(separator: " ")
    }

    public func load(parameters: [String] = [], module: String = "aufs") throws -> Outcome {
        nameThisThreadAufsctl()
        let options = try Self.optionString(parameters)
        if let fs = FileRead.string(root.resolve("/proc/filesystems")), ProcFilesystems.parse(fs).has(module) {
            return Outcome(
                message: "\(module) is already registered in /proc/filesystems (loaded or built in); nothing to do",
                changed: false)
        }
        let kver: String
        if root.isHost {
            kver = syscalls.uname().release
        } else if let k = FileRead.string(root.resolve("/proc/sys/kernel/osrelease"))?.trimmingBlanks {
            kver = k
        } else {
            throw AufsError.usage(
                "--root \(root.path): /proc/sys/kernel/osrelease is missing, so the running kernel is unknown")
        }
        let tree = "/lib/modules/\(kver)"
        guard FileRead.isDirectory(root.resolve(tree)) else {
            throw AufsError(
                "\(tree) does not exist: kernel \(kver) has no module tree, so there is no \(module) module to load; "
                    + "`aufsctl check` says what would make aufs available",
                exitCode: .blocked)
        }
        let index = try ModuleIndex(root: root, kernel: kver)
        let log = KernelLog()
        switch index.load(module, options: options) {
        case .inserted:
            var message = "loaded \(module) into \(kver)" + (options.map { " with \($0)" } ?? "")
            // Not enforced and not locked down: the kernel loads it anyway and says so.
            if let taint = log?.newLines().first(where: { $0.contains("module verification failed") }) {
                message +=
                    "; the kernel could not verify its signature and marked itself tainted (\(taint)): under "
                    + "module.sig_enforce=1 or lockdown it would refuse it"
            }
            return Outcome(message: message, changed: true)
        case .alreadyLoaded:
            return Outcome(message: "\(module) is already loaded; nothing to do", changed: false)
        case .builtin:
            return Outcome(message: "\(module) is built into \(kver); nothing to load", changed: false)
        case .blacklisted(let entries):
            throw LoadFailure.blacklisted(module: module, by: entries).error
        case .notFound:
            throw AufsError(
                "no \(module) module in \(tree); `aufsctl check` says how to install one (`aufsctl install`)",
                exitCode: .installable)
        case .failed(let e):
            let info = index.lookup(module)
            let attempt = LoadAttempt(
                module: module, path: info?.path, kernel: kver, errno: e, kernelLines: log?.newLines() ?? [],
                kernelLogReadable: log != nil, signatureID: info?.signatureID, signer: info?.signer,
                signatureKey: info?.signatureKey, policy: ModulePolicy.read(root: root), euid: syscalls.geteuid(),
                signingKey: signingKey?(kver))
            throw LoadFailure.diagnose(attempt).error
        }
    }
}
