// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// A test the Swift path and the sh path make the same way: a file under the root, or a command.
public enum Probe: Sendable {
    /// The path exists under the root (sh: `[ -e "$ROOT/path" ]`).
    case fileExists(String)
    /// Every listed Debian package is installed (`dpkg-query -W -f='${Status}' P` says installed).
    case debPackagesInstalled([String])
    /// kernel-ml-aufs is installed (`rpm -q`; its release is learned on the way).
    case kernelMLAufsInstalled
    /// Never done (a reboot).
    case never

    func holds(_ ctx: InstallContext) async throws -> Bool {
        switch self {
        case .fileExists(let p):
            return ctx.fs.exists(ctx.path(p)) || ctx.fs.readLink(ctx.path(p)) != nil
        case .debPackagesInstalled(let names):
            for p in names {
                let r = try await ctx.run(["dpkg-query", "-W", "-f=${Status}", p])
                if !(r.succeeded && r.stdout.hasSuffix(" installed")) { return false }
            }
            return true
        case .kernelMLAufsInstalled:
            return try await KernelMLAufsMethod.installedKernel(ctx) != nil
        case .never:
            return false
        }
    }

    var shell: String {
        switch self {
        case .fileExists(let p):
            return "{ [ -e \(ShellScript.rooted(p)) ] || [ -L \(ShellScript.rooted(p)) ]; }"
        case .debPackagesInstalled(let names):
            return names.map {
                "dpkg-query -W -f='${Status}' \(ShellScript.quote($0)) 2>/dev/null | grep -q ' installed$'"
            }
            .joined(separator: " && ")
        case .kernelMLAufsInstalled:
            return "rpm -q kernel-ml-aufs >/dev/null 2>&1"
        case .never:
            return "false"
        }
    }
}

/// A command run when `done` does not hold; `undo` takes it back; `environment` is set for it
/// (and prefixed to it in sh). Long ones stream their progress.
public struct CommandAction: ActionKind {
    public var argv: [String]
    public var done: Probe
    public var undo: UndoAction?
    public var environment: [String: String]
    public var streaming: Bool

    public init(
        _ argv: [String], done: Probe, undo: UndoAction?, environment: [String: String] = [:], streaming: Bool = false
    ) {
        self.argv = argv
        self.done = done
        self.undo = undo
        self.environment = environment
        self.streaming = streaming
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool { try await done.holds(ctx) }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        let undo = self.undo.map { [$0] } ?? []
        try ctx.willChange(undo)
        let explain = CommandAction.explainers[argv.first ?? ""]
        if streaming {
            try await ctx.checkStreaming(argv, environment: environment, explain: explain)
        } else {
            try await ctx.check(argv, environment: environment, explain: explain)
        }
        return undo
    }

    /// Readings of a failed command's output that name the cause (CentOS 7's vanished mirrors).
    static let explainers: [String: @Sendable (CommandResult) -> String?] = ["yum": KernelMLAufsMethod.explainYum]

    var shellDoneTest: String? { done.shell }

    var shellCommands: [String] {
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(ShellScript.quote($0.value)) " }.joined()
        return [env + ShellScript.quote(argv)]
    }
}
