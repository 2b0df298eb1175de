// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Steps several methods share.
enum CommonSteps {
    static let modulesLoad = "/etc/modules-load.d/aufs.conf"

    /// `/etc/modules-load.d/aufs.conf`, so aufs loads at boot.
    static func persist() -> Step {
        let content = (try? Template.render("modules-load-aufs.conf", [:])) ?? "aufs\n"
        return Step(
            id: "persist", title: "Load aufs at boot (\(modulesLoad))",
            actions: [.writeFile(path: modulesLoad, content: content)])
    }

    /// Loads aufs into the running kernel through libkmod and checks /proc/filesystems.
    static func load() -> Step {
        Step(
            id: "load", title: "Load aufs through libkmod and verify /proc/filesystems",
            isDone: { ctx in ProcFilesystems.parse(FileRead.string(ctx.path("/proc/filesystems")) ?? "").has("aufs") },
            apply: { ctx in
                _ = try ModuleLoader(root: ctx.root, syscalls: ctx.syscalls).load()
                guard ProcFilesystems.parse(FileRead.string(ctx.path("/proc/filesystems")) ?? "").has("aufs") else {
                    throw AufsError("aufs was loaded but /proc/filesystems does not list it")
                }
                return []
            },
            shell: ShellStep(
                doneTest: "grep -qw aufs /proc/filesystems",
                commands: ["modprobe aufs", "grep -qw aufs /proc/filesystems"]))
    }
}
