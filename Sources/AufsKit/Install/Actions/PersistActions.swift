// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A symlink aufsctl makes (a unit's `local-fs.target.wants` link): done when `link` points to
/// `target`; a link elsewhere is replaced (undo puts it back); anything else there is refused.
public struct SymlinkAction: ActionKind {
    public var link: String
    public var target: String

    public init(link: String, target: String) {
        self.link = link
        self.target = target
    }

    var refusal: String {
        "\(link) exists and is not a symlink; aufsctl does not replace what it did not make: look at it, remove "
            + "it, and "
            + "run again"
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool { ctx.fs.readLink(ctx.root.entry(link)) == target }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let entry = ctx.root.entry(link)
        let old = ctx.fs.readLink(entry)
        var st = stat()
        if old == nil && lstat(entry, &st) == 0 { throw AufsError(refusal) }
        let undo: [UndoAction] = old.map { [.relink(path: link, target: $0)] } ?? ctx.creating(link)
        try ctx.willChange(undo)
        try ctx.fs.makeDirectories(Paths.dirname(entry))
        if old != nil { try ctx.fs.remove(entry) }
        try ctx.fs.symlink(target, at: entry)
        return undo
    }

    var shellDoneTest: String? {
        "[ \"$(readlink \(ShellScript.rooted(link)) 2>/dev/null)\" = \(ShellScript.quote(target)) ]"
    }

    var shellCommands: [String] {
        let l = ShellScript.rooted(link)
        return [
            "if [ -e \(l) ] && [ ! -L \(l) ]; then echo \(ShellScript.quote(refusal)) >&2; exit 1; fi",
            "mkdir -p \"$(dirname \(l))\"",
            "ln -sfn \(ShellScript.quote(target)) \(l)",
        ]
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] { [.file(link)] }
}

/// persist's /etc/fstab line: aufsctl's own line for the mount point (the one after its marker
/// comment) is replaced; a new one is placed after the lines that mount what the union needs.
/// Another line for the mount point (an administrator's, aufs or not) is refused and left alone.
public struct FstabLineAction: ActionKind {
    public var spec: PersistSpec
    /// A state file of schema 1 records this mount point's line, written before lines had markers.
    public var adoptUnmarked: Bool

    public init(spec: PersistSpec, adoptUnmarked: Bool = false) {
        self.spec = spec
        self.adoptUnmarked = adoptUnmarked
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        let text = ctx.fs.string(ctx.path("/etc/fstab")) ?? ""
        return text.contains(FstabLine.marker(spec.target) + "\n" + FstabLine.line(spec) + "\n")
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let current = ctx.fs.string(ctx.path("/etc/fstab"))
        let text = try FstabLine.insert(spec, into: current ?? "", adoptUnmarked: adoptUnmarked)
        let undo: [UndoAction] = [.removeFstabLine(target: spec.target)]
        // Undone by removing this line only: a whole-file restore would also take away other
        // unions' lines and whatever the administrator changed since. The backup is for a manual rollback.
        if current != nil { _ = try ctx.backup("/etc/fstab") }
        try ctx.willChange(undo)
        try ctx.fs.write(ctx.path("/etc/fstab"), text)
        return undo
    }

    var shellDoneTest: String? {
        "aufsctl_fstab_has \(ShellScript.quote(FstabLine.marker(spec.target))) "
            + ShellScript.quote(FstabLine.line(spec))
    }

    var shellCommands: [String] {
        let needed = (spec.requiredPaths + [Paths.dirname(spec.target)]).map(Paths.normalize)
        return [
            "aufsctl_fstab_insert \(ShellScript.quote(Paths.normalize(spec.target))) "
                + "\(ShellScript.quote(FstabLine.marker(spec.target))) \(ShellScript.quote(FstabLine.line(spec))) "
                + ShellScript.quote(needed)
        ]
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] { [.fstabEntry(spec.target)] }
}
