// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Where a kernel's configuration is read from, for check's facts and install's export check alike.
public enum KernelConfigSource {
    /// The options aufsctl decides on: module support, aufs itself, and the export conditions.
    static let keys: Set<String> = Set(["CONFIG_MODULES", "CONFIG_AUFS_FS"]).union(SymbolCheck.kernelOptions)

    /// `/boot/config-KVER`, else `/proc/config.gz` for the running kernel, else the headers' `.config`.
    public static func read(
        root: HostRoot, _ k: KernelRelease, running: Bool
    ) -> (config: KernelConfig, source: String)? {
        let boot = "/boot/config-\(k.string)"
        if let c = KernelConfig.read(root.resolve(boot), keys: keys) { return (c, boot) }
        if running, let c = KernelConfig.read(root.resolve("/proc/config.gz"), keys: keys, gzip: true) {
            return (c, "/proc/config.gz")
        }
        let headers = "/lib/modules/\(k.string)/build/.config"
        if let c = KernelConfig.read(root.resolve(headers), keys: keys) { return (c, headers) }
        return nil
    }
}
