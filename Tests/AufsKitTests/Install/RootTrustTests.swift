// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsJournal
@testable import AufsKit

/// Issue 21's install-wing findings: what root builds from, the scripts it emits, and the files
/// `persist` edits stay under root's control and never take an administrator's own lines.
@Suite struct InstallSourceTrustTests {
    func install(
        _ t: TempDir, _ runner: any CommandRunner, _ change: (inout InstallOptions) -> Void
    ) async throws -> InstallReport {
        var o = InstallOptions()
        o.method = .dkms
        o.skipExportCheck = true
        o.noLoad = true
        change(&o)
        let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
        return try await Executor(printer: { _ in }).run(plan, context: installer.context(facts, o), dryRun: false)
    }

    /// A source another user owns, with setuid and group/other-writable files: /usr/src/aufs-V
    /// is root's, mode & 0755 (cp -a kept the owner and the bits).
    @Test(.enabled(if: geteuid() == 0, "chown needs root")) func copiedAsRootWithoutTheirBits() async throws {
        let src = TempDir()
        _ = try await SubprocessRunner().run(["cp", "-a", packageRoot() + "/Kernel/standin/.", src.path + "/"])
        _ = try await SubprocessRunner().run(["chown", "-R", "65534:65534", src.path])
        chmod(src.path + "/Makefile", 0o4777)
        chmod(src.path + "/fs", 0o2777)
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
        let report = try await install(t, runner) { $0.source = .directory(src.path) }
        #expect(report.exitCode == .success, "\(report)")
        let dest = try #require(FileRead.list(t.path + "/usr/src")?.first { $0.hasPrefix("aufs-") })
        var bad: [String] = []
        func walk(_ p: String) {
            var st = stat()
            guard lstat(p, &st) == 0 else { return }
            if st.st_uid != 0 || st.st_gid != 0 || st.st_mode & 0o7022 != 0 { bad.append(p) }
            if st.st_mode & S_IFMT == S_IFDIR { for n in FileRead.list(p) ?? [] { walk(p + "/" + n) } }
        }
        walk(t.path + "/usr/src/" + dest)
        #expect(bad.isEmpty, "\(bad)")
        var st = stat()
        stat(t.path + "/usr/src/\(dest)/Makefile", &st)
        #expect(st.st_mode & 0o7777 == 0o755)
    }

    /// A symlink inside the tree (a Makefile pointing at a file its owner edits) is refused before
    /// anything is copied.
    @Test func symlinkInTheSourceRefused() async throws {
        let src = TempDir()
        _ = try await SubprocessRunner().run(["cp", "-a", packageRoot() + "/Kernel/standin/.", src.path + "/"])
        let evil = TempDir()
        evil.write("Makefile", "obj-m := aufs.o\n")
        unlink(src.path + "/Makefile")
        symlink(evil.path + "/Makefile", src.path + "/Makefile")
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
        let report = try await install(t, runner) { $0.source = .directory(src.path) }
        let step = report.steps.first { $0.id == "usr-src" }
        #expect(step?.status == .failed && step?.evidence.first?.contains("is a symlink") == true, "\(report)")
        #expect((FileRead.list(t.path + "/usr/src") ?? []).allSatisfy { !$0.hasPrefix("aufs-") })
    }

