// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// `aufsctl uninstall --list --json` (aufsctl.records/1): what install, persist and helper install
/// recorded, for tools. A shape of its own, documented as stable, so that the state file's may
/// change; undo actions are given in words.
public struct RecordsReport: Sendable, Codable, Equatable {
    public struct Step: Sendable, Codable, Equatable {
        public var id: String
        public var title: String
        public var undo: [String]
    }
    public struct Install: Sendable, Codable, Equatable {
        /// For `aufsctl uninstall ID`.
        public var id: Int
        public var method: String
        public var kernel: String
        public var source: String?
        public var steps: [Step]
    }
    public struct Union: Sendable, Codable, Equatable {
        /// `persist` or `helper`.
        public var kind: String
        public var target: String?
        public var via: String?
        public var undo: [String]
    }

    public var schema = "aufsctl.records/1"
    public var installs: [Install]
    public var unions: [Union]

    public init(_ state: InstallState) {
        installs = state.installs.map { r in
            Install(
                id: r.id ?? 0, method: r.method.rawValue, kernel: r.kernel, source: r.source,
                steps: r.steps.map { Step(id: $0.id, title: $0.title, undo: $0.undo.map(\.description)) })
        }
        unions = (state.unions ?? []).map {
            Union(kind: $0.kind.rawValue, target: $0.target, via: $0.via, undo: $0.undo.map(\.description))
        }
    }
}
