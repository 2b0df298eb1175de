// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct UbuntuExtraPlanTests {
    @Test func packageNames() {
        #expect(
            UbuntuExtraMethod.package(for: KernelRelease("5.4.0-42-generic")!) == "linux-modules-extra-5.4.0-42-generic"
        )
        #expect(
            UbuntuExtraMethod.package(for: KernelRelease("4.4.0-210-generic")!) == "linux-image-extra-4.4.0-210-generic"
        )
    }

    @Test func freshThenRerun() async throws {
        let t = copyFixture("ubuntu2004")
        let runner = FakeDebian(root: t.path, kver: "5.4.0-42-generic", symvers: "")
        var o = InstallOptions()
        o.method = .ubuntuExtra
        let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
        #expect(plan.steps.map(\.id) == ["package", "persist"])  // a root tree: nothing is loaded into this kernel
        let report = try await Executor(printer: { _ in }).run(
            plan, context: installer.context(facts, o), dryRun: false)
        #expect(
            runner.mutating == ["apt-get install -y -o DPkg::Lock::Timeout=600 linux-modules-extra-5.4.0-42-generic"])
        #expect(report.exitCode.rawValue == 0)
        let again = try await Executor(printer: { _ in }).run(plan, context: installer.context(facts, o), dryRun: false)
        #expect(again.steps.allSatisfy { $0.status == .ok })
        #expect(runner.mutating.count == 1)
    }
}
