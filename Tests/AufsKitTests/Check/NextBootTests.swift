// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct NextBootTests {
    @Test func versionOrderIsGrubs() {
        #expect(
            NextBoot.newestFirst(["5.4.0-42-generic", "5.4.0-100-generic", "5.4.0-9-generic"])
                == ["5.4.0-100-generic", "5.4.0-42-generic", "5.4.0-9-generic"])
        #expect(
            NextBoot.newestFirst(["5.10.0-28-amd64", "5.10.218-aufstest", "6.1.0-57-cloud-amd64"]).first
                == "6.1.0-57-cloud-amd64")
    }

    @Test func entryNamesAnInstalledRelease() {
        let installed = ["6.1.0-5-amd64", "6.1.0-57-cloud-amd64"]
        #expect(
            NextBoot.release(in: "gnulinux-advanced-x>gnulinux-6.1.0-57-cloud-amd64-advanced-x", among: installed)
                == "6.1.0-57-cloud-amd64")
        #expect(NextBoot.release(in: "Debian GNU/Linux, with Linux 6.1.0-5-amd64", among: installed) == "6.1.0-5-amd64")
        #expect(NextBoot.release(in: "/boot/vmlinuz-5.13.1-1.el7.x86_64", among: installed) == nil)
    }

    static func probe(_ t: TempDir) async throws -> (HostFacts, CheckReport) {
        let f = try await HostProbe(root: HostRoot(t.path), runner: ScriptedRunner()).probe()
        return (f, CheckReport(root: HostRoot(t.path), facts: f))
    }

    /// aufs.ko is here for the running 5.4.0-42; a newer kernel without it is the GRUB default.
    @Test func upgradeWithoutAufsIsSaid() async throws {
        let t = copyFixture("ubuntu2004")
        t.write("boot/vmlinuz-5.4.0-42-generic", "")
        t.write("boot/vmlinuz-5.4.0-100-generic", "")
        t.mkdirs(t.path + "/usr/lib/modules/5.4.0-100-generic")
        let (f, report) = try await Self.probe(t)
        #expect(f.nextBoot.release == "5.4.0-100-generic" && f.nextBoot.aufs == false, "\(f.nextBoot)")
        #expect(report.verdict.state == .loadable)
        #expect(report.warnings.contains { $0.contains("the next boot starts 5.4.0-100-generic, which has no aufs") })
        #expect(report.human(style: TextStyle(color: false)).contains("next boot           5.4.0-100-generic, NO aufs"))
        // The per-kernel table: both kernels, newest first, the next boot's lacking aufs said; --strict
        // makes the warning an exit 3 when aufs would otherwise be usable.
        #expect(f.kernels.map(\.kernel) == ["5.4.0-100-generic", "5.4.0-42-generic"])
        #expect(f.kernels.first?.nextBoot == true && f.kernels.first?.installed == false)
        #expect(f.kernels.last?.running == true && f.kernels.last?.installed == true)
        let table = report.human(style: TextStyle(color: false))
        #expect(table.contains("kernel                      headers  branch"), "\(table)")
        #expect(table.contains("5.4.0-100-generic           no       aufs5.4  no     no         -       yes, NO aufs"))
        var usable = f
        usable.filesystems.aufs = true
        #expect(CheckReport(root: HostRoot(t.path), facts: usable).exitCode == .success)
        #expect(CheckReport(root: HostRoot(t.path), facts: usable, strict: true).exitCode == .installable)

        // GRUB_DEFAULT=saved with the running kernel saved: no warning.
        t.write("etc/default/grub", "GRUB_DEFAULT=saved\n")
        t.write(
            "boot/grub/grubenv",
            "# GRUB Environment Block\nsaved_entry=gnulinux-advanced-1>gnulinux-5.4.0-42-generic-advanced-1\n")
        let (g, saved) = try await Self.probe(t)
        #expect(g.nextBoot.release == "5.4.0-42-generic" && g.nextBoot.aufs == true, "\(g.nextBoot)")
        #expect(!saved.warnings.contains { $0.contains("next boot") })
    }
}