    /// `git ls-remote` (the newest head) runs with the same protocol allow-list as the clone.
    @Test func lsRemoteWithTheProtocolAllowList() async throws {
        let t = copyFixture("debian12")
        let runner = FakeGitDebian(
            FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers))
        _ = try await install(t, runner) { _ in }
        let i = try #require(runner.gitCalls.firstIndex { $0.contains("ls-remote") })
        #expect(runner.gitEnvironments[i]["GIT_ALLOW_PROTOCOL"] == "https:http")
    }

    /// `--source /path/with://x` is a directory (it was cloned as a URL).
    @Test func aDirectoryNamedLikeAURL() async throws {
        let r = try await aufsctl([
            "install", "--method", "dkms", "--kernel", DKMSPlanTests.kver, "--skip-export-check", "--dry-run",
            "--source", "/nonexistent/with://x", "--root", packageRoot() + "/Tests/Fixtures/roots/debian12",
        ])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("Use the aufs source in /nonexistent/with:/x ... failed"), "\(r.stdout)")
        #expect(r.stdout.contains("no such directory") && !r.stdout.contains("Clone"), "\(r.stdout)")
    }

    /// dkms.conf (sourced by bash) never gets an AUFS_VERSION that is not a plain version: the
    /// emitted script stops (exit 2) as the binary does.
    @Test func aufsVersionValidatedInTheScript() async throws {
        let src = TempDir()
        _ = try await SubprocessRunner().run(["cp", "-a", packageRoot() + "/Kernel/standin/.", src.path + "/"])
        let header = src.path + "/include/uapi/linux/aufs_type.h"
        let text = (FileRead.string(header) ?? "").replacing(/AUFS_VERSION\s+"[^"]*"/, with: "AUFS_VERSION\t\"1$(id)\"")
        try AtomicFile.write(header, text)
        #expect(DKMSMethod.aufsVersion(header: text) == nil)
        var o = InstallOptions()
        o.method = .dkms
        o.source = .directory(src.path)
        o.skipExportCheck = true
        o.kernel = KernelRelease(DKMSPlanTests.kver)
        let facts = try await HostProbe(
            root: HostRoot(packageRoot() + "/Tests/Fixtures/roots/debian12"), runner: ScriptedRunner()
        ).probe(kernel: o.kernel)
        let plan = try DKMSMethod.plan(facts, options: o, root: HostRoot("/"))
        let usrSrc = try #require(plan.steps.first { $0.id == "usr-src" })
        let root = TempDir()
        let script = ShellScript.header([]) + ShellScript.steps([usrSrc])
        root.write("s.sh", script)
        let r = try await SubprocessRunner().run(["env", "ROOT=" + root.path, "sh", root.path + "/s.sh"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("AUFS_VERSION is not a version"))
        #expect(!FileRead.exists(root.path + "/usr/src"))
    }
}

@Suite struct PersistTrustTests {
    func persister(_ t: TempDir) -> Persister {
        Persister(root: HostRoot(t.path), runner: ScriptedRunner(), printer: { _ in })
    }

    /// An administrator's own aufs line for the mount point: persist refuses and names it, touches
    /// nothing, records nothing; `persist --remove` has nothing to remove and leaves it.
    @Test func administratorsFstabLineLeftAlone() async throws {
        let t = TempDir()
        let fstab = "UUID=1 / ext4 defaults 0 1\nnone /srv/u aufs br=/srv/admin=rw 0 0\n"
        t.write("etc/fstab", fstab)
        let p = persister(t)
        await #expect {
            try await p.apply(PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw"]), via: .fstab)
        } throws: { e in
            let m = (e as? AufsError)?.message ?? ""
            return m.contains("/etc/fstab line 2") && m.contains("did not write")
                && (e as? AufsError)?.exitCode == .usage
        }
        #expect(FileRead.string(t.path + "/etc/fstab") == fstab)
        #expect(try UnionRecords(root: HostRoot(t.path)).records().isEmpty)
        #expect(try await !p.remove(target: "/srv/u"))
        #expect(FileRead.string(t.path + "/etc/fstab") == fstab)
        // Nor does undoing a record of aufsctl's own line take the administrator's.
        #expect(FstabLine.remove(target: "/srv/u", from: fstab) == nil)
    }

