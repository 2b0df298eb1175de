// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `aufsctl persist`: a union that comes back at boot, through the mount helper: a systemd
/// `.mount` unit (`Type=aufs`, enabled for local-fs.target) or, without systemd, an fstab line.
public struct PersistSpec: Sendable, Equatable, Codable {
    public var target: String
    /// Top first (canonical paths).
    public var branches: [BranchSpec]
    /// The xino file when the user chose one; the default (a per-union name under /run) is left
    /// to the helper at boot, when /run/aufsctl does not exist yet.
    public var xino: String?
    /// Other aufs options (`udba=reval`, `noxino`, ...) and VFS flags such as `ro`.
    public var options: [String]

    public init(target: String, branches: [BranchSpec], xino: String? = nil, options: [String] = []) {
        self.target = target
        self.branches = branches
        self.xino = xino
        self.options = options
    }

    /// Refuses what would break out of a unit file, an fstab field or the emitted script: control
    /// characters anywhere, a trailing backslash (systemd's line continuation), a relative xino,
    /// and an option with `,` inside a value. Everything persist writes passes through here.
    public func validated() throws -> PersistSpec {
        try validated(forUnit: false)
    }

    /// `validated()`, and for a systemd unit (`forUnit`) no path with a leading or trailing blank:
    /// systemd strips them from Where= and What=, so the unit would not match its own name.
    public func validated(forUnit: Bool) throws -> PersistSpec {
        if forUnit {
            for (what, v) in [("mount point", target)] + branchPaths.map({ ("branch", $0) })
            where v.first == " " || v.last == " " || v.first == "\t" || v.last == "\t" {
                throw AufsError.usage(
                    "persist: the \(what) \"\(v)\" starts or ends with a blank, which systemd strips from a unit's "
                        + "paths (the unit would not match its name): rename it, or use --via fstab")
            }
        }
        let fields =
            [("mount point", target)] + branches.map { ("branch", $0.description) }
            + (xino.map { [("xino=", $0)] } ?? [])
            + options.map { ("option", $0) }
        for (what, v) in fields {
            if v.isEmpty { throw AufsError.usage("persist: an empty \(what)") }
            if v.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                throw AufsError.usage(
                    "persist: the \(what) \(v.debugDescription) contains a control character (newline, tab, ...); "
                        + "a unit file or fstab line cannot carry it")
            }
            if v.hasSuffix("\\") {
                throw AufsError.usage(
                    "persist: the \(what) \(v) ends with a backslash, which systemd reads as a line continuation")
            }
        }
        if let x = xino, !x.hasPrefix("/") {
            throw AufsError.usage(
                "persist: xino=\(x) is relative; at boot it would resolve against /: give an absolute path")
        }
        if let bad = options.first(where: { $0.contains(",") }) {
            throw AufsError.usage("persist: the option \(bad) contains ','; options are separated by ','")
        }
        return self
    }

    public var branchPaths: [String] { branches.map(\.path) }

    /// The mount options as the helper receives them.
    public var optionString: String {
        (["br=" + branches.map(\.description).joined(separator: ":")] + (xino.map { ["xino=" + $0] } ?? []) + options)
            .joined(separator: ",")
    }

    /// Paths that must be mounted before the union: every branch, the xino file's directory.
    public var requiredPaths: [String] {
        var out = branchPaths
        if let xino { out.append(Paths.dirname(xino)) }
        return out
    }
}

public enum SystemdUnit {
    /// `systemd-escape --path --suffix=mount PATH`.
    public static func name(forPath p: String) -> String {
        let path = Paths.normalize(p)
        if path == "/" { return "-.mount" }
        var out = ""
        let body = Array(path.dropFirst().utf8)
        for (i, b) in body.enumerated() {
            let c = Unicode.Scalar(b)
            if b == UInt8(ascii: "/") {
                out.append("-")
            } else if (i == 0 && b == UInt8(ascii: ".")) || !isPlain(b) {
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out + ".mount"
    }

    private static func isPlain(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
            || b == UInt8(ascii: ":") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
    }

    /// A value for a unit file: `%` doubled (units expand specifiers).
    public static func escapeSpecifiers(_ s: String) -> String { s.replacing("%", with: "%%") }

    /// A path in a space-separated list: quoted when it holds a space or a quote.
    static func listItem(_ p: String) -> String {
        let e = escapeSpecifiers(p)
        guard e.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "\\" }) else { return e }
        return "\"" + e.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }

