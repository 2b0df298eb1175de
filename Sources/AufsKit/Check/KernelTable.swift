// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// One installed kernel as `check` lists them, like `dkms status` but stable for scripts: whether
/// it has headers, the branch that would be built, whether DKMS built aufs for it and installed it,
/// who signed that module, and whether the next boot starts it.
public struct KernelRow: Sendable, Codable, Equatable {
    public var kernel: String
    /// `/lib/modules/KVER/build` is there (DKMS and `--build` need it).
    public var headers: Bool
    /// The aufs-standalone branch check would build (nil: none fits).
    public var branch: String?
    /// DKMS built aufs for it (`/var/lib/dkms/aufs/V/KVER/ARCH/module/aufs.ko*`).
    public var built: Bool
    /// aufs is in its module tree (libkmod), or built into it (`CONFIG_AUFS_FS=y`).
    public var installed: Bool
    /// Who signed that module (nil: unsigned, or no module).
    public var signer: String?
    public var nextBoot: Bool
    public var running: Bool

    /// No usable aufs on this kernel once it boots.
    public var lacksAufs: Bool { !installed }
}

extension HostProbe {
    /// Every installed kernel: a `/boot/vmlinuz-*` or a `/lib/modules/*` tree, newest first.
    func kernelRows(running: String?, nextBoot: String?) -> [KernelRow] {
        let trees = (FileRead.list(root.resolve("/lib/modules")) ?? []).filter {
            FileRead.isDirectory(root.resolve("/lib/modules/" + $0))
        }
        let all = NextBoot.newestFirst(Array(Set(installedKernels() + trees)))
        return all.compactMap { name in
            guard let k = KernelRelease(name) else { return nil }
            let build = "/lib/modules/\(name)/build"
            let headers = FileRead.isDirectory(root.resolve(build))
            let sub = headers ? kernelSublevel(k, running: false, version: "") : nil
            let info = (try? ModuleIndex(root: root, kernel: name))?.lookup("aufs")
            let builtIn =
                KernelConfig.read(root.resolve("/boot/config-\(name)"), keys: ["CONFIG_AUFS_FS"])?["CONFIG_AUFS_FS"]
                == "y"
            return KernelRow(
                kernel: name, headers: headers,
                branch: AufsBranch.choose(for: k, sublevel: sub?.value, sublevelSource: sub?.source).branch?.name,
                built: dkmsBuilt(name), installed: info != nil || builtIn, signer: info?.signer,
                nextBoot: name == nextBoot, running: name == running)
        }
    }

    /// A module DKMS built for `kernel`: dkms keeps it under its tree until `dkms remove`.
    func dkmsBuilt(_ kernel: String) -> Bool {
        let top = "/var/lib/dkms/aufs"
        for v in FileRead.list(root.resolve(top)) ?? [] {
            for arch in FileRead.list(root.resolve("\(top)/\(v)/\(kernel)")) ?? [] {
                let dir = "\(top)/\(v)/\(kernel)/\(arch)/module"
                if (FileRead.list(root.resolve(dir)) ?? []).contains(where: { $0.hasPrefix("aufs.ko") }) { return true }
            }
        }
        return false
    }
}

extension CheckReport {
    /// The table under the facts: one line per installed kernel.
    func kernelTable(style: TextStyle) -> String {
        guard !facts.kernels.isEmpty else { return "" }
        let head = ["kernel", "headers", "branch", "built", "installed", "signed", "next boot"]
        let rows = facts.kernels.map { r in
            [
                r.kernel + (r.running ? " (running)" : ""), r.headers ? "yes" : "no", r.branch ?? "-",
                r.built ? "yes" : "no", r.installed ? "yes" : "no", r.signer ?? (r.installed ? "no" : "-"),
                r.nextBoot ? (r.lacksAufs ? "yes, NO aufs" : "yes") : "",
            ]
        }
        let widths = head.indices.map { i in ([head[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $0.element.padding(widths[$0.offset]) }.joined(separator: "  ")
                .trimmingBlanks + "\n"
        }
        return style.bold(line(head)) + rows.map(line).joined()
    }
}
