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
        let names = HelperOptions.flagNames(call.flags)
        flags = names == "0" ? [] : names.split(separator: "|").map(String.init)
        data = call.data
    }

    /// The new mount API's calls for an overlay: fsopen, one fsconfig per layer string, the
    /// superblock's creation, fsmount, and move_mount onto the target.
    public static func overlay(strings: [(String, String)], target: String) -> [SyscallRecord] {
        var open = SyscallRecord(syscall: "fsopen")
        open.fstype = "overlay"
        var calls = [open]
        for (key, value) in strings {
            var c = SyscallRecord(syscall: "fsconfig")
            c.command = "FSCONFIG_SET_STRING"
            c.key = key
            c.value = value
            calls.append(c)
        }
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
            return key.map { "fsconfig(\(command ?? ""), \(q($0)), \(q(value)))" } ?? "fsconfig(\(command ?? ""))"
        case "move_mount": return "move_mount(\(q(target)))"
        default: return syscall + "()"
        }
    }

    /// One line per call for a person, an overlay's fsopen..move_mount sequence as one:
    /// `fsopen("overlay") + N fsconfig(FSCONFIG_SET_STRING, ...) + fsmount + move_mount("T")`.
    public static func lines(_ calls: [SyscallRecord]) -> [String] {
        var out: [String] = []
        var strings = 0
        var inOverlay = false
        for c in calls {
            switch c.syscall {
            case "fsopen":
                inOverlay = true
                strings = 0
            case "fsconfig" where inOverlay:
                if c.key != nil { strings += 1 }
            case "fsmount" where inOverlay:
                break
            case "move_mount" where inOverlay:
                out.append(OverlayMounter.newAPIDescription(strings, target: c.target ?? ""))
                inOverlay = false
            default:
                out.append(c.description)
            }
        }
        return out
    }
}
