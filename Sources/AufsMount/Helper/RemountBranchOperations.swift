// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// One of aufs's branch-changing remount options (`add:1:DIR=rr+wh`, `append:DIR`, `prepend:`,
/// `ins:`, `del:`, `mod:`, `idel:N`, `imod:N:PERM`; `=` works where `:` follows the name), as
/// `mount -o remount,...` hands it to mount.aufs (Slax's activate, Puppy's sfs_load).
public struct RemountBranchOperation: Sendable, Equatable {
    /// Where an added branch goes.
    public enum Position: Sendable, Equatable {
        case index(Int)
        case top
        case bottom
    }
    public var action: BranchEditor.Action
    /// `PATH[=PERM]` as `aufsctl branch` takes it (an index for idel/imod).
    public var branch: String
    /// For add: where (nil for del and mod).
    public var position: Position?
    /// The option as given, for messages.
    public var option: String

    /// The operation `opt` names; nil when it is not a branch operation.
    public static func parse(_ opt: String) throws -> RemountBranchOperation? {
        guard let sep = opt.firstIndex(where: { $0 == ":" || $0 == "=" }) else { return nil }
        let name = String(opt[..<sep])
        let rest = String(opt[opt.index(after: sep)...])
        func bad(_ form: String) -> HelperError {
            HelperError(
                "mount.aufs: remount: -o \(opt): expected \(form) (INDEX a branch index, 0 = top)", exit: .mountFailure)
        }
        func indexAndRest(_ form: String) throws -> (Int, String) {
            guard let colon = rest.firstIndex(of: ":"), let i = Int(rest[..<colon]), i >= 0 else { throw bad(form) }
            let tail = String(rest[rest.index(after: colon)...])
            if tail.isEmpty || tail.hasPrefix("=") { throw bad(form) }
            return (i, tail)
        }
        func branch(_ form: String) throws -> String {
            if rest.isEmpty || rest.hasPrefix("=") { throw bad(form) }
            // One branch per option: a ':' would be a second one, which aufs reads as part of the path.
            if rest.contains(":") {
                throw HelperError(
                    "mount.aufs: remount: -o \(opt): one branch per \(name): option; give each its own option",
                    exit: .mountFailure)
            }
            return rest
        }
        switch name {
        case "add", "ins":
            let (i, b) = try indexAndRest("\(name):INDEX:BRANCH[=PERM]")
            if b.contains(":") {
                throw HelperError(
                    "mount.aufs: remount: -o \(opt): one branch per \(name): option; give each its own option",
                    exit: .mountFailure)
            }
            return RemountBranchOperation(action: .add, branch: b, position: .index(i), option: opt)
        case "append":
            return RemountBranchOperation(
                action: .add, branch: try branch("append:BRANCH[=PERM]"), position: .bottom, option: opt)
        case "prepend":
            return RemountBranchOperation(
                action: .add, branch: try branch("prepend:BRANCH[=PERM]"), position: .top, option: opt)
        case "del":
            return RemountBranchOperation(action: .del, branch: try branch("del:BRANCH"), position: nil, option: opt)
        case "mod":
            let b = try branch("mod:BRANCH=PERM")
            guard b.contains("=") else { throw bad("mod:BRANCH=PERM") }
            return RemountBranchOperation(action: .mod, branch: b, position: nil, option: opt)
        case "idel":
            guard let i = Int(rest), i >= 0 else { throw bad("idel:INDEX") }
            return RemountBranchOperation(action: .del, branch: String(i), position: nil, option: opt)
        case "imod":
            let (i, perm) = try indexAndRest("imod:INDEX:PERM")
            return RemountBranchOperation(action: .mod, branch: "\(i)=\(perm)", position: nil, option: opt)
        default:
            return nil
        }
    }
}

extension MountHelper {
    /// What turns one branch operation back: a branch change made the same way.
    struct BranchUndo {
        var action: BranchEditor.Action
        var branch: String
        var index: Int?
    }

