// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Runs a command as nobody (setpriv), for the attacker's side of a test.
func asNobody(_ argv: [String]) async throws -> CommandResult {
    // Spawned and waited for on a thread of its own: a race test calls this at the moment it staged,
    // and must not wait for a pool thread another test is blocking.
    await offPool {
        let c = Child(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + argv, dir: "/tmp")
        let status = c.wait()
        defer {
            unlink(c.out)
            unlink(c.err)
        }
        return CommandResult(status: status, stdout: c.output, stderr: c.errors)
    }
}

/// Another user on the host attacks what root's aufsctl uses: locks, the state file, default
/// xino names, the overlay workdir. Each ends with root's command succeeding (or refusing with a
/// clear message) and nothing outside the intended paths created, changed or removed.
@Suite(.serialized, .enabled(if: isRoot, "needs root: a second, unprivileged process attacks root's aufsctl"))
struct HostileUserTests {
    /// nobody can neither take nor plant the mount lock: /run/aufsctl is root's, 0700.
    @Test func lockIsOutOfReach() async throws {
        _ = try FileLock(path: RuntimeDir.mountLock, what: "test")
        var st = stat()
        #expect(lstat(RuntimeDir.path, &st) == 0 && st.st_uid == 0 && st.st_mode & 0o777 == 0o700)
        let hold = try await asNobody(["flock", "-n", RuntimeDir.mountLock, "true"])
        #expect(hold.status != 0, "nobody could open the lock: \(hold.stdout)")
        // Refused at open (EACCES), so nobody never held it, not even for a moment.
        #expect(hold.stderr.contains("Permission denied"), "\(hold.stderr)")
        let plant = try await asNobody(["ln", "-s", "/tmp/x", RuntimeDir.path + "/planted"])
        #expect(plant.status != 0)
        // root's mount goes ahead. Not timed: the parallel suites' own mounts take the same host lock,
        // so a wall-clock bound measured the machine's load (5.2 s once on 2 busy cores).
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["c", "i", "m"] { makeDir(d + "/" + n) }
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let r = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./c:./i=ro", "./m"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// A lock path that is a symlink (planted while the directory was not private) is refused,
    /// and nothing is created where it points; so is a lock directory others can write.
    @Test func plantedLockSymlinkAndOpenDirectoryAreRefused() throws {
        let t = TempDir()
        let d = canonical(t.path)
        let dir = d + "/locks"
        mkdir(dir, 0o700)
        symlink(d + "/victim", dir + "/mount.lock")
        #expect(throws: AufsError.self) { _ = try FileLock(path: dir + "/mount.lock", what: "test", timeout: 1) }
        do { _ = try FileLock(path: dir + "/mount.lock", what: "test", timeout: 1) } catch let e as AufsError {
            #expect(e.message.contains("is a symlink"), "\(e.message)")
        }
        #expect(!FileRead.exists(d + "/victim"))
        let open = d + "/open"
        mkdir(open, 0o777); chmod(open, 0o1777)
        do {
            _ = try FileLock(path: open + "/x.lock", what: "test", timeout: 1)
            Issue.record("a lock in a world-writable directory was taken")
        } catch let e as AufsError {
            #expect(e.message.contains("writable by group or others"), "\(e.message)")
        }
        #expect(!FileRead.exists(open + "/x.lock"))
    }

    /// A state file another user could have written is never read (its undo commands run as root).
    @Test func foreignStateFileIsRefused() async throws {
        let t = minimalRoot()
        t.write(
            "var/lib/aufsctl/state.json",
            "{\"schema\":\"aufsctl.state/1\",\"installs\":[{\"method\":\"dkms\",\"kernel\":\"k\",\"steps\":[{\"id\":\"x\",\"title\":\"x\",\"undo\":[{\"command\":{\"argv\":[\"touch\",\"/tmp/aufsctl-pwned\"]}}]}]}]}\n"
        )
        chown(t.path + "/var/lib/aufsctl/state.json", 65534, 65534)
        let r = try await aufsctl(["uninstall", "--yes", "--root", t.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("refusing to run undo commands from it"), "\(r.stderr)")
        #expect(!FileRead.exists("/tmp/aufsctl-pwned"))
    }

    /// Default xino files have per-union names in root's /run/aufsctl/xino; a xino= of the user's
    /// in a world-writable directory is warned about.
    @Test func xinoNames() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["a", "b", "m1", "m2"] { makeDir(d + "/" + n) }
        let one = try await aufsctl(in: d, ["mount", "--dry-run", "--json", "dirs=./a:./b=ro", "./m1"])
        let two = try await aufsctl(in: d, ["mount", "--dry-run", "--json", "dirs=./b:./a=ro", "./m2"])
        let r1 = try JSONDecoder().decode(MountReport.self, from: Data(one.stdout.utf8))
        let r2 = try JSONDecoder().decode(MountReport.self, from: Data(two.stdout.utf8))
        #expect(r1.xino == "/run/aufsctl/xino/" + Mounter.xinoName(target: d + "/m1"), "\(one.stdout)\(one.stderr)")
        #expect(r1.xino != r2.xino && r2.xino?.hasPrefix("/run/aufsctl/xino/m2-") == true)
        let open = try await aufsctl(
            in: d, ["mount", "--dry-run", "--json", "-o", "xino=/tmp/mine.xino", "dirs=./a:./b=ro", "./m1"])
        let r3 = try JSONDecoder().decode(MountReport.self, from: Data(open.stdout.utf8))
        #expect(
            r3.warnings.contains { $0.contains("xino=/tmp/mine.xino is in /tmp, which every user can write") },
            "\(r3.warnings)")
    }

