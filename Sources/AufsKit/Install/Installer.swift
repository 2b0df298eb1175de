// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `aufsctl install`: facts -> the method's plan -> apply (or print it, or render it as sh).
public struct Installer {
    public var root: HostRoot
    public var runner: any CommandRunner
    public var syscalls: any Syscalls

    public init(
        root: HostRoot, runner: any CommandRunner = SubprocessRunner(), syscalls: any Syscalls = LinuxSyscalls()
    ) {
        self.root = root
        self.runner = runner
        self.syscalls = syscalls
    }

    public enum Decision {
        case plan(Plan, HostFacts)
        /// Nothing to install (aufs usable or already loadable), or no method works here.
        case stop(message: String, waysOut: [String], exitCode: AufsExitCode)
    }

    public func decide(_ o: InstallOptions) async throws -> Decision {
        let facts = try await HostProbe(root: root, syscalls: syscalls, runner: runner).probe(kernel: o.kernel)
        let verdict = Verdict.decide(facts)
        let method: InstallMethod
        if let m = o.method {
            method = m
        } else if o.allKernels {
            method = .dkms  // every installed kernel, the running one's state aside
        } else {
            switch verdict.state {
            case .usable:
                return .stop(
                    message: "aufs is already usable here (\(verdict.reason)); nothing to install", waysOut: [],
                    exitCode: .success)
            case .loadable:
                return .stop(
                    message: "the aufs module is installed (\(verdict.reason)); nothing to install",
                    waysOut: ["`aufsctl load` loads it now"], exitCode: .success)
            case .blocked:
                return .stop(
                    message: "no install method works here: \(verdict.reason)", waysOut: verdict.waysOut,
                    exitCode: .blocked)
            case .installable:
                guard let m = verdict.method else {
                    return .stop(message: verdict.reason, waysOut: verdict.waysOut, exitCode: .installable)
                }
                method = m
            }
        }
        let plan: Plan
        switch method {
        case .dkms: plan = try DKMSMethod.plan(facts, options: o, root: root)
        case .kernelMLAufs: plan = try KernelMLAufsMethod.plan(facts, options: o, root: root)
        case .ubuntuExtra: plan = try UbuntuExtraMethod.plan(facts, options: o, root: root)
        }
        return .plan(plan, facts)
    }

    public func context(_ facts: HostFacts, _ o: InstallOptions) -> InstallContext {
        InstallContext(
            root: root, runner: runner, syscalls: syscalls, options: o,
            dkmsStatus: root.isHost ? facts.dkms.entries : nil)
    }
}
