// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// A rule the host must meet before (or, `installedKernelCarriesAufs`, after) a change: the
/// Swift check throws the reason (exit 4, blocked), the sh prints it and exits 4.
public struct Preflight: ActionKind {
    public enum Rule: Sendable {
        /// The machine the kernel runs on (`have`: what the facts say; sh: uname -m).
        case machine(String, have: String?, why: String)
        /// A program the method needs, at this path in the root (sh: command -v NAME).
        case program(path: String, why: String)
        /// Loadable module support (CONFIG_MODULES) in the kernel to build for (`absent`: the facts
        /// say the running kernel has none).
        case moduleSupport(kernel: String, absent: Bool)
        /// The exports an aufs branch needs, checked against the kernel's Module.symvers.
        case exports(ExportCheck)
        /// `--source DIR` is an aufs-standalone checkout with a valid AUFS_VERSION.
        case aufsSource(dir: String)
        /// The installed kernel-ml-aufs has /boot/vmlinuz-KVER and builds aufs in.
        case installedKernelCarriesAufs
        /// Secure Boot: the installed kernel-ml-aufs image carries an Authenticode signature, or it
        /// is not made the GRUB default (`allowUnsigned`: said, and made the default anyway).
        case installedKernelSigned(allowUnsigned: Bool)
    }

    public var rule: Rule

    public init(_ rule: Rule) { self.rule = rule }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        switch rule {
        case .machine(let m, let have, let why):
            if let have, have != m {
                throw AufsError("\(why); this machine is \(have)", exitCode: .blocked)
            }
        case .program(let path, let why):
            guard ctx.fs.exists(ctx.path(path)) else { throw AufsError("no \(path): \(why)", exitCode: .blocked) }
        case .moduleSupport(let k, let absent):
            if absent {
                throw AufsError(
                    "kernel \(k) has no loadable module support (CONFIG_MODULES is not set); DKMS cannot help",
                    exitCode: .blocked)
            }
        case .exports(let check):
            try check.check(ctx)
        case .aufsSource:
            _ = try DKMSMethod.source(ctx)
        case .installedKernelCarriesAufs:
            try KernelMLAufsMethod.verifyKernel(ctx, try await KernelMLAufsMethod.requireKernel(ctx))
        case .installedKernelSigned(let allow):
            try KernelMLAufsMethod.verifySigned(ctx, try await KernelMLAufsMethod.requireKernel(ctx), allow: allow)
        }
        return true
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] { [] }

    var shellDoneTest: String? { nil }

    var shellCommands: [String] {
        switch rule {
        case .machine(let m, _, let why):
            return ["[ \"$(uname -m)\" = \(ShellScript.quote(m)) ] || { echo \(ShellScript.quote(why)) >&2; exit 4; }"]
        case .program(let path, let why):
            let name = String(path.split(separator: "/").last ?? "")
            return [
                "command -v \(ShellScript.quote(name)) >/dev/null 2>&1 || { echo "
                    + "\(ShellScript.quote("no \(name): " + why)) "
                    + ">&2; exit 4; }"
            ]
        case .moduleSupport:
            return [": # module support: checked by the build"]
        case .exports(let check):
            return check.shell
        case .aufsSource(let dir):
            return ["test -f \(ShellScript.quote(dir + "/include/uapi/linux/aufs_type.h"))"]
        case .installedKernelCarriesAufs:
            return [
                KernelMLAufsMethod.shellKVER,
                "[ -f \"$ROOT/boot/vmlinuz-$KVER\" ] || { echo \"kernel-ml-aufs $KVER is installed but "
                    + "/boot/vmlinuz-$KVER "
                    + "is missing\" >&2; exit 1; }",
                "grep -Eq '^CONFIG_AUFS_FS=[ym]' \"$ROOT/boot/config-$KVER\" || { echo \"/boot/config-$KVER has no "
                    + "CONFIG_AUFS_FS=y\" >&2; exit 1; }",
            ]
        case .installedKernelSigned(let allow):
            return KernelMLAufsMethod.signedShell(allow: allow)
        }
    }
}