    /// nobody renames the overlay workdir away (its parent is theirs to write) and puts a symlink
    /// to a victim directory under its name: umount leaves the symlink (not the directory the mount
    /// made) and says so, and never touches the victim.
    @Test func workdirSwappedForASymlink() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        let layers = d + "/layers"
        mkdir(layers, 0o777); chmod(layers, 0o1777)  // a shared directory
        for n in ["c", "i"] { makeDir(layers + "/" + n) }
        makeDir(d + "/m")
        makeDir(d + "/victim"); writeFile(d + "/victim/keep", "precious\n")
        chmod(d + "/victim", 0o777)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let m = try await aufsctl(
            in: d, ["mount", "--fallback", "overlay", "--json", "dirs=./layers/c:./layers/i=ro", "./m"])
        try #require(m.status == 0, "\(m.stderr)")
        let work = try #require(try JSONDecoder().decode(MountReport.self, from: Data(m.stdout.utf8)).workdir)
        // The sticky bit stops nobody from renaming root's workdir; root-owned layers dir without it does not.
        chmod(layers, 0o777)
        let mv = try await asNobody(["mv", work, layers + "/moved-away"])
        #expect(mv.status == 0, "\(mv.stderr)")
        let ln = try await asNobody(["ln", "-s", d + "/victim", work])
        #expect(ln.status == 0, "\(ln.stderr)")
        let u = try await aufsctl(in: d, ["umount", "./m"])
        #expect(u.status == 0, "\(u.stderr)")
        #expect(readText(d + "/victim/keep") == "precious\n", "umount removed the symlink's target")
        #expect(!u.stdout.contains("removed overlay workdir"), "\(u.stdout)")
        #expect(u.stdout.contains("left \(work) alone: it is a symlink"), "\(u.stdout)")
        #expect(FileRead.readLink(work) == d + "/victim", "the planted symlink was followed or replaced")
        unlink(work)
        RecursiveRemove.remove(layers + "/moved-away")
    }

    /// The removal itself: a directory swapped for a symlink between listing and removal is not
    /// followed (the swap is done before removing here, the worst case for a path-based rm).
    @Test func recursiveRemoveNeverFollows() throws {
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/tree"); makeDir(d + "/tree/sub"); writeFile(d + "/tree/sub/f", "x")
        makeDir(d + "/victim"); writeFile(d + "/victim/keep", "precious\n")
        symlink(d + "/victim", d + "/tree/link")
        RecursiveRemove.remove(d + "/tree")
        #expect(!FileRead.exists(d + "/tree"))
        #expect(readText(d + "/victim/keep") == "precious\n")
    }

    /// A backups directory planted as a symlink (while /var/lib/aufsctl was not yet private) is
    /// refused: no backup is written where it points.
    @Test func plantedBackupDirectoryIsRefused() async throws {
        let t = copyFixture("centos7")
        let elsewhere = TempDir()
        mkdir(t.path + "/var/lib/aufsctl", 0o700)
        symlink(elsewhere.path, t.path + "/var/lib/aufsctl/backups")
        let ctx = InstallContext(
            root: HostRoot(t.path), runner: ScriptedRunner(), syscalls: FakeSyscalls(), options: InstallOptions())
        // In a root tree the planted absolute link resolves inside the tree, like chroot would.
        _ = try? ctx.setAssignment("GRUB_DEFAULT", to: "0", in: "/etc/default/grub")
        #expect(FileRead.list(elsewhere.path) == [])
        // On the host, the directory check refuses it outright.
        let d = canonical(elsewhere.path)
        symlink(d, d + "-backups")
        defer { unlink(d + "-backups") }
        do {
            try RuntimeDir.ensurePrivate(d + "-backups", what: "install backups")
            Issue.record("a symlinked backups directory was accepted")
        } catch let e as AufsError {
            #expect(e.message.contains("is not a directory (a symlink"), "\(e.message)")
        }
    }

    /// --mkdir builds the mount point by directory fd and removes exactly what it made when the
    /// mount is refused.
    @Test func mkdirByDirectoryFd() throws {
        let t = TempDir()
        let d = canonical(t.path)
        try AtomicFile.makeDirectories(d + "/x")
        let made = try LinuxSyscalls().makeDirectories(d + "/x/y/z")
        #expect(!made.isEmpty)
        #expect(FileRead.isDirectory(d + "/x/y/z"))
        made.remove()
        #expect(FileRead.exists(d + "/x"), "x existed before: not removed")
        #expect(!FileRead.exists(d + "/x/y"))
        rmdir(d + "/x")
        #expect(!FileRead.exists(d + "/x"))
    }

    /// A race, not a staged swap: while root mounts and unmounts 20 times, nobody keeps renaming
    /// the workdir away and putting a symlink to a victim directory under its name. Whatever the
    /// interleaving, the victim keeps its file and nothing is created in it.
    @Test func workdirRaceNeverReachesTheVictim() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        let layers = d + "/layers"
        mkdir(layers, 0o777); chmod(layers, 0o777)
        for n in ["c", "i"] { makeDir(layers + "/" + n) }
        makeDir(d + "/m")
        makeDir(d + "/victim"); writeFile(d + "/victim/keep", "precious\n"); chmod(d + "/victim", 0o777)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let work = layers + "/" + Mounter.workdirPrefix + "c"
        let script =
            "end=$(($(date +%s) + 12)); while [ $(date +%s) -lt $end ]; do mv \(work) \(layers)/away.$$ 2>/dev/null && ln -s \(d)/victim \(work) 2>/dev/null; rm -f \(work) 2>/dev/null; rm -rf \(layers)/away.$$ 2>/dev/null; done"
        async let attacker = asNobody(["sh", "-c", script])
        for _ in 0..<20 {
            _ = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./layers/c:./layers/i=ro", "./m"])
            _ = try await aufsctl(in: d, ["umount", "./m"])
        }
        _ = try await attacker
        unmountAll(under: d)
        #expect(readText(d + "/victim/keep") == "precious\n")
        #expect(FileRead.list(d + "/victim") == ["keep"], "\(FileRead.list(d + "/victim") ?? [])")
    }
}
