// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// The mount option `x-aufsctl.fallback=none|overlay`: what the helper mounts when aufs is not
/// available, the way `aufsctl mount --fallback` chooses it. mount(8) keeps `x-*` options from its
/// helpers (libmount marks them "not for helpers"; util-linux 2.38 and 2.41 checked), so the helper
/// reads the option where the union was written: the fstab line for its mount point, else the
/// mount unit systemd runs for it; either only when it carries the same branch list as the mount
/// being made (so a mount typed by hand at the same place is not changed by fstab's line).
public enum HelperFallback {
    public static let option = "x-aufsctl.fallback"

    /// The value of an `x-aufsctl.fallback=` option; nil for any other option.
    public static func parse(_ opt: String) throws -> Fallback? {
        guard opt.hasPrefix(option + "=") else { return nil }
        let value = String(opt.dropFirst(option.count + 1))
        guard let f = Fallback(rawValue: value) else {
            throw HelperError(
                "mount.aufs: -o \(opt): \(option) takes none or overlay", exit: .mountFailure)
        }
        return f
    }

    /// Where the unit for a mount point may be, in systemd's order of precedence.
    static let unitDirectories = [
        "/etc/systemd/system", "/run/systemd/system", "/run/systemd/generator", "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ]

    /// The fallback written for the union at `target` with `branchList` (the value after `br=`,
    /// `br:` or `dirs=`), and where it was found; nil when no fstab line or unit for it says.
    public static func lookup(root: HostRoot, target: String, branchList: String) throws -> (Fallback, String)? {
        let targets: Set<String> = [Paths.normalize(target), Paths.resolved(target)]
        if let fstab = FileRead.string(root.resolve("/etc/fstab")) {
            for line in fstab.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 4, !fields[0].hasPrefix("#"), fields[2] == "aufs",
                    targets.contains(Paths.normalize(FstabLine.unescape(fields[1])))
                else { continue }
                if let f = try matching(FstabLine.unescape(fields[3]), branchList: branchList) {
                    return (f, "/etc/fstab")
                }
            }
        }
        let name = SystemdUnit.name(forPath: Paths.normalize(target))
        for dir in unitDirectories {
            guard let text = FileRead.string(root.resolve(dir + "/" + name)) else { continue }
            // The first unit file found is the one systemd runs (later directories are overridden).
            var options = ""
            for line in text.split(separator: "\n") where line.hasPrefix("Options=") {
                options = String(line.dropFirst("Options=".count)).replacing("%%", with: "%")
            }
            return try matching(options, branchList: branchList).map { ($0, dir + "/" + name) }
        }
        return nil
    }

    /// The fallback an option string sets, when its (last) branch list is `branchList`.
    static func matching(_ options: String, branchList: String) throws -> Fallback? {
        let opts = options.split(separator: ",").map(String.init)
        guard
            opts.last(where: { AufsOptions.branchListValue($0) != nil }).flatMap(AufsOptions.branchListValue)
                == branchList
        else { return nil }
        return try opts.compactMap(parse).last
    }
}
