// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A test the Swift path and the sh path make the same way: a file under the root, or a command.
public enum Probe: Sendable {
    /// The path exists under the root (sh: `[ -e "$ROOT/path" ]`).
    case fileExists(String)
    /// Every listed Debian package is installed (`dpkg-query -W -f='${Status}' P` says installed).
    case debPackagesInstalled([String])

    func holds(_ ctx: InstallContext) async throws -> Bool {
        switch self {
        case .fileExists(let p):
            return FileRead.exists(ctx.path(p)) || FileRead.readLink(ctx.path(p)) != nil
        case .debPackagesInstalled(let names):
            for p in names {
                let r = try await ctx.run(["dpkg-query", "-W", "-f=${Status}", p])
                if !(r.succeeded && r.stdout.hasSuffix(" installed")) { return false }
            }
            return true
        }
    }

    var shell: String {
        switch self {
        case .fileExists(let p):
            return "{ [ -e \"$ROOT\(p)\" ] || [ -L \"$ROOT\(p)\" ]; }"
        case .debPackagesInstalled(let names):
            return names.map {
                "dpkg-query -W -f='${Status}' \(ShellScript.quote($0)) 2>/dev/null | grep -q ' installed$'"
            }
            .joined(separator: " && ")
        }
    }
}

/// The typed changes install steps are made of. Each knows how to tell it is done, make the
/// change (recording its undo first), and say itself as POSIX sh, so apply, `--dry-run`,
/// `--emit-sh` and `uninstall` all read one description. Files are written atomically, and a
/// file that existed is first copied to /var/lib/aufsctl/backups (by Swift and sh alike).
public enum StepAction: Sendable {
    /// `KEY=value` lines of a shell-assignment file (/etc/default/grub, /etc/sysconfig/kernel),
    /// edited byte for byte: every other byte stays as it was (Latin-1, CRLF, no final newline).
    case setAssignments(file: String, [Assignment])
    /// A whole file with this content (from a template); replaced atomically when it differs.
    case writeFile(path: String, content: String)
    /// A command run when `done` does not hold; `undo` (argv) takes it back; `environment` is
    /// set for it (and prefixed to it in sh).
    case command(argv: [String], done: Probe, undo: [String]?, environment: [String: String] = [:])
    /// dkms add, build or install of the aufs source's version (see DKMSAction).
    case dkms(DKMSAction)

    public struct Assignment: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public func isDone(_ ctx: InstallContext) async throws -> Bool {
        switch self {
        case .setAssignments(let file, let list):
            return list.allSatisfy { ctx.isSet($0.key, to: $0.value, in: file) }
        case .writeFile(let path, let content):
            guard case .success(let b) = FileRead.bytes(ctx.path(path)) else { return false }
            return b == Array(content.utf8)
        case .command(_, let done, _, _):
            return try await done.holds(ctx)
        case .dkms(let d):
            return try await d.isDone(ctx)
        }
    }

    /// Makes the change; returns its undo (already recorded in the journal before the change).
    public func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        switch self {
        case .setAssignments(let file, let list):
            // The first edit's backup holds the original: undoing it alone restores the file.
            var undo: [UndoAction] = []
            for a in list {
                let u = try ctx.setAssignment(a.key, to: a.value, in: file)
                if undo.isEmpty { undo = u }
            }
            return undo
        case .writeFile(let path, let content):
            // Undone in reverse: the file, then the directories made for it, innermost first.
            let undo: [UndoAction] =
                FileRead.exists(ctx.path(path))
                ? [.restoreFile(path: path, backup: try ctx.backup(path))]
                : UndoAction.missingDirectories(above: path, root: ctx.root).map { .removeEmptyDirectory(path: $0) }
                    + [.removeFile(path: path)]
            try ctx.willChange(undo)
            try AtomicFile.makeDirectories(Paths.dirname(ctx.path(path)))
            try AtomicFile.write(ctx.path(path), content)
            return undo
        case .command(let argv, _, let undoArgv, let environment):
            let undo: [UndoAction] = undoArgv.map { [.command(argv: $0)] } ?? []
            try ctx.willChange(undo)
            try await ctx.check(argv, environment: environment, explain: Self.explainers[argv.first ?? ""])
            return undo
        case .dkms(let d):
            return try await d.apply(ctx)
        }
    }

    /// Readings of a failed command's output that name the cause (CentOS 7's vanished mirrors).
    static let explainers: [String: @Sendable (CommandResult) -> String?] = ["yum": KernelMLAufsMethod.explainYum]

    /// The sh that tells whether this action is done.
    public var shellDoneTest: String {
        switch self {
        case .setAssignments(let file, let list):
            return list.map { "[ \"$(aufsctl_get \($0.key) \"$ROOT\(file)\")\" = \(ShellScript.quote($0.value)) ]" }
                .joined(separator: " && ")
        case .writeFile(let path, let content):
            return "printf '%s' \(ShellScript.quote(content)) | cmp -s - \"$ROOT\(path)\""
        case .command(_, let done, _, _):
            return done.shell
        case .dkms(let d):
            return d.shellDoneTest
        }
    }

    /// The sh that makes the change (the same backups and atomic renames as the Swift path).
    public var shellCommands: [String] {
        switch self {
        case .setAssignments(let file, let list):
            return list.map {
                "aufsctl_set \($0.key) \(ShellScript.quote(ShellAssignments.quote($0.value))) \"$ROOT\(file)\""
            }
        case .writeFile(let path, let content):
            return ["printf '%s' \(ShellScript.quote(content)) | aufsctl_write \"$ROOT\(path)\""]
        case .command(let argv, _, _, let environment):
            let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(ShellScript.quote($0.value)) " }
                .joined()
            return [env + ShellScript.quote(argv)]
        case .dkms(let d):
            return d.shellCommands
        }
    }

    /// What the install relies on once the action is done.
    public var resources: [String] {
        switch self {
        case .setAssignments(let file, _), .writeFile(let file, _): return ["file:" + file]
        case .command, .dkms: return []
        }
    }
}

extension Step {
    /// A step made of typed actions: done when every action is done; applying runs the ones that
    /// are not; the sh form is derived from the same actions.
    public init(id: String, title: String, actions: [StepAction], prelude: [String] = [], uses: [String]? = nil) {
        let resources = uses ?? actions.flatMap(\.resources)
        let dkms = actions.compactMap { if case .dkms(let d) = $0 { return d } else { return nil } }
        self.init(
            id: id, title: title,
            isDone: { ctx in
                for a in actions where !(try await a.isDone(ctx)) { return false }
                return true
            },
            apply: { ctx in
                var undo: [UndoAction] = []
                for a in actions where !(try await a.isDone(ctx)) { undo += try await a.apply(ctx) }
                return undo
            },
            shell: ShellStep(
                prelude: prelude,
                doneTest: actions.isEmpty ? "true" : actions.map(\.shellDoneTest).joined(separator: " && "),
                commands: actions.isEmpty
                    ? [":"]
                    : actions.flatMap { a in
                        actions.count == 1
                            ? a.shellCommands
                            : ["    if ! { \(a.shellDoneTest); }; then"] + a.shellCommands.map { "        " + $0 } + [
                                "    fi"
                            ]
                    }),
            // dkms's resource (the module version) is known only once the source is there.
            uses: dkms.isEmpty
                ? (resources.isEmpty ? nil : { @Sendable _ in resources })
                : { @Sendable ctx in try resources + dkms.flatMap { try $0.resources(ctx) } })
    }
}
