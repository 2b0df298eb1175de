// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem

/// Which record a run's changes go to: an install's (method and kernel), or a persisted union's.
public enum RecordKey: Sendable, Equatable {
    case install(InstallMethod, kernel: String)
    case persist(target: String, via: String)
}

/// The state file as a write-ahead journal: a step records how to undo a change (and the state
/// is saved) *before* it makes the change, so a crash between the two loses no undo.
public final class StateJournal: @unchecked Sendable {
    public private(set) var state: InstallState
    let root: HostRoot
    public let key: RecordKey
    /// The step being applied: what `add` records under.
    public var step: (id: String, title: String)?

    public init(state: InstallState, root: HostRoot, key: RecordKey) {
        self.state = state
        self.root = root
        self.key = key
    }

    /// Whether the state file holds this run's record yet.
    public var hasRecord: Bool {
        switch key {
        case .install(let method, let kernel):
            return state.installs.contains { $0.method == method && $0.kernel == kernel }
        case .persist(let target, _):
            return (state.unions ?? []).contains { $0.kind == .persist && $0.target == target }
        }
    }

    public func add(_ undo: [UndoAction], uses: [Resource]? = nil) throws {
        guard let step else { return }
        flushPending()
        record(.init(id: step.id, title: step.title, undo: undo, uses: uses))
        try state.save(root: root)
    }

    func record(_ step: InstallState.StepRecord) {
        switch key {
        case .install(let method, let kernel):
            state.record(method: method, kernel: kernel, step: step)
        case .persist(let target, let via):
            var unions = state.unions ?? []
            let i =
                unions.lastIndex { $0.kind == .persist && $0.target == target }
                ?? {
                    unions.append(UnionRecord(kind: .persist, target: target, via: via, undo: []));
                    return unions.count - 1
                }()
            for u in step.undo where !unions[i].undo.contains(u) { unions[i].undo.append(u) }
            let had = unions[i].uses ?? []
            let uses = had + (step.uses ?? []).filter { !had.contains($0) }
            unions[i].uses = uses.isEmpty ? nil : uses
            state.unions = unions
        }
    }

    /// Uses of already-done steps, held until the run changes something or completes, so a run
    /// that stops early (a refused preflight) leaves no record behind.
    var pendingUses: [InstallState.StepRecord] = []

    func flushPending() {
        for p in pendingUses { record(p) }
        pendingUses = []
    }

    public func flushUses() throws {
        guard !pendingUses.isEmpty else { return }
        flushPending()
        try state.save(root: root)
    }

    /// Records what the install built from (its provenance) on its record.
    public func setSource(_ source: String) throws {
        guard case .install(let method, let kernel) = key,
            let i = state.installs.lastIndex(where: { $0.method == method && $0.kernel == kernel }),
            state.installs[i].source != source
        else { return }
        state.installs[i].source = source
        try state.save(root: root)
    }

    /// A step that was already done: recorded only for what it declares it uses.
    public func use(id: String, title: String, _ uses: [Resource]) throws {
        guard !uses.isEmpty else { return }
        let step = InstallState.StepRecord(id: id, title: title, undo: [], uses: uses)
        guard hasRecord else {
            pendingUses.append(step)
            return
        }
        let before = state
        record(step)
        if state != before { try state.save(root: root) }
    }

    /// The undo actions journaled since `before` (this run's), newest first: what a rollback undoes.
    public func added(since before: InstallState) -> [UndoAction] {
        guard case .install(let method, let kernel) = key else { return [] }
        let match = { (r: InstallState.Record) in r.method == method && r.kernel == kernel }
        guard let now = state.installs.last(where: match) else { return [] }
        let old = before.installs.last(where: match)
        var out: [UndoAction] = []
        for step in now.steps {
            let had = old?.steps.filter { $0.id == step.id }.flatMap(\.undo) ?? []
            out += step.undo.filter { !had.contains($0) }
        }
        return out.reversed()
    }

    /// After a rollback: with everything undone the record is as it was in `before` (gone if it
    /// was not there); otherwise only the `undone` actions leave it, so `uninstall` does the rest.
    public func rolledBack(_ undone: [UndoAction], before: InstallState, complete: Bool) throws {
        guard case .install(let method, let kernel) = key else { return }
        let match = { (r: InstallState.Record) in r.method == method && r.kernel == kernel }
        pendingUses = []
        if complete {
            let old = before.installs.last(where: match)
            if let i = state.installs.lastIndex(where: match) {
                if let old { state.installs[i] = old } else { state.installs.remove(at: i) }
            }
        } else if let i = state.installs.lastIndex(where: match) {
            for u in undone {
                for j in state.installs[i].steps.indices.reversed() {
                    if let k = state.installs[i].steps[j].undo.lastIndex(of: u) {
                        state.installs[i].steps[j].undo.remove(at: k)
                        break
                    }
                }
            }
        }
        try state.save(root: root)
    }

    /// Takes this run's record away again (a persist that failed part way, after its undo ran).
    public func drop() throws {
        guard case .persist(let target, _) = key else { return }
        state.unions?.removeAll { $0.kind == .persist && $0.target == target }
        if state.unions?.isEmpty == true { state.unions = nil }
        try state.save(root: root)
    }
}
