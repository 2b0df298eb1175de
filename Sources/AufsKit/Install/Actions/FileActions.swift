// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `KEY=value` lines of a shell-assignment file, edited as bytes: every other byte stays.
public struct SetAssignments: ActionKind {
    public struct Assignment: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public var file: String
    public var assignments: [Assignment]

    public init(file: String, _ assignments: [Assignment]) {
        self.file = file
        self.assignments = assignments
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        assignments.allSatisfy { ctx.isSet($0.key, to: $0.value, in: file) }
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        // The first edit's backup holds the original: undoing it alone restores the file.
        var undo: [UndoAction] = []
        for a in assignments {
            let u = try ctx.setAssignment(a.key, to: a.value, in: file)
            if undo.isEmpty { undo = u }
        }
        return undo
    }

    var shellDoneTest: String? {
        assignments.map {
            "[ \"$(aufsctl_get \(ShellScript.quote($0.key)) \(ShellScript.rooted(file)))\" = "
                + "\(ShellScript.quote($0.value)) ]"
        }.joined(separator: " && ")
    }

    var shellCommands: [String] {
        assignments.map {
            "aufsctl_set \(ShellScript.quote($0.key)) \(ShellScript.quote(ShellAssignments.quote($0.value))) "
                + ShellScript.rooted(file)
        }
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] { [.file(file)] }
}

/// A whole file with this content; replaced atomically (after a backup) when it differs.
public struct WriteFile: ActionKind {
    public var path: String
    public var content: String
    /// Set after writing (a kernel hook: 0755); nil keeps what the file had, else 0644.
    public var mode: UInt32?

    public init(path: String, content: String, mode: UInt32? = nil) {
        self.path = path
        self.content = content
        self.mode = mode
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        guard case .success(let b) = ctx.fs.read(ctx.path(path)) else { return false }
        return b == Array(content.utf8)
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let undo: [UndoAction] =
            ctx.fs.exists(ctx.path(path))
            ? [.restoreFile(path: path, backup: try ctx.backup(path))] : ctx.creating(path)
        try ctx.willChange(undo)
        try ctx.fs.makeDirectories(Paths.dirname(ctx.path(path)))
        try ctx.fs.write(ctx.path(path), content)
        if let mode { try ctx.fs.setPermissions(ctx.path(path), mode) }
        return undo
    }

    var shellDoneTest: String? { "printf '%s' \(ShellScript.quote(content)) | cmp -s - \(ShellScript.rooted(path))" }

    var shellCommands: [String] {
        ["printf '%s' \(ShellScript.quote(content)) | aufsctl_write \(ShellScript.rooted(path))"]
            + (mode.map { ["chmod \(String($0, radix: 8)) \(ShellScript.rooted(path))"] } ?? [])
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] { [.file(path)] }
}

/// A line a file must hold: appended (after a backup) when missing; the file made when absent.
public struct EnsureLine: ActionKind {
    public var path: String
    public var line: String

    public init(path: String, line: String) {
        self.path = path
        self.line = line
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        (ctx.fs.string(ctx.path(path)) ?? "").split(separator: "\n").contains { $0 == line }
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let file = ctx.path(path)
        let old = ctx.fs.string(file)
        let undo: [UndoAction] =
            old != nil ? [.restoreFile(path: path, backup: try ctx.backup(path))] : ctx.creating(path)
        try ctx.willChange(undo)
        try ctx.fs.makeDirectories(Paths.dirname(file))
        let text = old.map { $0.isEmpty || $0.hasSuffix("\n") ? $0 : $0 + "\n" } ?? ""
        try ctx.fs.write(file, text + line + "\n")
        return undo
    }

    var shellDoneTest: String? { "grep -qxF \(ShellScript.quote(line)) \(ShellScript.rooted(path)) 2>/dev/null" }

    var shellCommands: [String] {
        let f = ShellScript.rooted(path)
        return [
            "{ if [ -s \(f) ]; then cat \(f); [ -z \"$(tail -c 1 \(f))\" ] || echo; fi; printf '%s\\n' "
                + "\(ShellScript.quote(line)); } | aufsctl_write \(f)"
        ]
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] { [.file(path)] }
}
