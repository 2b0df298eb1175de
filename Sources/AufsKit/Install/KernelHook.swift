// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// aufsctl's own kernel hook (Templates/kernel-hook), in place of dkms's AUTOINSTALL: for a kernel
/// being installed it runs the export preflight (and, after `install --build`, the trial build)
/// and calls `dkms install` only when they pass; it logs why it skips a kernel and never fails the
/// package manager.
enum KernelHook {
    static let log = "/var/log/aufsctl/kernel-hook.log"
    /// Debian runs these with KVER when an image (postinst.d) or headers package (header_postinst.d)
    /// is installed; run-parts takes only names of letters, digits, `_` and `-`.
    static let debianPaths = ["/etc/kernel/postinst.d/aufsctl", "/etc/kernel/header_postinst.d/aufsctl"]
    /// kernel-install (systemd) runs /etc/kernel/install.d/*.install with `add KVER ...`.
    static let kernelInstallPath = "/etc/kernel/install.d/50-aufsctl.install"

    /// Where the hook goes in `root`: Debian's directories; kernel-install's where its hooks run
    /// and Debian's are not used (no /etc/kernel/postinst.d).
    static func paths(root: HostRoot) -> [String] {
        let kernelInstall =
            FileRead.isDirectory(root.resolve("/usr/lib/kernel/install.d"))
            && !FileRead.isDirectory(root.resolve("/etc/kernel/postinst.d"))
        return kernelInstall ? [kernelInstallPath] : debianPaths
    }

    /// The hook's text: the export list of `branch` (from the source's patch when `source` is a
    /// directory), unless `skipExports`; the trial build of /usr/src/aufs-V when `trial`.
    static func content(branch: String, source: String?, skipExports: Bool, trial: Bool) throws -> String {
        let exports =
            skipExports
            ? ["    : # export check: left out (install --skip-export-check)"]
            : DKMSMethod.exportShell(
                source: source, branch: branch, kernelWord: "\"$KVER\"", buildWord: "\"/lib/modules/$KVER/build\"",
                configWord: "\"/boot/config-$KVER\"",
                onMissing: "aufsctl_log \"skipped: the kernel lacks exports \(branch) needs:$missing\"; return 0",
                onNoList: "return 0"
            ).map { "    " + $0 }
        let build =
            trial
            ? TrialShell.lines(
                kernelWord: "\"$KVER\"", source: .tree(word: "\"/usr/src/aufs-$V\""),
                jobsWord: "\"$(nproc 2>/dev/null || echo 1)\"",
                onFail: "aufsctl_log \"skipped: $aufsctl_why\"; return 0"
            ).map { "    " + $0 }
            : ["    : # trial build: not asked for (install --build)"]
        let checks =
            [skipExports ? nil : "runs the export preflight", trial ? "compiles aufs in a scratch directory" : nil]
            .compactMap { $0 }
        return try Template.render(
            "kernel-hook",
            [
                "log": log, "exportCheck": exports.joined(separator: "\n"), "trialBuild": build.joined(separator: "\n"),
                "checks": checks.isEmpty ? "checks for headers" : checks.joined(separator: " and "),
            ])
    }
}
