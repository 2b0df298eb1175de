// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// A kernel call as the mount report gives it: the syscall and its arguments as data (the `calls`
/// of aufsctl.mount/2); `description` is how a person reads it, in strace's form.
public struct SyscallRecord: Sendable, Equatable, Codable, CustomStringConvertible {
    public var syscall: String
    public var source: String?
    public var target: String?
    public var fstype: String?
    /// mount(2)'s MS_* flags by name.
    public var flags: [String]?
    public var data: String?
    /// fsconfig(2): the command (`FSCONFIG_SET_STRING`, `FSCONFIG_CMD_CREATE`), key and value.
    public var command: String?
    public var key: String?
    public var value: String?

    init(syscall: String) { self.syscall = syscall }

    public init(_ call: MountCall) {
        syscall = "mount"
        source = call.source
        target = call.target
        fstype = call.fstype
        let names = MountCall.flagNames(call.flags)
        flags = names == "0" ? [] : names.split(separator: "|").map(String.init)
        data = call.data
    }

    /// The new mount API's calls for an overlay: fsopen, one fsconfig per layer (FSCONFIG_SET_FD
    /// for a directory given by the fd it was checked on, its path as the value; else
    /// FSCONFIG_SET_STRING), the superblock's creation, fsmount, and move_mount onto the target.
    /// A dry run's `workdir` (made only at mount) is given the way the layers are.
    public static func overlay(_ layers: [FsParameter], workdir: String? = nil, target: String) -> [SyscallRecord] {
        var open = SyscallRecord(syscall: "fsopen")
        open.fstype = "overlay"
        var calls = [open]
        let byFD = layers.contains { if case .directory = $0 { return true } else { return false } }
        func config(_ command: String, _ key: String, _ value: String) {
            var c = SyscallRecord(syscall: "fsconfig")
            c.command = command
            c.key = key
            c.value = value
            calls.append(c)
        }
        for layer in layers {
            if case .directory = layer {
                config("FSCONFIG_SET_FD", layer.key, layer.value)
            } else {
                config("FSCONFIG_SET_STRING", layer.key, layer.value)
            }
        }
        if let workdir { config(byFD ? "FSCONFIG_SET_FD" : "FSCONFIG_SET_STRING", "workdir", workdir) }
        var create = SyscallRecord(syscall: "fsconfig")
        create.command = "FSCONFIG_CMD_CREATE"
        var move = SyscallRecord(syscall: "move_mount")
        move.target = target
        return calls + [create, SyscallRecord(syscall: "fsmount"), move]
    }

    public var description: String {
        func q(_ s: String?) -> String { "\"\(s ?? "")\"" }
        switch syscall {
        case "mount":
            let f = (flags ?? []).isEmpty ? "0" : (flags ?? []).joined(separator: "|")
            return "mount(\(q(source)), \(q(target)), \(q(fstype)), \(f), \(q(data)))"
        case "fsopen": return "fsopen(\(q(fstype)))"
        case "fsconfig":
            let v = command == "FSCONFIG_SET_FD" ? "fd of \(value ?? "")" : q(value)
            return key.map { "fsconfig(\(command ?? ""), \(q($0)), \(v))" } ?? "fsconfig(\(command ?? ""))"
        case "move_mount": return "move_mount(\(q(target)))"
        default: return syscall + "()"
        }
    }

    /// One line per call for a person, an overlay's fsopen..move_mount sequence as one:
    /// `fsopen("overlay") + N fsconfig(FSCONFIG_SET_STRING, ...) + fsmount + move_mount("T")`.
    public static func lines(_ calls: [SyscallRecord]) -> [String] {
        var out: [String] = []
        var strings = 0
        var byFD = false
        var inOverlay = false
        for c in calls {
            switch c.syscall {
            case "fsopen":
                inOverlay = true
                strings = 0
                byFD = false
            case "fsconfig" where inOverlay:
                if c.key != nil { strings += 1 }
                if c.command == "FSCONFIG_SET_FD" { byFD = true }
            case "fsmount" where inOverlay:
                break
            case "move_mount" where inOverlay:
                out.append(OverlayMounter.newAPIDescription(strings, target: c.target ?? "", byFD: byFD))
                inOverlay = false
            default:
                out.append(c.description)
            }
        }
        return out
    }
}
