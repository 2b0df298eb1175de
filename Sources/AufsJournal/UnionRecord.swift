// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem
import Glibc

/// A change `aufsctl persist` or `aufsctl helper install` made, recorded in the state file
/// next to install's records and undone by `persist --remove`, `helper remove` or `uninstall`.
public struct UnionRecord: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case persist, helper, whiteouts }
    public var kind: Kind
    /// persist: the union's mount point.
    public var target: String?
    /// persist: `systemd-unit NAME` or `fstab`.
    public var via: String?
    /// Undone newest first.
    public var undo: [UndoAction]
    /// Shared resources it relies on (`file:/etc/modules-load.d/aufs.conf`).
    public var uses: [Resource]?

    public init(kind: Kind, target: String? = nil, via: String? = nil, undo: [UndoAction], uses: [Resource]? = nil) {
        self.kind = kind
        self.target = target
        self.via = via
        self.undo = undo
        self.uses = uses
    }

    public var summary: String {
        switch kind {
        case .persist: return "persist \(target ?? "?") (\(via ?? "?"))"
        case .helper: return "helper links"
        case .whiteouts: return "whiteouts dropped from \(target ?? "?") (\(undo.count))"
        }
    }
}

/// Applying and undoing union records (file actions only, plus `systemctl daemon-reload`).
public struct UnionRecords {
    public var root: HostRoot
    public var printer: @Sendable (String) -> Void
    public init(root: HostRoot = HostRoot(), printer: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.root = root
        self.printer = printer
    }

    /// Undoes the records `select` picks (newest first) and saves the state after each.
    @discardableResult
    public func undo(where select: (UnionRecord) -> Bool, dryRun: Bool, runner: any CommandRunner) async throws -> Int {
        var state = try InstallState.load(root: root)
        var undone = 0
        while let i = (state.unions ?? []).lastIndex(where: select) {
            let r = state.unions![i]
            printer((dryRun ? "would undo " : "undoing ") + r.summary)
            // What another record (install or union) still uses stays.
            let others =
                state.installs.flatMap { $0.resources }
                + state.unions!.enumerated()
                .filter { $0.offset != i }.flatMap { $0.element.uses ?? [] }
            for action in r.undo.reversed() {
                if !Set(action.resources).isDisjoint(with: others), case .removeFile = action {
                    // Handed to the newest other union record that uses it, so the last user removes it.
                    if let heir = state.unions!.indices.last(where: {
                        $0 != i
                            && !Set(state.unions![$0].uses ?? [])
                                .isDisjoint(with: action.resources)
                    }) {
                        state.unions![heir].undo.insert(action, at: 0)
                    }
                    printer("  kept (another record still uses it): \(action.description)")
                    continue
                }
                printer("  " + (dryRun ? "would " : "") + action.description)
                if !dryRun { try await perform(action, runner: runner) }
            }
            state.unions!.remove(at: i)
            if state.unions!.isEmpty { state.unions = nil }
            if !dryRun { try state.save(root: root) }
            undone += 1
        }
        return undone
    }

    func perform(_ action: UndoAction, runner: any CommandRunner) async throws {
        try await Uninstaller(printer: printer).perform(action, root: root, runner: runner)
    }

    /// Appends a record (written before the change is made, so a crash loses no undo).
    public func record(_ r: UnionRecord) throws -> Int {
        var state = try InstallState.load(root: root)
        state.unions = (state.unions ?? []) + [r]
        try state.save(root: root)
        return state.unions!.count - 1
    }

    /// Replaces the newest record matching `select`.
    public func update(_ r: UnionRecord, where select: (UnionRecord) -> Bool) throws {
        var state = try InstallState.load(root: root)
        guard let i = (state.unions ?? []).lastIndex(where: select) else { return }
        state.unions![i] = r
        try state.save(root: root)
    }

    public func records() throws -> [UnionRecord] { try InstallState.load(root: root).unions ?? [] }

    /// Copies `abs` to /var/lib/aufsctl/backups before a change; returns the backup's path.
    public func backup(_ abs: String) throws -> String { try Backups(root: root).copy(abs) }
}
