// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The kernel modules an image layer needs, loaded through libkmod (as aufsctl loads aufs) when the
/// kernel lacks them: `loop` and the image's filesystem. Nothing else loads them where a live system
/// runs aufsctl from an initramfs: without `kmod static-nodes` there is no /dev/loop-control whose
/// open would autoload loop, and with kernel autoload off (or a static node but no driver behind it)
/// neither that open nor mount(2) of squashfs loads anything.
public enum LayerModules {
    /// Loads `loop` when no loop driver is registered (its misc device `loop-control` is absent from
    /// sysfs, whatever /dev holds); nil when it is registered now, else why not.
    public static func ensureLoop(syscalls: any Syscalls = LinuxSyscalls()) -> String? {
        if FileRead.exists("/sys/class/misc/loop-control") { return nil }
        return load("loop", alias: "loop", syscalls: syscalls)
    }

    /// Loads the module of filesystem `type` (by its `fs-TYPE` alias, as the kernel asks for it)
    /// when /proc/filesystems lacks it; nil when the type is registered now, else why not.
    public static func ensureFilesystem(_ type: String, syscalls: any Syscalls = LinuxSyscalls()) -> String? {
        if registered(type) { return nil }
        return load(type, alias: "fs-" + type, syscalls: syscalls)
    }

    static func registered(_ type: String) -> Bool {
        ProcFilesystems.parse(FileRead.string("/proc/filesystems") ?? "").has(type)
    }

    /// nil when loaded (or already there); otherwise a sentence for the error that follows.
    static func load(_ what: String, alias: String, syscalls: any Syscalls) -> String? {
        let kver = syscalls.uname().release
        let tree = "/lib/modules/\(kver)"
        guard FileRead.isDirectory(tree) else { return "\(tree) does not exist, so no \(what) module could be loaded" }
        let index: ModuleIndex
        do { index = try ModuleIndex(root: HostRoot(), kernel: kver) } catch {
            return "the \(what) module could not be loaded: \(error)"
        }
        switch index.load(alias, options: nil) {
        case .inserted, .alreadyLoaded, .builtin: return nil
        case .notFound: return "\(tree) has no \(what) module (\(alias))"
        case .blacklisted(let by): return "the \(what) module is blacklisted (\(by.joined(separator: "; ")))"
        case .failed(let e): return "loading the \(what) module failed: \(e)"
        }
    }
}
