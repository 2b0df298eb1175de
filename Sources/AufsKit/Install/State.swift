// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc

/// What install changed and how to undo it: `/var/lib/aufsctl/state.json`, written atomically
/// after every changed step so a crash never loses an undo.
public struct InstallState: Sendable, Codable, Equatable {
    public struct StepRecord: Sendable, Codable, Equatable {
        public var id: String
        public var title: String
        public var undo: [UndoAction]
        /// What the install relies on from this step (see `Step.uses`); nil in older state files.
        public var uses: [String]?

        public init(id: String, title: String, undo: [UndoAction], uses: [String]? = nil) {
            self.id = id
            self.title = title
            self.undo = undo
            self.uses = uses
        }
    }
    public struct Record: Sendable, Codable, Equatable {
        /// Stable number for `uninstall ID` (older state files: assigned on load, in order).
        public var id: Int?
        public var method: InstallMethod
        public var kernel: String
        public var steps: [StepRecord]
        /// dkms: what was built (repository + branch + commit, or directory + digest).
        public var source: String?

        /// Everything this record relies on or would take away.
        public var resources: Set<String> {
            Set(steps.flatMap { ($0.uses ?? []) + $0.undo.flatMap(\.resources) })
        }
    }

    public var schema = "aufsctl.state/1"
    public var installs: [Record] = []
    /// What `aufsctl persist` and `aufsctl helper install` wrote (see UnionRecord); nil in older files.
    public var unions: [UnionRecord]?

    public static let path = "/var/lib/aufsctl/state.json"

    public init() {}

    public static func load(root: HostRoot) throws -> InstallState {
        // The undo commands in the state file run as root: never read one another user could write.
        let p = root.resolve(path)
        var st = stat()
        if lstat(p, &st) == 0 {
            try RuntimeDir.ensurePrivate(Paths.dirname(p), what: "the install state")
            if st.st_mode & S_IFMT != S_IFREG || st.st_uid != geteuid() || st.st_mode & 0o022 != 0 {
                throw AufsError(
                    "\(path) is not a regular file of uid \(geteuid()) writable only by it; refusing to run undo "
                        + "commands from it: inspect it, then fix its owner and mode or move it aside"
                )
            }
        }
        switch FileRead.text(root.resolve(path)) {
        case .missing: return InstallState()
        case .ok(let t):
            do {
                var state = try JSONDecoder().decode(InstallState.self, from: Data(t.utf8))
                for i in state.installs.indices where state.installs[i].id == nil {
                    state.installs[i].id = state.nextID
                }
                return state
            } catch {
                throw AufsError(
                    "\(path) is not a state file aufsctl can read (\(error)); move it aside to start afresh")
            }
        case .denied: throw AufsError("\(path): permission denied (install and uninstall need root)")
        case .failed(let why): throw AufsError("\(path): \(why)")
        }
    }

    /// Writes the state; with nothing left to undo, removes the file instead (a host aufsctl has
    /// fully uninstalled from looks like one it never touched, and `check` decodes no JSON).
    public func save(root: HostRoot) throws {
        let p = root.resolve(InstallState.path)
        if installs.isEmpty && (unions ?? []).isEmpty {
            if unlink(p) != 0 && errno != ENOENT { throw AufsError("\(InstallState.path): \(SysErrno(errno))") }
            return
        }
        let enc = JSONText.encoder()
        // Root's own, 0700: the undo commands in it run as root.
        try AtomicFile.makeDirectories(Paths.dirname(Paths.dirname(p)))
        try RuntimeDir.ensurePrivate(Paths.dirname(p), what: "the install state")
        try AtomicFile.write(p, Array(try enc.encode(self)) + [10], mode: 0o600)
    }

    /// Adds undo actions for a step to the record for method+kernel (creating the record and the
    /// step's entry; actions already recorded for the step are not repeated).
    public mutating func record(method: InstallMethod, kernel: String, step: StepRecord) {
        guard let i = installs.lastIndex(where: { $0.method == method && $0.kernel == kernel }) else {
            installs.append(Record(id: nextID, method: method, kernel: kernel, steps: [step], source: nil))
            return
        }
        if let last = installs[i].steps.indices.last, installs[i].steps[last].id == step.id {
            for u in step.undo where !installs[i].steps[last].undo.contains(u) {
                installs[i].steps[last].undo.append(u)
            }
            if let uses = step.uses {
                let had = installs[i].steps[last].uses ?? []
                installs[i].steps[last].uses = had + uses.filter { !had.contains($0) }
            }
        } else if let uses = step.uses, step.undo.isEmpty,
            installs[i].steps.contains(where: { $0.id == step.id && Set($0.uses ?? []).isSuperset(of: uses) })
        {
            return  // a re-run of a done step: already recorded as used
        } else {
            installs[i].steps.append(step)
        }
    }

    var nextID: Int { (installs.compactMap(\.id).max() ?? 0) + 1 }
}

/// The state file as a write-ahead journal: a step records how to undo a change (and the state
/// is saved) *before* it makes the change, so a crash between the two loses no undo.
public final class StateJournal: @unchecked Sendable {
    public private(set) var state: InstallState
    let root: HostRoot
    let method: InstallMethod
    let kernel: String
    var step: (id: String, title: String)?

    init(state: InstallState, root: HostRoot, method: InstallMethod, kernel: String) {
        self.state = state
        self.root = root
        self.method = method
        self.kernel = kernel
    }

    func add(_ undo: [UndoAction], uses: [String]? = nil) throws {
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

    func flushUses() throws {
        guard !pendingUses.isEmpty else { return }
        flushPending()
        try state.save(root: root)
    }

    /// Records what the install built from (its provenance) on its record.
    func setSource(_ source: String) throws {
        guard let i = state.installs.lastIndex(where: { $0.method == method && $0.kernel == kernel }),
            state.installs[i].source != source
        else { return }
        state.installs[i].source = source
        try state.save(root: root)
    }

    /// A step that was already done: recorded only for what it declares it uses.
    func use(id: String, title: String, _ uses: [String]) throws {
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
