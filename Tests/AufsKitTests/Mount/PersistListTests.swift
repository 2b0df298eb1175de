// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// `persist --list --json` and `uninstall --list --json`: what tools read instead of the state file,
/// the units and fstab.
@Suite struct PersistListTests {
    @Test func theListReadsTheUnitAndTheFstabLineAsTheyAreNow() async throws {
        let t = TempDir()
        let p = Persister(root: HostRoot(t.path), printer: { _ in })
        try await p.apply(
            PersistSpec(
                target: "/srv/a%b/mnt", branches: ["/srv/a%b/c=rw", "/srv/i1=ro+wh"], xino: "/x/y.xino",
                options: ["udba=notify", "x-aufsctl.fallback=overlay"]),
            via: .systemd)
        try await p.apply(
            PersistSpec(
                target: "/srv/walk x/mnt", branches: ["/srv/walk x/c=rw", "/srv/walk x/i=rr"], options: ["ro"]),
            via: .fstab)
        let r = try p.list()
        #expect(r.schema == "aufsctl.persist/1")
        let unit = try #require(r.unions.first { $0.target == "/srv/a%b/mnt" })
        #expect(unit.via == "systemd-unit srv-a\\x25b-mnt.mount")
        #expect(unit.file == "/etc/systemd/system/srv-a\\x25b-mnt.mount")
        #expect(
            unit.branches == [
                BranchEntry(path: "/srv/a%b/c", permission: "rw"), BranchEntry(path: "/srv/i1", permission: "ro+wh"),
            ])
        #expect(unit.xino == "/x/y.xino" && unit.options == ["udba=notify"] && unit.fallback == "overlay")
        let line = try #require(r.unions.first { $0.target == "/srv/walk x/mnt" })
        #expect(line.via == "fstab" && line.file == "/etc/fstab")
        #expect(line.branches?.map(\.spec) == ["/srv/walk x/c=rw", "/srv/walk x/i=rr"])
        #expect(line.options == ["ro"] && line.fallback == "none" && line.xino == nil && line.problem == nil)

        // The same through the CLI; and the records, which name both unions and no install.
        let cli = try await aufsctl(["persist", "--list", "--json", "--root", t.path])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(try JSONDecoder().decode(PersistReport.self, from: Data(cli.stdout.utf8)) == r)
        let records = try await aufsctl(["uninstall", "--list", "--json", "--root", t.path])
        let doc = try JSONDecoder().decode(RecordsReport.self, from: Data(records.stdout.utf8))
        #expect(doc.schema == "aufsctl.records/1" && doc.installs.isEmpty)
        #expect(doc.unions.map(\.kind) == ["persist", "persist"])
        #expect(doc.unions.map(\.target) == ["/srv/a%b/mnt", "/srv/walk x/mnt"])
        #expect(doc.unions[1].undo.contains("remove the aufs line for /srv/walk x/mnt from /etc/fstab"))

        // A unit removed by hand: the record stays, its branches are unknown, and the list says why.
        unlink(t.path + "/etc/systemd/system/srv-a\\x25b-mnt.mount")
        let gone = try #require(try p.list().unions.first { $0.target == "/srv/a%b/mnt" })
        #expect(gone.branches == nil && gone.problem == "/etc/systemd/system/srv-a\\x25b-mnt.mount is gone")
    }

    /// persist, then persist --remove, leaves the tree as it was: the directories it made for
    /// aufs.conf and the unit go with them (aufsctl's own /var/lib/aufsctl aside: backups stay).
    @Test(arguments: [Persister.Via.fstab, .systemd])
    func removeTakesTheDirectoriesItMade(_ via: Persister.Via) async throws {
        let t = TempDir()
        t.write("etc/fstab", "# fstab\n")
        func tree() async throws -> String {
            try await SubprocessRunner().run(
                ["find", t.path, "-path", t.path + "/var", "-prune", "-o", "-print"], environment: [:]
            ).stdout
        }
        let before = try await tree()
        let p = Persister(root: HostRoot(t.path), printer: { _ in })
        let spec = PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw", "/srv/ro=ro"])
        try await p.apply(spec, via: via)
        #expect(FileRead.exists(t.path + "/etc/modules-load.d/aufs.conf"))
        #expect(try await p.remove(target: "/srv/u"))
        #expect(try await tree() == before)
    }

    @Test func jsonGoesWithList() async throws {
        let u = try await aufsctl(["uninstall", "--json", "--dry-run"])
        #expect(u.status == 2 && u.stderr.contains("--json goes with --list"))
        let p = try await aufsctl(["persist", "--list", "/mnt"])
        #expect(p.status == 2 && p.stderr.contains("--list takes no union"))
        let empty = TempDir()
        let none = try await aufsctl(["persist", "--list", "--json", "--root", empty.path])
        #expect(none.status == 0 && none.stdout.contains("\"unions\" : [\n\n  ]"), "\(none.stdout)")
    }

    @Test func recordsOfAnInstall() throws {
        var state = InstallState()
        state.installs = [
            InstallState.Record(
                id: 2, method: .dkms, kernel: "6.1.0-18-amd64",
                steps: [.init(id: "usr-src", title: "Copy the source", undo: [.removeTree(path: "/usr/src/aufs-6.1")])],
                source: "/opt/aufs sha256:00 (3 files)")
        ]
        let r = RecordsReport(state)
        #expect(
            r.installs == [
                .init(
                    id: 2, method: "dkms", kernel: "6.1.0-18-amd64", source: "/opt/aufs sha256:00 (3 files)",
                    steps: [.init(id: "usr-src", title: "Copy the source", undo: ["remove /usr/src/aufs-6.1/"])])
            ])
        #expect(r.unions.isEmpty)
    }
}
