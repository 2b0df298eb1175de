// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsJournal
@testable import AufsKit

/// The state file is versioned: files of schema 1 (plain argv for apt, dkms, ln and mv undos, and
/// resources as strings) read as typed actions; a schema this version does not know is refused.
@Suite struct InstallStateTests {
    func write(_ t: TempDir, _ json: String) throws {
        try RuntimeDir.ensurePrivate(t.path + "/var/lib/aufsctl", what: "test")
        try AtomicFile.write(t.path + InstallState.path, json, mode: 0o600)
    }

    @Test func schema1ReadsAsTypedActions() throws {
        let t = TempDir()
        try write(
            t,
            """
            {"schema":"aufsctl.state/1","installs":[{"method":"dkms","kernel":"k","steps":[
              {"id":"packages","title":"p","undo":[{"command":{"argv":["apt-get","remove","-y","dkms","git"]}}],
               "uses":["packages:apt"]},
              {"id":"dkms-add","title":"a","undo":[{"command":{"argv":["dkms","remove","aufs/6.1","--all"]}}],
               "uses":["dkms:aufs/6.1","file:/etc/modules-load.d/aufs.conf"]},
              {"id":"dkms-install","title":"i","undo":[{"command":{"argv":["dkms","remove","aufs/6.1","-k","k"]}}]},
              {"id":"kernel","title":"y","undo":[{"command":{"argv":["yum","remove","-y","kernel-ml-aufs"]}}]}]}],
             "unions":[{"kind":"helper","undo":[{"command":{"argv":["mv","-f","/sbin/mount.aufs.aufsctl-saved",
               "/sbin/mount.aufs"]}},{"command":{"argv":["ln","-sfn","/old/aufsctl","/sbin/umount.aufs"]}}]}]}
            """)
        let state = try InstallState.load(root: HostRoot(t.path))
        let undo = state.installs[0].steps.flatMap(\.undo)
        #expect(
            undo == [
                .aptRemove(packages: ["dkms", "git"]), .dkmsRemove(module: "aufs/6.1", kernel: nil),
                .dkmsRemove(module: "aufs/6.1", kernel: "k"),
                .command(argv: ["yum", "remove", "-y", "kernel-ml-aufs"]),
            ])
        #expect(
            state.installs[0].resources
                == [.aptPackages, .dkmsModule("aufs/6.1"), .file("/etc/modules-load.d/aufs.conf")])
        #expect(
            state.unions?[0].undo
                == [
                    .moveBack(saved: "/sbin/mount.aufs.aufsctl-saved", path: "/sbin/mount.aufs"),
                    .relink(path: "/sbin/umount.aufs", target: "/old/aufsctl"),
                ])
        #expect(state.schema == "aufsctl.state/2")
        // Written back in the new schema, with the resources in their stored form.
        try state.save(root: HostRoot(t.path))
        let text = FileRead.string(t.path + InstallState.path) ?? ""
        #expect(text.contains("\"aufsctl.state/2\"") && text.contains("\"packages:apt\""))
        #expect(try InstallState.load(root: HostRoot(t.path)) == state)
    }

    @Test func unknownSchemaRefused() throws {
        let t = TempDir()
        try write(t, "{\"schema\":\"aufsctl.state/9\",\"installs\":[]}\n")
        #expect {
            try InstallState.load(root: HostRoot(t.path))
        } throws: { ($0 as? AufsError)?.message.contains("schema aufsctl.state/9") == true }
    }
}
