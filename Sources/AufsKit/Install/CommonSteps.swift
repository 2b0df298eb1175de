// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Steps several methods share.
enum CommonSteps {
    static let modulesLoad = "/etc/modules-load.d/aufs.conf"

    /// `/etc/modules-load.d/aufs.conf`, so aufs loads at boot.
    static func persist() -> Step {
        let content = (try? Template.render("modules-load-aufs.conf", [:])) ?? "aufs\n"
        return Step(
            id: "persist", title: "Load aufs at boot (\(modulesLoad))",
            actions: [.writeFile(.init(path: modulesLoad, content: content))])
    }

    /// Loads aufs into the running kernel through libkmod and checks /proc/filesystems.
    static func load() -> Step {
        Step(
            id: "load", title: "Load aufs through libkmod and verify /proc/filesystems", actions: [.loadModule(.init())]
        )
    }
}
