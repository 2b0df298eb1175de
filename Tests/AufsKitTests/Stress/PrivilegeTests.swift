// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// As nobody (setpriv --reuid=65534 --regid=65534 --clear-groups): check works; mount and install
/// refuse saying root is needed, and nothing changes.
@Suite(.enabled(if: isRoot, "needs root to drop privileges with setpriv"))
struct PrivilegeTests {
    @Test func checkWorksAsNobody() async throws {
        let r = try await aufsctl(["check", "--json"], asUser: 65534)
        #expect([0, 3, 4].contains(r.status), "\(r.stderr)")
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(r.stdout.utf8))
        #expect(report.facts.user.root == false)
        let plain = try await aufsctl(["check"], asUser: 65534)
        #expect(
            [0, 3, 4].contains(plain.status) && plain.stdout.contains("verdict"), "\(plain.stdout)\n\(plain.stderr)")
    }

    @Test func mountRefusesAsNobody() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        for n in ["up", "lo", "mnt"] { makeDir(d + "/" + n) }
        let before = mountinfo()
        let r = try await aufsctl(
            ["mount", "--fallback", "overlay", "dirs=\(d)/up=rw:\(d)/lo=ro", d + "/mnt"], asUser: 65534)
        #expect(r.status != 0)
        #expect(r.stderr.contains("needs root"), "\(r.stderr)")
        expectMountinfoUnchanged(before, mountinfo(), concerning: d)
        #expect(FileRead.list(d)?.sorted() == ["lo", "mnt", "up"], "something was created: \(FileRead.list(d) ?? [])")
        #expect(FileRead.list(d + "/up") == [])
    }

    @Test func installRefusesAsNobody() async throws {
        let t = try await stubCentOSRoot()
        let root = t.path
        chmod(root, 0o755)
        let grub = FileRead.string(root + "/etc/default/grub")
        let sysconfig = FileRead.string(root + "/etc/sysconfig/kernel")
        let r = try await aufsctl(installArgs + ["--root", root], asUser: 65534)
        #expect(r.status != 0 && r.status != 5)
        #expect(r.stderr.contains("needs root"), "\(r.stderr)")
        #expect(FileRead.string(root + "/etc/default/grub") == grub)
        #expect(FileRead.string(root + "/etc/sysconfig/kernel") == sysconfig)
        #expect(!FileRead.exists(root + "/var/lib/aufsctl/state.json"))
        #expect(!FileRead.exists(root + "/etc/yum.repos.d/kernel-ml-aufs.repo"))
        #expect(FileRead.string(root + "/var/log/stub-calls") == nil)
        let un = try await aufsctl(["uninstall", "--yes", "--root", root], asUser: 65534)
        #expect(un.status != 0 && un.stderr.contains("needs root"), "\(un.stderr)")
    }
}
