// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// `aufsctl persist --list --json` (aufsctl.persist/1): every union persist recorded, with what its
/// unit or fstab line says now (branches, xino, other options, the fallback), for tools that must
/// not read the state file, units or fstab themselves.
public struct PersistReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.persist/1"
    public var unions: [PersistedUnion]
}

public struct PersistedUnion: Sendable, Codable, Equatable {
    public var target: String
    /// `systemd-unit NAME` or `fstab`.
    public var via: String
    /// The unit's path, or /etc/fstab.
    public var file: String
    /// Read from the unit's Options= or the fstab line; nil when it is gone (`problem` says so).
    public var branches: [BranchEntry]?
    public var xino: String?
    /// The other mount options (`udba=notify`, `ro`), in order.
    public var options: [String]?
    /// `none` or `overlay`: the line's x-aufsctl.fallback.
    public var fallback: String?
    public var problem: String?

    /// From a persist record and the text of the file it names (nil when the file is missing).
    public init(target: String, via: String, file: String, text: String?) {
        self.target = target
        self.via = via
        self.file = file
        guard let text else {
            problem = "\(file) is gone"
            return
        }
        guard let options = PersistedUnion.options(in: text, via: via, target: target) else {
            problem = via == "fstab" ? "/etc/fstab has no aufs line for \(target)" : "\(file) has no Options="
            return
        }
        var rest: [String] = []
        var fallback = Fallback.none
        for o in options.split(separator: ",").map(String.init) where !o.isEmpty {
            if let list = AufsOptions.branchListValue(o) {
                let raw = (try? AufsOptions.parseBranchList(list)) ?? []
                branches = raw.enumerated().map {
                    BranchEntry(
                        path: $0.element.path, permission: $0.element.permission ?? ($0.offset == 0 ? "rw" : "ro"))
                }
            } else if o.hasPrefix("xino=") {
                xino = String(o.dropFirst("xino=".count))
            } else if let f = try? HelperFallback.parse(o) {
                fallback = f
            } else {
                rest.append(o)
            }
        }
        self.options = rest
        self.fallback = fallback.rawValue
        if branches == nil { problem = "\(file): the options for \(target) carry no branch list" }
    }

    /// The option string the unit (Options=, `%%` undone) or the fstab line for `target` holds.
    static func options(in text: String, via: String, target: String) -> String? {
        if via == "fstab" {
            for line in text.split(separator: "\n") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if f.count >= 4, !f[0].hasPrefix("#"), f[2] == "aufs", FstabLine.unescape(f[1]) == target {
                    return FstabLine.unescape(f[3])
                }
            }
            return nil
        }
        return text.split(separator: "\n").last { $0.hasPrefix("Options=") }
            .map { String($0.dropFirst("Options=".count)).replacing("%%", with: "%") }
    }
}

extension Persister {
    /// Every union persist recorded, as its unit or fstab line has it now.
    public func list() throws -> PersistReport {
        let state = try InstallState.load(root: root)
        let unions = (state.unions ?? []).filter { $0.kind == .persist }.compactMap { r -> PersistedUnion? in
            guard let target = r.target, let via = r.via else { return nil }
            let file =
                via.hasPrefix("systemd-unit ")
                ? Persister.unitDirectory + "/" + via.dropFirst("systemd-unit ".count) : "/etc/fstab"
            return PersistedUnion(target: target, via: via, file: file, text: FileRead.string(root.resolve(file)))
        }
        return PersistReport(unions: unions)
    }
}
