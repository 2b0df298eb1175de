// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Method ubuntu-extra (Ubuntu <= 20.10): aufs ships in the kernel's extra-modules package.
public enum UbuntuExtraMethod {
    /// `linux-modules-extra-KVER` since 4.15-era packaging, `linux-image-extra-KVER` before.
    public static func package(for k: KernelRelease) -> String {
        (k.major, k.minor) >= (4, 15) ? "linux-modules-extra-\(k.string)" : "linux-image-extra-\(k.string)"
    }

    public static func plan(_ facts: HostFacts, options o: InstallOptions, root: HostRoot) throws -> Plan {
        let k = facts.kernel.release
        let pkg = package(for: k)
        let running = facts.kernel.running
        var steps = [
            Step(
                id: "package", title: "apt-get install \(pkg)",
                actions: [
                    .command(
                        .init(
                            ["apt-get", "install", "-y"] + AptLock.options + [pkg], done: .debPackagesInstalled([pkg]),
                            undo: .aptRemove(packages: [pkg]), environment: ["DEBIAN_FRONTEND": "noninteractive"],
                            streaming: true))
                ])
        ]
        steps.append(CommonSteps.persist())
        if running && !o.noLoad && root.isHost { steps.append(CommonSteps.load()) }
        return Plan(
            method: .ubuntuExtra, target: .kernel(k.string), steps: steps, rebootRequired: false, afterwards: [])
    }
}
