/// Steps several methods share.
enum CommonSteps {
    static let modulesLoad = "/etc/modules-load.d/aufs.conf"

    /// `/etc/modules-load.d/aufs.conf`, so aufs loads at boot.
    static func persist() -> Step {
        Step(
            id: "persist", title: "Load aufs at boot (\(modulesLoad))",
            isDone: { ctx in FileRead.string(ctx.path(modulesLoad)) == (try Template.render("modules-load-aufs.conf", [:])) },
            apply: { ctx in
                let undo: [UndoAction] = FileRead.exists(ctx.path(modulesLoad))
                    ? [.restoreFile(path: modulesLoad, backup: try ctx.backup(modulesLoad))] : [.removeFile(path: modulesLoad)]
                try ctx.willChange(undo)
                try AtomicFile.makeDirectories(ctx.path("/etc/modules-load.d"))
                try AtomicFile.write(ctx.path(modulesLoad), try Template.render("modules-load-aufs.conf", [:]))
                return undo
            },
            shell: ShellStep(doneTest: "grep -qx aufs \"$ROOT\(modulesLoad)\" 2>/dev/null",
                             commands: ["mkdir -p \"$ROOT/etc/modules-load.d\"", "cat > \"$ROOT\(modulesLoad)\" <<'EOF'",
                                        ((try? Template.render("modules-load-aufs.conf", [:])) ?? "aufs\n") + "EOF"]),
            uses: { _ in ["file:" + modulesLoad] })
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
            shell: ShellStep(doneTest: "grep -qw aufs /proc/filesystems", commands: ["modprobe aufs", "grep -qw aufs /proc/filesystems"]))
    }
}
