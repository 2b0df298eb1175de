// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `grub2-mkconfig -o` the live GRUB config (through /etc/grub2*.cfg links), after a backup; done
/// when the config names the installed kernel-ml-aufs and is newer than /etc/default/grub.
public struct GrubMkconfig: ActionKind {
    public var uefi: Bool

    var link: String { uefi ? "/etc/grub2-efi.cfg" : "/etc/grub2.cfg" }
    var fallback: String { uefi ? "/boot/efi/EFI/centos/grub.cfg" : "/boot/grub2/grub.cfg" }

    /// The config grub2-mkconfig must write: the live one, through the /etc link.
    func live(_ ctx: InstallContext) -> String {
        if let target = ctx.fs.readLink(ctx.path(link)) {
            return target.hasPrefix("/") ? Paths.normalize(target) : Paths.normalize(Paths.dirname(link) + "/" + target)
        }
        return fallback
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        guard let k = try await KernelMLAufsMethod.installedKernel(ctx) else { return false }
        let cfg = ctx.path(live(ctx))
        guard let text = ctx.fs.string(cfg), text.contains("vmlinuz-\(k)"),
            let c = ctx.mtime(cfg), let d = ctx.mtime(ctx.path("/etc/default/grub"))
        else { return false }
        return c >= d
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let live = live(ctx)
        let undo: [UndoAction] =
            ctx.fs.exists(ctx.path(live))
            ? [.restoreFile(path: live, backup: try ctx.backup(live))] : [.removeFile(path: live)]
        try ctx.willChange(undo)
        try await ctx.check(["grub2-mkconfig", "-o", live])
        return undo
    }

    /// Sets $GRUBCFG (the live config under $ROOT) for the test and the command.
    var shellPrelude: [String] {
        [
            "GRUBCFG=\(ShellScript.rooted(fallback))",
            "[ -L \(ShellScript.rooted(link)) ] && GRUBCFG=$(readlink -f \(ShellScript.rooted(link)))",
        ]
    }

    var shellDoneTest: String? {
        "grep -qs \"vmlinuz-$KVER\" \"$GRUBCFG\" && [ ! \"$ROOT/etc/default/grub\" -nt \"$GRUBCFG\" ]"
    }

    var shellCommands: [String] { ["aufsctl_backup \"$GRUBCFG\"", "grub2-mkconfig -o \"$GRUBCFG\""] }
}

/// `grubby --set-default /boot/vmlinuz-KVER` for the installed kernel-ml-aufs, checked with
/// `grubby --default-kernel`; undo sets the previous default again.
public struct GrubbyDefault: ActionKind {
    public init() {}

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        guard let k = try await KernelMLAufsMethod.installedKernel(ctx) else { return false }
        let r = try await ctx.run(["grubby", "--default-kernel"])
        return r.succeeded && r.stdout.trimmingBlanks == "/boot/vmlinuz-\(k)"
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let k = try await KernelMLAufsMethod.requireKernel(ctx)
        let before = try await ctx.run(["grubby", "--default-kernel"])
        let prev = before.stdout.trimmingBlanks
        let undo: [UndoAction] =
            before.succeeded && prev.hasPrefix("/boot/") ? [.command(argv: ["grubby", "--set-default", prev])] : []
        try ctx.willChange(undo)
        try await ctx.check(["grubby", "--set-default", "/boot/vmlinuz-\(k)"])
        let after = try await ctx.run(["grubby", "--default-kernel"])
        guard after.stdout.trimmingBlanks == "/boot/vmlinuz-\(k)" else {
            throw AufsError("grubby --default-kernel says \(after.stdout.trimmingBlanks), not /boot/vmlinuz-\(k)")
        }
        return undo
    }

    var shellDoneTest: String? { "[ \"$(grubby --default-kernel)\" = \"/boot/vmlinuz-$KVER\" ]" }

    var shellCommands: [String] {
        [
            "grubby --set-default \"/boot/vmlinuz-$KVER\"",
            "[ \"$(grubby --default-kernel)\" = \"/boot/vmlinuz-$KVER\" ]",
        ]
    }
}

/// Loads aufs into the running kernel through libkmod and checks /proc/filesystems.
public struct LoadModule: ActionKind {
    public init() {}

    func registered(_ ctx: InstallContext) -> Bool {
        ProcFilesystems.parse(ctx.fs.string(ctx.path("/proc/filesystems")) ?? "").has("aufs")
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool { registered(ctx) }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        _ = try ModuleLoader(root: ctx.root, syscalls: ctx.syscalls).load()
        guard registered(ctx) else { throw AufsError("aufs was loaded but /proc/filesystems does not list it") }
        return []
    }

    var shellDoneTest: String? { "grep -qw aufs /proc/filesystems" }
    var shellCommands: [String] { ["modprobe aufs", "grep -qw aufs /proc/filesystems"] }
}