    /// persist again: aufsctl's own line is replaced in place, never doubled, in Swift and in sh.
    @Test func rePersistReplacesOnlyItsOwnLine() async throws {
        let t = TempDir()
        t.write("etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
        let p = persister(t)
        try await p.apply(PersistSpec(target: "/srv/u", branches: ["/srv/a=rw"]), via: .fstab)
        try await p.apply(PersistSpec(target: "/srv/u", branches: ["/srv/b=rw"]), via: .fstab)
        let text = FileRead.string(t.path + "/etc/fstab") ?? ""
        #expect(
            text == "UUID=1 / ext4 defaults 0 1\n\(FstabLine.marker("/srv/u"))\nnone /srv/u aufs br=/srv/b=rw 0 0\n")
        let s = TempDir()
        s.write("etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
        for b: BranchSpec in ["/srv/a=rw", "/srv/b=rw"] {
            s.write("p.sh", try p.shellScript(PersistSpec(target: "/srv/u", branches: [b]), via: .fstab))
            let r = try await SubprocessRunner().run(["env", "ROOT=" + s.path, "sh", s.path + "/p.sh"])
            #expect(r.succeeded, "\(r.stderr)")
        }
        #expect(FileRead.string(s.path + "/etc/fstab") == text)
        #expect(FileRead.list(s.path + "/var/lib/aufsctl/backups")?.contains("etc_fstab.0") == true)
    }

    /// systemd strips a path's trailing blank: a unit for it is refused (fstab escapes it).
    @Test func trailingBlankRefusedForAUnit() async throws {
        let t = TempDir()
        let s = PersistSpec(target: "/srv/u ", branches: ["/srv/rw=rw"])
        await #expect(throws: AufsError.self) { try await persister(t).apply(s, via: .systemd) }
        #expect(throws: AufsError.self) { try persister(t).shellScript(s, via: .systemd) }
        #expect(FileRead.list(t.path + "/etc/systemd/system") == nil)
        #expect(throws: Never.self) { try persister(t).shellScript(s, via: .fstab) }
    }

    /// A legal unit name of 240-255 bytes: its temporary file name still fits (255 bytes).
    @Test func longUnitName() async throws {
        let t = TempDir()
        let target = "/srv/" + String(repeating: "a", count: 240)
        let name = SystemdUnit.name(forPath: target)
        #expect(name.utf8.count > 240 && name.utf8.count <= 255)
        try await persister(t).apply(PersistSpec(target: target, branches: ["/srv/rw=rw"]), via: .systemd)
        #expect(FileRead.exists(t.path + "/etc/systemd/system/" + name))
    }

    /// A persist that fails part way (a file where the wants link goes) undoes what it did and
    /// leaves no record.
    @Test func failedPersistLeavesNoRecord() async throws {
        let t = TempDir()
        let s = PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw"])
        t.write("etc/systemd/system/local-fs.target.wants/srv-u.mount", "an administrator's file\n")
        await #expect(throws: AufsError.self) { try await persister(t).apply(s, via: .systemd) }
        #expect(!FileRead.exists(t.path + "/etc/systemd/system/srv-u.mount"))
        #expect(!FileRead.exists(t.path + "/etc/modules-load.d/aufs.conf"))
        #expect(try UnionRecords(root: HostRoot(t.path)).records().isEmpty)
        #expect(!FileRead.exists(t.path + InstallState.path))
        #expect(
            FileRead.string(t.path + "/etc/systemd/system/local-fs.target.wants/srv-u.mount")
                == "an administrator's file\n")
    }