    public static func text(_ spec: PersistSpec) -> String {
        """
        # Written by aufsctl persist; `aufsctl persist --remove \(spec.target)` or `aufsctl uninstall --all` removes it.
        [Unit]
        Description=aufs union on \(escapeSpecifiers(spec.target))
        Documentation=man:mount(8)
        After=systemd-modules-load.service
        RequiresMountsFor=\(spec.requiredPaths.map(listItem).joined(separator: " "))

        [Mount]
        What=none
        Where=\(escapeSpecifiers(spec.target))
        Type=aufs
        Options=\(escapeSpecifiers(spec.optionString))

        [Install]
        WantedBy=local-fs.target

        """
    }
}

public enum FstabLine {
    /// fstab's octal escapes for a field (space, tab, newline, backslash).
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case " ": out += "\\040"
            case "\t": out += "\\011"
            case "\n": out += "\\012"
            case "\\": out += "\\134"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public static func unescape(_ s: Substring) -> String {
        let u = Array(s.utf8)
        var bytes: [UInt8] = []
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\"), i + 3 < u.count,
                let v = UInt8(String(decoding: u[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(v)
                i += 4
            } else {
                bytes.append(u[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func line(_ spec: PersistSpec) -> String {
        "none \(escape(spec.target)) aufs \(escape(spec.optionString)) 0 0"
    }

    /// The comment aufsctl writes above its own line: what tells its lines from an administrator's.
    public static func marker(_ target: String) -> String {
        "# aufsctl persist \(escape(Paths.normalize(target))): `aufsctl persist --remove` removes the next line"
    }

    /// The fields of an fstab line that mounts something, or nil for a comment or a short line.
    static func fields(_ l: String) -> [Substring]? {
        let f = l.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return f.count >= 3 && !f[0].hasPrefix("#") ? f : nil
    }

    /// fstab with the union's line after its marker: aufsctl's own line for the target (after the
    /// marker; `adoptUnmarked`: an unmarked aufs line a schema-1 record says aufsctl wrote) is
    /// replaced; else placed after the last line that mounts a directory the union needs (a
    /// branch's, the xino's or the mount point's own filesystem), so `mount -a` mounts those first.
    /// Another line for the mount point is refused (usage error), fstab untouched.
    public static func insert(_ spec: PersistSpec, into fstab: String, adoptUnmarked: Bool = false) throws -> String {
        var lines = fstab.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let marker = marker(spec.target)
        let new = line(spec)
        let needed = spec.requiredPaths + [Paths.dirname(spec.target)]
        var after = -1
        for (i, l) in lines.enumerated() {
            guard let f = fields(l) else { continue }
            let mp = Paths.normalize(unescape(f[1]))
            if mp == Paths.normalize(spec.target) {
                guard f[2] == "aufs" else {
                    throw AufsError.usage("/etc/fstab line \(i + 1) already mounts \(f[2]) on \(mp); remove it first")
                }
                let ours = i > 0 && lines[i - 1] == marker
                guard ours || adoptUnmarked else {
                    throw AufsError.usage(
                        "/etc/fstab line \(i + 1) is an aufs line for \(mp) that aufsctl did not write (no aufsctl "
                            + "persist comment above it); persist leaves it alone: remove that line to persist with "
                            + "aufsctl, or keep it and do not persist")
                }
                lines[i] = new
                if !ours { lines.insert(marker, at: i) }
                return lines.joined(separator: "\n") + "\n"
            }
            if needed.contains(where: { $0 == mp || mp == "/" || $0.hasPrefix(mp + "/") }) { after = i }
        }
        lines.insert(contentsOf: [marker, new], at: after + 1 == 0 ? lines.count : after + 1)
        return lines.joined(separator: "\n") + "\n"
    }

    /// fstab without the union's line aufsctl wrote (the one after its marker, and the marker);
    /// with `unmarked`, for a schema-1 record, else the aufs line for the target. nil: nothing to remove.
    public static func remove(target: String, from fstab: String, unmarked: Bool = false) -> String? {
        var lines = fstab.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let marker = marker(target)
        func isTargetLine(_ l: String) -> Bool {
            guard let f = fields(l) else { return false }
            return f[2] == "aufs" && Paths.normalize(unescape(f[1])) == Paths.normalize(target)
        }
        if let i = lines.indices.first(where: { $0 > 0 && lines[$0 - 1] == marker && isTargetLine(lines[$0]) }) {
            lines.removeSubrange((i - 1)...i)
            return lines.joined(separator: "\n")
        }
        guard unmarked, let i = lines.firstIndex(where: isTargetLine) else { return nil }
        lines.remove(at: i)
        return lines.joined(separator: "\n")
    }
}
