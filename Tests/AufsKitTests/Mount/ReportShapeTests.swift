// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// The JSON shapes tools read: a branch is `{"path", "permission", "filesystem"?}` in every
/// schema (mount/2, status/2), and the mount report's calls are data (syscall, arguments).
@Suite struct ReportShapeTests {
    /// What a tool that does not know aufsctl's types reads: plain strings, lists and flags.
    struct RawBranch: Decodable {
        var path: String
        var permission: String
        var filesystem: String?
    }
    struct RawCall: Decodable {
        var syscall: String
        var source, target, fstype, data: String?
        var flags: [String]?
    }
    struct RawStatus: Decodable {
        struct Mount: Decodable {
            var branches: [RawBranch]
            var readOnly: Bool
        }
        var schema: String
        var mounts: [Mount]
    }
    struct RawMount: Decodable {
        var schema: String
        var branches: [RawBranch]
        var calls: [RawCall]
    }

    func encodeJSON<T: Encodable>(_ v: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(v), as: UTF8.self)
    }

    @Test func statusBranchesAreObjectsAndReadOnlyIsSaid() throws {
        let m = UnionMount(
            target: "/srv/u", filesystem: .aufs, branches: ["/srv/rw=rw", "/srv/ro=ro+wh"], xino: nil, si: "1",
            workdir: nil, options: "ro,si=1", readOnly: true)
        let text = try encodeJSON(StatusReport(mounts: [m]))
        let doc = try JSONDecoder().decode(RawStatus.self, from: Data(text.utf8))
        #expect(doc.schema == "aufsctl.status/2")
        let mount = try #require(doc.mounts.first)
        #expect(mount.branches.map(\.path) == ["/srv/rw", "/srv/ro"])
        #expect(mount.branches.map(\.permission) == ["rw", "ro+wh"])
        #expect(mount.readOnly)
        #expect(try JSONDecoder().decode(StatusReport.self, from: Data(text.utf8)).mounts == [m])
    }

    @Test func mountReportCallsAreDataAndBranchesHaveTheSameShape() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["rw", "ro", "mnt"] { makeDir(d + "/" + n) }
        // A read-only mount (-o ro): MS_RDONLY, and the rw branch goes to the kernel as ro.
        let aufs = try await aufsctl([
            "mount", "--json", "-f", "-o", "ro,udba=notify", "dirs=\(d)/rw:\(d)/ro=ro", d + "/mnt",
        ])
        try #require(aufs.status == 0, "\(aufs.stderr)")
        let doc = try JSONDecoder().decode(RawMount.self, from: Data(aufs.stdout.utf8))
        #expect(doc.schema == "aufsctl.mount/2")
        let branch = try #require(doc.branches.first)
        #expect(branch.path == d + "/rw" && branch.permission == "ro" && branch.filesystem != nil)
        let call = try #require(doc.calls.first)
        #expect(call.syscall == "mount" && call.fstype == "aufs")
        #expect(call.source == "none" && call.target == d + "/mnt")
        #expect(call.flags == ["MS_RDONLY"])
        #expect(call.data?.hasPrefix("br=\(d)/rw=ro:\(d)/ro=ro,udba=notify,xino=") == true, "\(call)")

        let overlay = try await aufsctl([
            "mount", "--json", "--dry-run", "--fallback", "overlay", "dirs=\(d)/rw:\(d)/ro=ro", d + "/mnt",
        ])
        let report = try JSONDecoder().decode(MountReport.self, from: Data(overlay.stdout.utf8))
        if report.filesystem == .overlay {  // aufs is missing here (always, on the test machines)
            #expect(
                report.calls.map(\.syscall) == [
                    "fsopen", "fsconfig", "fsconfig", "fsconfig", "fsconfig", "fsmount",
                    "move_mount",
                ])
            // The layers go by the fds they were checked on (by path where the kernel takes none).
            #expect(report.calls[1].command == "FSCONFIG_SET_FD" && report.calls[1].key == "lowerdir+")
            #expect(report.calls[1].value == d + "/ro")
            #expect(report.calls[3].key == "workdir" && report.calls[3].value == d + "/.aufsctl-work.rw")
            #expect(report.legacyCalls?.map(\.syscall) == ["mount"])
            #expect(
                report.legacyCalls?.first?.data == "lowerdir=\(d)/ro,upperdir=\(d)/rw,workdir=\(d)/.aufsctl-work.rw")
            let human = try await aufsctl([
                "mount", "-f", "--fallback", "overlay", "dirs=\(d)/rw:\(d)/ro=ro", d + "/mnt",
            ])
            #expect(human.stdout.contains("  fsopen(\"overlay\") + 3 fsconfig(FSCONFIG_SET_FD, ...) + fsmount"))
            #expect(human.stdout.contains("or, where the kernel's overlay takes no layer fds (before 6.13)"))
            #expect(human.stdout.contains("or, where the kernel lacks fsconfig lowerdir+"))
        }
    }

    @Test func aPermissionIsAStringAndIsCheckedWhenRead() throws {
        let text = try encodeJSON(BranchPermission(base: .ro, attributes: ["wh"]))
        #expect(text == "\"ro+wh\"")
        #expect(
            try JSONDecoder().decode(BranchPermission.self, from: Data("\"rr+unpin\"".utf8)).description == "rr+unpin")
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(BranchPermission.self, from: Data("\"rx\"".utf8))
        }
    }
}
