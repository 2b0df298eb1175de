// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// The export preflight: the exports an aufs branch needs (from the source's aufsN-standalone.patch
/// when the source is here, else the committed list) against the kernel's Module.symvers.
public struct ExportCheck: Sendable {
    public var kernel: KernelRelease
    /// The kernel runs in the root (its /proc/config.gz describes it).
    public var running: Bool
    public var branch: String
    /// `/lib/modules/KVER/build`.
    public var build: String
    /// `--source DIR` (its patch and config.mk are read when the plan is rendered as sh).
    public var sourceDirectory: String?
    /// What check decides from the facts, for a kernel whose headers (Module.symvers) are not
    /// installed yet: the install goes on unless it is blocked.
    public var withoutSymvers: Verdict

    /// Throws (exit 4) when exports are missing or nothing can be decided.
    func check(_ ctx: InstallContext) throws {
        let symversPath = build + "/Module.symvers"
        guard let text = ctx.fs.string(ctx.path(symversPath)) else {
            // Before the headers are installed: decide from what is known of the distro.
            let v = withoutSymvers
            if v.state == .blocked {
                throw AufsError(v.reason, exitCode: .blocked, details: v.waysOut.map { "way out: " + $0 })
            }
            return
        }
        _ = try DKMSMethod.checkExports(
            ctx, k: kernel, running: running, branch: branch, symvers: text, symversPath: symversPath)
    }

    var shell: [String] {
        DKMSMethod.exportShell(source: sourceDirectory, k: kernel, branch: branch, build: build)
    }
}
