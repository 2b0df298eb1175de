// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

/// Shell completions computed when TAB is pressed (the bash, zsh and fish scripts of
/// `--generate-completion-script` run `aufsctl ---completion ...` for these).
enum Completions {
    /// The live unions' mount points (aufs and aufsctl's overlays), for umount, status, branch,
    /// plink and persist: from mountinfo only (no aufs sysfs read on a TAB).
    static let liveTargets = CompletionKind.custom { _, _, prefix in
        StatusReader().targets().filter { $0.hasPrefix(prefix) }
    }

    /// convert's UNION: a live union's mount point, or a branch directory.
    static let unionsAndDirectories = CompletionKind.custom { _, _, prefix in
        let dir = prefix.contains("/") ? String(prefix[...prefix.lastIndex(of: "/")!]) : ""
        let names = (FileRead.list(dir.isEmpty ? "." : dir) ?? []).map { dir + $0 + "/" }
        let directories = names.filter { $0.hasPrefix(prefix) && FileRead.isDirectory($0) }.sorted()
        return StatusReader().targets().filter { $0.hasPrefix(prefix) } + directories
    }

    /// persist's TARGET: the live unions, and the ones persist recorded (`--remove`; root only).
    static let persistTargets = CompletionKind.custom { _, _, prefix in
        let live = StatusReader().targets()
        let persisted = (try? Persister().list())?.unions.map(\.target) ?? []
        var seen = Set<String>()
        return (live + persisted).filter { $0.hasPrefix(prefix) && seen.insert($0).inserted }
    }

    /// The kernels with a module tree, for --kernel.
    static let kernels = CompletionKind.custom { _, _, prefix in
        (FileRead.list("/lib/modules") ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }
}