    /// A remount with branch operations: each made as `aufsctl branch add|del|mod` makes it
    /// (BranchEditor: an image is probed, bound to a loop device, mounted under /run/aufsctl/layers
    /// and released again when its remount fails; a deleted image layer is unmounted and its loop
    /// device released), in the order given; when one fails, the ones made are undone, newest
    /// first. The other options (and VFS flags) follow in a remount of their own.
    func remountBranches(
        _ a: MountHelperArguments, _ o: HelperOptions, target: String, operations: [RemountBranchOperation],
        options: [String]
    ) throws -> [String] {
        let editor = BranchEditor(syscalls: syscalls, root: root)
        var out: [String] = []
        var made: [BranchUndo] = []
        for op in operations {
            let before = try liveEntries(target)
            var index: Int?
            switch op.position {
            case .index(let i): index = i
            case .top: index = 0
            // An image appended goes at the bottom too (BranchEditor's default for one is under the rw branch).
            case .bottom: index = before.count
            case nil: index = nil
            }
            let c: BranchEditor.Change
            do {
                c = try editor.change(op.action, target: target, branch: op.branch, index: index, dryRun: a.fake)
            } catch {
                throw undone(made, editor: editor, target: target, after: error, option: op.option)
            }
            for w in c.warnings { stderr("mount.aufs: warning: " + w) }
            if a.verbose { for n in c.notes { stdout("mount.aufs: " + n) } }
            if let call = c.call {
                out.append(call.description)
                if a.verbose { stdout("mount.aufs: " + (a.fake ? "would call " : "called ") + call.description) }
                if !a.fake, let u = Self.undo(op.action, call: call, layer: c.layer, before: before) { made.append(u) }
            }
        }
        let flags = o.flags & ~UInt(MS_REMOUNT)
        guard !options.isEmpty || flags != 0 else { return out }
        do {
            out += try remountCalls(a, o, target: target, options: options, operations: [], live: [], directories: [:])
        } catch {
            throw undone(made, editor: editor, target: target, after: error, option: options.joined(separator: ","))
        }
        return out
    }

    /// The live branches of the union at `target`, top first.
    func liveEntries(_ target: String) throws -> [RemountPlanner.Entry] {
        guard let live = try StatusReader(root: root).union(at: target, xino: false) else {
            throw HelperError("mount.aufs: remount: \(target) is no longer mounted", exit: .mountFailure)
        }
        return live.branches.compactMap(RemountPlanner.Entry.init(sysfs:))
    }

    /// The change that undoes `call` (the remount a branch operation made).
    static func undo(
        _ action: BranchEditor.Action, call: MountCall, layer: LayerMount?, before: [RemountPlanner.Entry]
    ) -> BranchUndo? {
        let first = String(call.data.prefix { $0 != "," })
        var named: String?
        _ = RemountPlanner.operation(first) {
            named = $0
            return nil
        }
        guard let path = layer?.directory ?? named else { return nil }
        switch action {
        case .add:
            return BranchUndo(action: .del, branch: path, index: nil)
        case .del:
            guard let i = before.firstIndex(where: { $0.path == path }) else { return nil }
            // A deleted image layer was released: its image is attached again.
            return BranchUndo(action: .add, branch: "\(layer?.image ?? path)=\(before[i].permission)", index: i)
        case .mod:
            guard let e = before.first(where: { $0.path == path }) else { return nil }
            return BranchUndo(action: .mod, branch: "\(path)=\(e.permission)", index: nil)
        }
    }

    /// `error` with what undoing `made` did (newest first) in its details.
    func undone(_ made: [BranchUndo], editor: BranchEditor, target: String, after error: Error, option: String) -> Error
    {
        var notes: [String] = []
        for u in made.reversed() {
            do {
                _ = try editor.change(u.action, target: target, branch: u.branch, index: u.index, dryRun: false)
                notes.append("undone: branch \(u.action.rawValue) \(u.branch)")
            } catch {
                notes.append("NOT undone: branch \(u.action.rawValue) \(u.branch): \(error)")
            }
        }
        let summary =
            made.isEmpty
            ? nil
            : notes.contains { $0.hasPrefix("NOT") }
                ? "the operations before -o \(option) could not all be undone; see aufsctl status"
                : "the \(made.count) operation\(made.count == 1 ? "" : "s") before -o \(option) were undone"
        switch error {
        case var e as AufsError:
            if let summary { e.details += notes + [summary] }
            return e
        case let e as HelperError:
            guard let summary else { return e }
            return HelperError(e.message + "; " + summary + " (" + notes.joined(separator: "; ") + ")", exit: e.exit)
        default:
            return error
        }
    }
}