    /// Temporary files a killed run left are removed at the start of the next one (wherever aufsctl
    /// writes), and backups are pruned to the newest few per file, keeping every one an undo needs.
    @Test func staleTemporariesAndOldBackups() async throws {
        let t = TempDir()
        t.write("etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
        for stale in [
            "etc/.fstab.aufsctl-Ab12Cd", "etc/default/.grub.aufsctl-XyZ987",
            "var/lib/aufsctl/.state.json.aufsctl-q1w2e3",
        ] {
            t.write(stale, "partial")
        }
        t.write("etc/default/.grub.keep", "not ours")
        try RuntimeDir.ensurePrivate(t.path + "/var/lib/aufsctl", what: "test")
        try RuntimeDir.ensurePrivate(t.path + "/var/lib/aufsctl/backups", what: "test")
        for n in 0..<8 { t.write("var/lib/aufsctl/backups/etc_fstab.\(n)", "old \(n)\n") }
        // A record whose undo restores from backup 1: it stays.
        var state = InstallState()
        state.unions = [
            UnionRecord(
                kind: .persist, target: "/srv/old", via: "fstab",
                undo: [.restoreFile(path: "/etc/fstab", backup: Backups.directory + "/etc_fstab.1")])
        ]
        try state.save(root: HostRoot(t.path))
        try await persister(t).apply(PersistSpec(target: "/srv/u", branches: ["/srv/rw=rw"]), via: .fstab)
        let left = Set(FileRead.list(t.path + "/var/lib/aufsctl/backups") ?? [])
        #expect(left == ["etc_fstab.1", "etc_fstab.4", "etc_fstab.5", "etc_fstab.6", "etc_fstab.7", "etc_fstab.8"])
        #expect(!FileRead.exists(t.path + "/etc/.fstab.aufsctl-Ab12Cd"))
        #expect(!FileRead.exists(t.path + "/etc/default/.grub.aufsctl-XyZ987"))
        #expect(!FileRead.exists(t.path + "/var/lib/aufsctl/.state.json.aufsctl-q1w2e3"))
        #expect(FileRead.exists(t.path + "/etc/default/.grub.keep"))
    }
}

@Suite struct GrubDefaultOverLinesTests {
    /// A GRUB_DEFAULT whose value goes on over the next line (an open quote, a trailing backslash)
    /// is replaced whole, in Swift and in sh: the rest of it no longer dangles as a broken line.
    @Test(arguments: [
        "A=1\nGRUB_DEFAULT=\"first\nsecond\"\nGRUB_TIMEOUT=5\n",
        "A=1\nGRUB_DEFAULT='x \\\ny'\nGRUB_TIMEOUT=5\n",
        "A=1\nGRUB_DEFAULT=a\\\nb\nGRUB_TIMEOUT=5\n",
    ])
    func replacedWhole(_ text: String) async throws {
        let (out, changed) = ShellAssignments.set("GRUB_DEFAULT", to: "0", in: text)
        #expect(changed)
        #expect(out == "A=1\nGRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n")
        let t = TempDir()
        t.write("etc/default/grub", text)
        let step = Step(
            id: "g", title: "g",
            actions: [.setAssignments(.init(file: "/etc/default/grub", [.init("GRUB_DEFAULT", "0")]))])
        t.write("s.sh", ShellScript.header([]) + ShellScript.steps([step]))
        let r = try await SubprocessRunner().run(["env", "ROOT=" + t.path, "sh", t.path + "/s.sh"])
        #expect(r.succeeded, "\(r.stderr)")
        #expect(FileRead.string(t.path + "/etc/default/grub") == out)
    }
}

@Suite struct DKMSTreeCheckTests {
    /// `check` warns when a tree dkms builds from (a registered /usr/src/aufs-V) is not root's alone.
    @Test(.enabled(if: geteuid() == 0, "chown needs root")) func warnsAboutAForeignTree() async throws {
        let t = copyFixture("debian12")
        t.write("var/lib/dkms/aufs/6.1/source", "")
        t.write("usr/src/aufs-6.1/Makefile", "obj-m := aufs.o\n")
        t.write("usr/src/aufs-6.1/fs/aufs/super.c", "\n")
        var facts = try await HostProbe(root: HostRoot(t.path), runner: ScriptedRunner()).probe()
        #expect(facts.dkms.unsafeTrees == nil)
        chown(t.path + "/usr/src/aufs-6.1/fs/aufs/super.c", 65534, 65534)
        facts = try await HostProbe(root: HostRoot(t.path), runner: ScriptedRunner()).probe()
        #expect(facts.dkms.unsafeTrees == ["/usr/src/aufs-6.1: /usr/src/aufs-6.1/fs/aufs/super.c belongs to uid 65534"])
        let report = CheckReport(root: HostRoot(t.path), facts: facts)
        #expect(report.warnings.contains { $0.hasPrefix("/usr/src/aufs-6.1: ") && $0.contains("chown -R root:root") })
        chown(t.path + "/usr/src/aufs-6.1/fs/aufs/super.c", 0, 0)
        chmod(t.path + "/usr/src/aufs-6.1/Makefile", 0o666)
        facts = try await HostProbe(root: HostRoot(t.path), runner: ScriptedRunner()).probe()
        #expect(facts.dkms.unsafeTrees?.first?.contains("Makefile is writable by group or others") == true)
    }
}
