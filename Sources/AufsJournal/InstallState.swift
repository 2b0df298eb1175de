// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem
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
        public var uses: [Resource]?

        public init(id: String, title: String, undo: [UndoAction], uses: [Resource]? = nil) {
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

        public init(id: Int?, method: InstallMethod, kernel: String, steps: [StepRecord], source: String?) {
            self.id = id
            self.method = method
            self.kernel = kernel
            self.steps = steps
            self.source = source
        }

        /// Everything this record relies on or would take away.
        public var resources: Set<Resource> {
            Set(steps.flatMap { ($0.uses ?? []) + $0.undo.flatMap(\.resources) })
        }
    }

    /// /2 adds typed undo actions (aptRemove, dkmsRemove, relink, moveBack); /1 files are read
    /// and their plain commands read as those.
    public var schema = InstallState.schemaWritten
    public static let schemaWritten = "aufsctl.state/2"
    static let schemasRead: Set<String> = ["aufsctl.state/1", "aufsctl.state/2"]
    public var installs: [Record] = []
    /// What `aufsctl persist` and `aufsctl helper install` wrote (see UnionRecord); nil in older files.
    public var unions: [UnionRecord]?

    public static let path = "/var/lib/aufsctl/state.json"

    public init() {}

    public static func load(root: HostRoot) throws -> InstallState {
        // The undo commands in the state file run as root: never read one another user could write.
        // The last two components as named: a planted symlink there is seen, never followed.
        let p = root.resolve(path, keepingLast: 2)
        var st = stat()
        // The directory as named, whether or not a file is behind it: a symlink there is refused.
        if lstat(Paths.dirname(p), &st) == 0 {
            try RuntimeDir.ensurePrivate(Paths.dirname(p), what: "the install state")
        }
        if lstat(p, &st) == 0 {
            try RuntimeDir.ensurePrivate(Paths.dirname(p), what: "the install state")
            if st.st_mode & S_IFMT != S_IFREG || st.st_uid != geteuid() || st.st_mode & 0o022 != 0 {
                throw AufsError(
                    "\(path) is not a regular file of uid \(geteuid()) writable only by it; refusing to run undo "
                        + "commands from it: inspect it, then fix its owner and mode or move it aside"
                )
            }
        }
        switch FileRead.text(p) {
        case .missing: return InstallState()
        case .ok(let t):
            do {
                var state = try JSONDecoder().decode(InstallState.self, from: Data(t.utf8))
                guard InstallState.schemasRead.contains(state.schema) else {
                    throw AufsError(
                        "\(path) is a state file of schema \(state.schema), which this aufsctl cannot read (it reads "
                            + "\(InstallState.schemasRead.sorted().joined(separator: ", "))): use the aufsctl that "
                            + "wrote it"
                    )
                }
                state.schema = InstallState.schemaWritten
                state.typeUndoActions()
                for i in state.installs.indices where state.installs[i].id == nil {
                    state.installs[i].id = state.nextID
                }
                return state
            } catch let e as AufsError {
                throw e
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
        let p = root.resolve(InstallState.path, keepingLast: 2)
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

    public var nextID: Int { (installs.compactMap(\.id).max() ?? 0) + 1 }
}

extension InstallState {
    /// Older files recorded apt, dkms, ln and mv undos as plain argv: read them as typed actions.
    mutating func typeUndoActions() {
        for i in installs.indices {
            for j in installs[i].steps.indices { installs[i].steps[j].undo = installs[i].steps[j].undo.map(\.typed) }
        }
        for i in (unions ?? []).indices { unions![i].undo = unions![i].undo.map(\.typed) }
    }
}
