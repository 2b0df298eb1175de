// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem

/// The state file as a write-ahead journal: a step records how to undo a change (and the state
/// is saved) *before* it makes the change, so a crash between the two loses no undo.
public final class StateJournal: @unchecked Sendable {
    public private(set) var state: InstallState
    let root: HostRoot
    let method: InstallMethod
    let kernel: String
    /// The step being applied: what `add` records under.
    public var step: (id: String, title: String)?

    public init(state: InstallState, root: HostRoot, method: InstallMethod, kernel: String) {
        self.state = state
        self.root = root
        self.method = method
        self.kernel = kernel
    }

    public func add(_ undo: [UndoAction], uses: [Resource]? = nil) throws {
        guard let step else { return }
        flushPending()
        state.record(
            method: method, kernel: kernel, step: .init(id: step.id, title: step.title, undo: undo, uses: uses))
        try state.save(root: root)
    }

    /// Uses of already-done steps, held until the install changes something or completes, so a
    /// run that stops early (a refused preflight) leaves no record behind.
    var pendingUses: [InstallState.StepRecord] = []

    func flushPending() {
        for p in pendingUses { state.record(method: method, kernel: kernel, step: p) }
        pendingUses = []
    }

    public func flushUses() throws {
        guard !pendingUses.isEmpty else { return }
        flushPending()
        try state.save(root: root)
    }

    /// Records what the install built from (its provenance) on its record.
    public func setSource(_ source: String) throws {
        guard let i = state.installs.lastIndex(where: { $0.method == method && $0.kernel == kernel }),
            state.installs[i].source != source
        else { return }
        state.installs[i].source = source
        try state.save(root: root)
    }

    /// A step that was already done: recorded only for what it declares it uses.
    public func use(id: String, title: String, _ uses: [Resource]) throws {
        guard !uses.isEmpty else { return }
        let step = InstallState.StepRecord(id: id, title: title, undo: [], uses: uses)
        guard state.installs.contains(where: { $0.method == method && $0.kernel == kernel }) else {
            pendingUses.append(step)
            return
        }
        let before = state
        state.record(method: method, kernel: kernel, step: step)
        if state != before { try state.save(root: root) }
    }
}
