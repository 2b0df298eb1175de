// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

/// Shell completions computed when TAB is pressed (the bash, zsh and fish scripts of
/// `--generate-completion-script` run `aufsctl ---completion ...` for these).
enum Completions {
    /// The live unions' mount points (aufs and aufsctl's overlays), for umount, status, branch,
    /// plink and persist.
    static let liveTargets = CompletionKind.custom { _, _, prefix in
        let targets = (try? StatusReader().read())?.mounts.map(\.target) ?? []
        return targets.filter { $0.hasPrefix(prefix) }
    }

    /// persist's TARGET: the live unions, and the ones persist recorded (`--remove`; root only).
    static let persistTargets = CompletionKind.custom { _, _, prefix in
        let live = (try? StatusReader().read())?.mounts.map(\.target) ?? []
        let persisted = (try? Persister().list())?.unions.map(\.target) ?? []
        var seen = Set<String>()
        return (live + persisted).filter { $0.hasPrefix(prefix) && seen.insert($0).inserted }
    }

    /// The kernels with a module tree, for --kernel.
    static let kernels = CompletionKind.custom { _, _, prefix in
        (FileRead.list("/lib/modules") ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }
}
