// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// The kernel the next boot will start, and whether aufs will be there: aufs built by DKMS for
/// one kernel is silently missing after an upgrade unless the new kernel gets it too.
public struct NextBoot: Sendable, Codable, Equatable {
    /// nil: unknown (no `/boot/vmlinuz-*`, or a GRUB default aufsctl cannot resolve).
    public var release: String?
    /// aufs on that kernel: a module in its tree or `CONFIG_AUFS_FS=y`; nil when unknown.
    public var aufs: Bool?
    public var evidence: [Evidence]

    /// Installed kernels, newest first, the way grub-mkconfig orders them (version sort).
    public static func newestFirst(_ releases: [String]) -> [String] {
        releases.sorted { versionLess($1, $0) }
    }

    /// `sort -V` order: runs of digits compare as numbers, everything else byte-wise.
    static func versionLess(_ a: String, _ b: String) -> Bool {
        func runs(_ s: String) -> [(Bool, Substring)] {
            var out: [(Bool, Substring)] = []
            var i = s.startIndex
            while i < s.endIndex {
                let digit = s[i].isASCII && s[i].isNumber
                var j = i
                while j < s.endIndex, (s[j].isASCII && s[j].isNumber) == digit { j = s.index(after: j) }
                out.append((digit, s[i..<j]))
                i = j
            }
            return out
        }
        let x = runs(a), y = runs(b)
        for (p, q) in zip(x, y) where p.1 != q.1 {
            if p.0 && q.0, let m = Int(p.1), let n = Int(q.1), m != n { return m < n }
            return p.1 < q.1
        }
        return x.count < y.count
    }

    /// The installed release a GRUB entry name or path mentions (`Debian GNU/Linux, with Linux
    /// 6.1.0-57-cloud-amd64`, `/boot/vmlinuz-5.13.1-1.el7.x86_64`): the longest that occurs in it.
    static func release(in entry: String, among installed: [String]) -> String? {
        installed.filter { r in
            guard let range = entry.firstRange(of: r) else { return false }
            // not a prefix of a longer release (6.1.0-5 in 6.1.0-57-...)
            return range.upperBound == entry.endIndex
                || !(entry[range.upperBound].isNumber || entry[range.upperBound] == ".")
        }.max { $0.count < $1.count }
    }
}

extension HostProbe {
    func installedKernels() -> [String] {
        (FileRead.list(root.resolve("/boot")) ?? []).compactMap { name in
            name.hasPrefix("vmlinuz-") ? String(name.dropFirst("vmlinuz-".count)) : nil
        }
    }

    /// GRUB's default: `grubby --default-kernel` on RHEL hosts, else /etc/default/grub's
    /// GRUB_DEFAULT (0 or unset: the newest kernel; `saved`: grubenv's saved_entry; a title).
    func probeNextBoot(rhel: Bool) async -> NextBoot {
        let installed = installedKernels()
        guard !installed.isEmpty else {
            return NextBoot(release: nil, aufs: nil, evidence: [Evidence("/boot", "no vmlinuz-*")])
        }
        var ev: [Evidence] = []
        var release: String?
        if rhel, root.isHost, let grubby = runner.which("grubby"),
            let r = try? await runner.run([grubby, "--default-kernel"]), r.succeeded
        {
            let path = r.stdout.trimmingBlanks
            ev.append(Evidence("grubby --default-kernel", path))
            release = NextBoot.release(in: path, among: installed)
        } else {
            let def = FileRead.string(root.resolve("/etc/default/grub")).flatMap {
                ShellAssignments.find("GRUB_DEFAULT", in: $0)
            }
            let value = def.map { $0.value ?? "" } ?? "0"
            ev.append(Evidence("/etc/default/grub", def == nil ? "no GRUB_DEFAULT (0)" : "GRUB_DEFAULT=\(value)"))
            switch value {
            case "0":
                release = NextBoot.newestFirst(installed).first
                if let r = release { ev.append(Evidence("/boot", "newest of \(installed.count) kernels: \(r)")) }
            case "saved":
                let env = ["/boot/grub/grubenv", "/boot/grub2/grubenv"].first { FileRead.exists(root.resolve($0)) }
                let text = env.flatMap { FileRead.string(root.resolve($0)) } ?? ""
                let entry = text.split(separator: "\n").first { $0.hasPrefix("saved_entry=") }.map {
                    String($0.dropFirst("saved_entry=".count))
                }
                ev.append(
                    Evidence(
                        env ?? "/boot/grub/grubenv",
                        entry.map { "saved_entry=\($0)" } ?? "no saved_entry: GRUB starts the first (newest) entry"))
                release =
                    entry.map { NextBoot.release(in: $0, among: installed) } ?? NextBoot.newestFirst(installed).first
            default:
                release = NextBoot.release(in: value, among: installed)
            }
        }
        guard let release else {
            ev.append(Evidence("next boot", "not resolved to an installed kernel"))
            return NextBoot(release: nil, aufs: nil, evidence: ev)
        }
        var aufs: Bool?
        let config = KernelConfig.read(root.resolve("/boot/config-\(release)"), keys: ["CONFIG_AUFS_FS"])
        if config?["CONFIG_AUFS_FS"] == "y" {
            aufs = true
            ev.append(Evidence("/boot/config-\(release)", "CONFIG_AUFS_FS=y"))
        } else if let index = try? ModuleIndex(root: root, kernel: release) {
            let info = index.lookup("aufs")
            aufs = info != nil
            ev.append(
                Evidence(
                    "libkmod lookup aufs (\(release))",
                    info.map { $0.path ?? "builtin" } ?? "not in /lib/modules/\(release)"))
        } else {
            aufs = false
            ev.append(Evidence("/lib/modules/\(release)", "no module tree"))
        }
        return NextBoot(release: release, aufs: aufs, evidence: ev)
    }
}
