// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `dkms add|build|install` of the aufs source's version, as a typed step action: the version is
/// the source tree's (`AUFS_VERSION`, known only once the source is there: in Swift from
/// `DKMSMethod.source`, in sh from `$V`, which the layout step sets), the state comes from
/// `dkms status -m aufs` (one answer per run, refreshed after every dkms command).
public struct DKMSAction: ActionKind {
    public enum Operation: String, Sendable { case add, build, install }
    public var operation: Operation
    /// The kernel release to build or install for (not used by add).
    public var kernel: String
    public var jobs: Int
    /// The aufs-standalone branch, named in a failed build's way out.
    public var branch: String

    func version(_ ctx: InstallContext) throws -> String? { try DKMSMethod.source(ctx)?.version }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        guard let v = try version(ctx) else { return false }
        let entries = try await DKMSMethod.status(ctx, version: v)
        switch operation {
        case .add: return !entries.isEmpty
        case .build: return entries.contains { $0.kernel == kernel && ($0.state == "built" || $0.state == "installed") }
        case .install: return entries.contains { $0.kernel == kernel && $0.state == "installed" }
        }
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        guard let v = try version(ctx) else { throw AufsError("the aufs source is not there") }
        ctx.dkmsStatus = nil
        switch operation {
        case .add:
            let undo: [UndoAction] = [.dkmsRemove(module: "aufs/\(v)", kernel: nil)]
            try ctx.willChange(undo)
            try await ctx.check(["dkms", "add", "aufs/\(v)"])
            return undo
        case .build:
            do {
                try await ctx.checkStreaming(["dkms", "build", "aufs/\(v)", "-k", kernel, "-j", String(jobs)])
            } catch let e as AufsError {
                throw explainBuildFailure(e, ctx: ctx, version: v)
            }
            return []
        case .install:
            // This kernel's build goes with this install record; `dkms remove --all` (the add
            // step's undo) goes with the last record that uses the module.
            let undo: [UndoAction] = [.dkmsRemove(module: "aufs/\(v)", kernel: kernel)]
            try ctx.willChange(undo)
            try await ctx.checkStreaming(["dkms", "install", "aufs/\(v)", "-k", kernel])
            return undo
        }
    }

    /// modpost's "undefined!" lines are the truth about missing exports; else the log's tail.
    func explainBuildFailure(_ e: AufsError, ctx: InstallContext, version v: String) -> AufsError {
        let dkmsLog = "/var/lib/dkms/aufs/\(v)/build/make.log"
        let text = ctx.fs.string(ctx.path(dkmsLog))
        // Kept where a rollback (`dkms remove`) does not take it, as akmods keeps .last.log.
        let log = text.flatMap { keepLog($0, ctx: ctx, version: v) } ?? dkmsLog
        let undefined = text.map { SymbolCheck.undefinedByModpost(makeLog: $0) } ?? []
        if !undefined.isEmpty {
            return AufsError(
                "the build of aufs/\(v) for \(kernel) failed: the kernel does not export \(undefined.count) "
                    + "symbol\(undefined.count == 1 ? "" : "s") this aufs needs: "
                    + "\(undefined.joined(separator: ", ")) (modpost, \(log))",
                details: [
                    "way out: boot a kernel that carries \(branch)'s base, mmap and standalone patches",
                    "way out: `aufsctl mount --fallback overlay ...`",
                ])
        }
        let tail = text.map { $0.split(separator: "\n").suffix(30).map(String.init) } ?? []
        return AufsError(e.message + "; the build log is \(log)", details: tail.isEmpty ? e.details : tail)
    }

    /// Copies a failed build's make.log to /var/log/aufsctl/make-aufs-V-KVER.log; its path, or nil.
    func keepLog(_ text: String, ctx: InstallContext, version v: String) -> String? {
        let kept = "/var/log/aufsctl/make-aufs-\(v)-\(kernel).log"
        do {
            try ctx.fs.makeDirectories(ctx.path("/var/log/aufsctl"))
            try ctx.fs.write(ctx.path(kept), text, mode: 0o640)
            return kept
        } catch {
            return nil
        }
    }

    var shellDoneTest: String? {
        let k = ShellScript.quote(kernel)
        switch operation {
        case .add: return "dkms status -m aufs -v \"$V\" | grep -q ."
        case .build: return "dkms status -m aufs -v \"$V\" -k \(k) | grep -Eq 'built|installed'"
        case .install: return "dkms status -m aufs -v \"$V\" -k \(k) | grep -q installed"
        }
    }

    var shellCommands: [String] {
        let k = ShellScript.quote(kernel)
        switch operation {
        case .add: return ["dkms add \"aufs/$V\""]
        case .build:
            return [
                "dkms build \"aufs/$V\" -k \(k) -j \(jobs) || "
                    + "{ tail -n 30 \"/var/lib/dkms/aufs/$V/build/make.log\" >&2; exit 1; }"
            ]
        case .install: return ["dkms install \"aufs/$V\" -k \(k)"]
        }
    }

    /// What the install relies on: the module version in dkms (add), known once the source is.
    func resources(_ ctx: InstallContext) throws -> [Resource] {
        guard operation == .add, let v = try version(ctx) else { return [] }
        return [.dkmsModule("aufs/\(v)")]
    }
}
