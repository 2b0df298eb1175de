// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// A child process with its output in files (the test must go on while it runs).
final class Child: Sendable {
    let pid: pid_t
    let out: String
    let err: String

    init(_ argv: [String], dir: String) {
        out = dir + "/child-\(UInt32.random(in: 0...UInt32.max)).out"
        err = out + ".err"
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let cargs = argv.map { strdup($0) } + [nil]
        var p: pid_t = 0
        let rc = posix_spawnp(&p, argv[0], &actions, nil, cargs, environ)
        cargs.forEach { free($0) }
        posix_spawn_file_actions_destroy(&actions)
        pid = rc == 0 ? p : -1
    }

    var output: String { FileRead.string(out) ?? "" }
    var errors: String { FileRead.string(err) ?? "" }

    /// Waits until the output holds `line` (up to `seconds`).
    func waitFor(_ line: String, seconds: Double = 10) -> Bool {
        let end = monotonicSeconds() + seconds
        while monotonicSeconds() < end {
            if output.split(separator: "\n").contains(Substring(line)) { return true }
            usleep(2000)
        }
        return false
    }

    @discardableResult
    func wait() -> Int32 {
        guard pid > 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// The other user: Tests/race/attacker.c, built with gcc (which make test installs) into a
/// directory nobody can read, run through setpriv as uid 65534.
enum Attacker {
    static let binary: String? = {
        var template = Array("/tmp/aufsctl-attacker-XXXXXX".utf8CString)
        guard let d = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
        let dir = String(cString: d)
        chmod(dir, 0o755)
        let bin = dir + "/attacker"
        let cc = Child(
            ["gcc", "-O2", "-Wall", "-Werror", "-o", bin, packageRoot() + "/Tests/race/attacker.c"], dir: dir)
        return cc.wait() == 0 ? bin : nil
    }()

    /// Starts the attacker (`on-event` or `loop`) and returns once it is watching.
    static func start(
        _ mode: String, dir: String, name: String, away: String, link: String, ms: Int, logs: String
    )
        -> Child?
    {
        guard let bin = binary else { return nil }
        let c = Child(
            [
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", bin, mode, dir, name, away, link,
                String(ms),
            ], dir: logs)
        return c.waitFor("ready") ? c : nil
    }
}

func chownNobody(_ p: String) { chown(p, 65534, 65534) }

/// Whether anything is mounted at `p` (mountinfo's mount points).
func mounted(_ p: String) -> Bool { mountPoints(under: p).contains(p) }

/// The superblock options mountinfo shows for the mount at `p` (the last one), or "".
func superOptions(_ p: String) -> String {
    MountTable.read("/proc/self/mountinfo")?.mount(at: p)?.fsOptions ?? ""
}

/// Puts `name` in `dir` back after an attacker's swap (as root, between iterations).
func restore(_ dir: String, _ name: String, from away: String) {
    var st = stat()
    if lstat(dir + "/" + name, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK { unlink(dir + "/" + name) }
    if lstat(dir + "/" + away, &st) == 0 { rename(dir + "/" + away, dir + "/" + name) }
}

let raceIterations = Int(String(cString: getenv("AUFSCTL_RACE_ITERATIONS") ?? strdup("200"))) ?? 200

/// Another user renames or replaces, at the moment root's aufsctl acts, a name on a path they can
/// write: the mount point, a lower or the upper branch, the overlay workdir, the mount point's
/// parent at umount, the pseudo-link directory, a branch added live. Each path has a staged swap
/// (aufsctl paused by AUFSCTL_TEST_PAUSE_BEFORE_CALL between its checks and its calls: against
/// aufsctl before issue 21 the swap wins) and `raceIterations` (200) rounds of an attacker that
/// swaps on the inotify event aufsctl's own access makes. The attacker never wins: the kernel is
/// given the directories that were checked, by fd, and a mount is unmounted only by its id.
@Suite(.serialized, .enabled(if: isRoot, "needs root: mounts, and a second, unprivileged process attacks them"))
struct RaceTests {
    /// d (root's, 0755) with u (nobody's: mnt, c, i), L (root's layers: c, i), m (root's mount
    /// point), victim (root's: a file `secret`, and `work/precious` for the workdir attack).
    func layout() -> (TempDir, String) {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        for p in ["u", "u/mnt", "u/c", "u/i", "L", "L/c", "L/i", "m", "victim", "victim/work"] { makeDir(d + "/" + p) }
        writeFile(d + "/L/i/lower-file", "lower\n")
        writeFile(d + "/u/i/lower-file", "lower\n")
        writeFile(d + "/victim/secret", "secret\n")
        writeFile(d + "/victim/work/precious", "precious\n")
        for p in ["u", "u/mnt", "u/c", "u/i"] { chownNobody(d + "/" + p) }
        return (t, d)
    }

    /// The victim's files are as they were, nothing is mounted on it, and no union shows it (as a
    /// layer: its file through the union; by name: in the mount's options).
    func victimIntact(_ d: String) -> Bool {
        readText(d + "/victim/secret") == "secret\n" && readText(d + "/victim/work/precious") == "precious\n"
            && !mounted(d + "/victim") && !superOptions(d + "/m").contains("victim")
            && !superOptions(d + "/u/mnt").contains("victim")
            && !(mounted(d + "/m") && FileRead.exists(d + "/m/secret"))
            && !(mounted(d + "/u/mnt") && FileRead.exists(d + "/u/mnt/secret"))
    }

    /// One mount of the overlay fallback with the attacker swapping `name` in `watch` for a link to
    /// the victim on aufsctl's access; true when the attacker won.
    func attackedMount(
        _ d: String, watch: String, name: String, spec: String, target: String, tally: inout Tally
    ) async throws {
        let a = try #require(
            Attacker.start(
                "on-event", dir: watch, name: name, away: name + ".away", link: d + "/victim", ms: 3000,
                logs: d))
        let r = try await aufsctl(in: d, ["mount", "--fallback", "overlay", spec, target])
        a.wait()
        tally.add(won: !victimIntact(d), swapped: a.output.contains("swapped"), refused: r.status != 0)
        restore(watch, name, from: name + ".away")
        cleanUp(d, target: target)
    }

    /// Rounds, the attacker's swaps, aufsctl's refusals and the attacker's wins, printed at the end.
    struct Tally: CustomStringConvertible {
        var path: String
        var rounds = 0, swaps = 0, refusals = 0, wins = 0
        mutating func add(won: Bool, swapped: Bool, refused: Bool) {
            rounds += 1
            if swapped { swaps += 1 }
            if refused { refusals += 1 }
            if won { wins += 1 }
        }
        var description: String {
            "race \(path): \(rounds) rounds, the attacker swapped in \(swaps), aufsctl refused \(refusals), the "
                + "attacker won \(wins)"
        }
        func check(sourceLocation: SourceLocation = #_sourceLocation) {
            print(description)
            #expect(wins == 0, "\(description)", sourceLocation: sourceLocation)
            #expect(swaps > 0, "the attacker never swapped: \(description)", sourceLocation: sourceLocation)
        }
    }

    /// Unmounts through aufsctl (its workdir and record go too), then whatever is left.
    func cleanUp(_ d: String, target: String) {
        for p in mountPoints(under: d) where p != d + "/T/v/mnt" {
            let c = Child([aufsctlBinary(), "umount", p], dir: d)
            c.wait()
        }
        unmountAll(under: d + "/u")
        unmountAll(under: d + "/m")
        for dir in ["u", "L", "U"] {
            RecursiveRemove.remove(d + "/" + dir + "/" + Mounter.workdirPrefix + "c")
            RecursiveRemove.remove(d + "/" + dir + "/" + Mounter.workdirPrefix + "c.away")
        }
    }

    /// The staged version: aufsctl paused between its checks and its calls, the swap made then.
    func stagedMount(
        _ d: String, swap: String, env: [String] = [], _ args: [String]
    ) async throws -> (won: Bool, result: String) {
        let pause = d + "/pause"
        let c = Child(
            ["env", "-C", d, "AUFSCTL_TEST_PAUSE_BEFORE_CALL=" + pause] + env + [aufsctlBinary()] + args, dir: d)
        await offPool {
            let end = monotonicSeconds() + 20
            while access(pause, F_OK) != 0 && monotonicSeconds() < end { usleep(5000) }
        }
        let s = try await asNobody(["sh", "-c", swap])
        #expect(s.status == 0, "the staged swap failed: \(s.stderr)")
        unlink(pause)
        let status = await offPool { c.wait() }
        let won = !victimIntact(d)
        return (won, "exit \(status): \(c.output) \(c.errors)")
    }

    @Test func mountPointSwap() async throws {
        #expect(Attacker.binary != nil, "gcc could not build the attacker")
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let staged = try await stagedMount(
            d, swap: "cd \(d)/u && mv mnt mnt.away && ln -s \(d)/victim mnt",
            ["mount", "--fallback", "overlay", "dirs=./L/c:./L/i=ro", "./u/mnt"])
        #expect(!staged.won, "the union went onto the victim: \(staged.result)")
        #expect(staged.result.contains("was moved"), "\(staged.result)")
        restore(d + "/u", "mnt", from: "mnt.away")
        cleanUp(d, target: "./u/mnt")
        var tally = Tally(path: "mount point")
        for _ in 0..<raceIterations {
            try await attackedMount(
                d, watch: d + "/u", name: "mnt", spec: "dirs=./L/c:./L/i=ro", target: "./u/mnt", tally: &tally)
        }
        tally.check()
    }

    @Test func lowerBranchSwap() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let staged = try await stagedMount(
            d, swap: "cd \(d)/u && mv i i.away && ln -s \(d)/victim i",
            ["mount", "--fallback", "overlay", "dirs=./L/c:./u/i=ro", "./m"])
        #expect(!staged.won && !FileRead.exists(d + "/m/secret"), "the victim became a layer: \(staged.result)")
        restore(d + "/u", "i", from: "i.away")
        cleanUp(d, target: "./m")
        var tally = Tally(path: "lower branch")
        for _ in 0..<raceIterations {
            try await attackedMount(
                d, watch: d + "/u", name: "i", spec: "dirs=./L/c:./u/i=ro", target: "./m", tally: &tally)
        }
        tally.check()
    }

    @Test func upperBranchSwap() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        // The upper's parent is root's here: only the upper's own name is attacked.
        makeDir(d + "/U")
        makeDir(d + "/U/c")
        chmod(d + "/U", 0o777)
        let staged = try await stagedMount(
            d, swap: "cd \(d)/U && mv c c.away && ln -s \(d)/victim c",
            ["mount", "--fallback", "overlay", "dirs=./U/c:./L/i=ro", "./m"])
        #expect(!staged.won, "the victim became the upper layer: \(staged.result)")
        restore(d + "/U", "c", from: "c.away")
        cleanUp(d, target: "./m")
        var tally = Tally(path: "upper branch")
        for _ in 0..<raceIterations {
            try await attackedMount(
                d, watch: d + "/U", name: "c", spec: "dirs=./U/c:./L/i=ro", target: "./m", tally: &tally)
        }
        tally.check()
    }

    /// The workdir is made in a directory the attacker writes; swapped for a link to a root-owned
    /// directory whose `work/` overlay would clean out.
    @Test func workdirSwap() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let w = Mounter.workdirPrefix + "c"
        let staged = try await stagedMount(
            d, swap: "cd \(d)/u && mv \(w) \(w).away && ln -s \(d)/victim \(w)",
            ["mount", "--fallback", "overlay", "dirs=./u/c:./L/i=ro", "./m"])
        #expect(!staged.won, "overlay used the victim as its workdir: \(staged.result)")
        cleanUp(d, target: "./m")
        var tally = Tally(path: "overlay workdir")
        for _ in 0..<raceIterations {
            try await attackedMount(
                d, watch: d + "/u", name: w, spec: "dirs=./u/c:./L/i=ro", target: "./m", tally: &tally)
        }
        tally.check()
    }

    /// umount of a union whose mount point's parent the attacker can rename: swapped for a link to
    /// root's own mount (a tmpfs) at the moment of the call, it must never be root's tmpfs that goes.
    @Test func umountTargetSwap() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let top = d + "/T"
        for p in ["T", "T/u", "T/u/mnt", "T/v", "T/v/mnt"] { makeDir(d + "/" + p) }
        for p in ["T", "T/u", "T/u/mnt"] { chownNobody(d + "/" + p) }
        func round(staged: Bool) async throws -> (won: Bool, result: String, swaps: Int, refused: Bool) {
            if !mounted(top + "/v/mnt") { #expect(sysMount("tmpfs", top + "/v/mnt", "tmpfs", "size=1m") == 0) }
            writeFile(top + "/v/mnt/root-data", "root\n")
            let m = try await aufsctl(in: d, ["mount", "--fallback", "overlay", "dirs=./L/c:./L/i=ro", "./T/u/mnt"])
            #expect(m.status == 0, "\(m.stderr)")
            var result = ""
            var swaps = 1
            var refused = false
            if staged {
                let r = try await stagedMount(
                    d, swap: "cd \(top) && mv u u.away && ln -s v u", ["umount", "./T/u/mnt"])
                result = r.result
            } else {
                let a = try #require(
                    Attacker.start("loop", dir: top, name: "u", away: "u.away", link: "v", ms: 200, logs: d))
                let u = try await aufsctl(in: d, ["umount", "./T/u/mnt"])
                result = u.stderr
                refused = u.status != 0
                a.wait()
                swaps = Int(a.output.split(separator: "\n").last ?? "") ?? 0
            }
            restore(top, "u", from: "u.away")
            let won = !mounted(top + "/v/mnt") || readText(top + "/v/mnt/root-data") != "root\n"
            if mounted(top + "/u/mnt") { _ = try await aufsctl(in: d, ["umount", "./T/u/mnt"]) }
            return (won, result, swaps, refused)
        }
        let staged = try await round(staged: true)
        #expect(!staged.won, "umount took root's tmpfs: \(staged.result)")
        var tally = Tally(path: "umount (mount point's parent)")
        for _ in 0..<raceIterations {
            let r = try await round(staged: false)
            tally.add(won: r.won, swapped: r.swaps > 0, refused: r.refused)
        }
        tally.check()
    }

    /// The pseudo-link flush unlinks entries in a branch's `.wh..wh.plnk`; the branch is the
    /// attacker's, who swaps that directory for a link to root's directory holding a file of the
    /// same name. (A fake union: the flush's protocol over a fixture tree, the swap real.)
    @Test func pseudoLinkDirectorySwap() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        func setUp(fifo: Bool) -> (UnionMount, String) {
            RecursiveRemove.remove(d + "/rw")
            RecursiveRemove.remove(d + "/mnt")
            t.write("mnt/a", "x")
            var st = stat()
            stat(d + "/mnt/a", &st)
            let entry = "\(st.st_ino).777"
            t.mkdirs(d + "/rw/.wh..wh.plnk")
            t.write("rw/.wh..wh.plnk/" + entry, "")
            chownNobody(d + "/rw")
            chownNobody(d + "/rw/.wh..wh.plnk")
            t.mkdirs(d + "/victim")
            t.write("victim/" + entry, "root's\n")
            t.mkdirs(d + "/proc/fs/aufs")
            unlink(d + "/proc/fs/aufs/plink_maint")
            if fifo { mkfifo(d + "/proc/fs/aufs/plink_maint", 0o600) } else { t.write("proc/fs/aufs/plink_maint", "") }
            let m = UnionMount(
                target: "/mnt", filesystem: .aufs, branches: ["/rw=rw"], xino: nil, si: "1", workdir: nil,
                options: "rw,si=1")
            return (m, entry)
        }
        // Staged: the maintenance file is a FIFO, so the flush waits there, after listing the
        // entries and before unlinking them; the swap is made then.
        let (m, entry) = setUp(fifo: true)
        // The flush and the FIFO's reader each on a thread of their own: a pool thread blocked in
        // the FIFO's open would wait for a reader the pool then has no thread left to run.
        let flush = Started { _ = try? PseudoLinks(root: HostRoot(d)).flush(m) }
        usleep(100_000)
        let s = try await asNobody(["sh", "-c", "cd \(d)/rw && mv .wh..wh.plnk away && ln -s ../victim .wh..wh.plnk"])
        #expect(s.status == 0, "\(s.stderr)")
        await offPool {
            let reader = open(d + "/proc/fs/aufs/plink_maint", O_RDONLY)
            var buf = [UInt8](repeating: 0, count: 64)
            while read(reader, &buf, 64) > 0 {}
            close(reader)
        }
        _ = await flush.value
        #expect(readText(d + "/victim/" + entry) == "root's\n", "the flush removed root's file through the link")
        var tally = Tally(path: "pseudo-link directory")
        for _ in 0..<raceIterations {
            let (m, entry) = setUp(fifo: false)
            let a = try #require(
                Attacker.start(
                    "on-event", dir: d + "/rw", name: ".wh..wh.plnk", away: "away", link: "../victim", ms: 2000,
                    logs: d))
            let refused = (try? PseudoLinks(root: HostRoot(d)).flush(m)) == nil
            a.wait()
            tally.add(
                won: readText(d + "/victim/" + entry) != "root's\n", swapped: a.output.contains("swapped"),
                refused: refused)
            unlink(d + "/victim/" + entry)
        }
        tally.check()
    }

    /// `branch add`: what the kernel is given must name the checked directory at the moment of the
    /// call (the fake resolves the branch in the remount's data then, as aufs's kern_path does).
    @Test func branchAddSwap() async throws {
        let (t, d) = layout()
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let root = fixtureRoot(t, mounts: [("aufs", "none", d + "/m", "rw,si=7,br:\(d)/L/c=rw:\(d)/L/i=ro")])
        makeDir(d + "/u/new")
        chownNobody(d + "/u/new")
        final class Resolving: ScriptedSyscalls, @unchecked Sendable {
            var resolved: [String] = []
            var hook: (() -> Void)?
            override func mount(
                source: String, target: String, fstype: String, flags: UInt, data: String
            ) -> Result<Void, SysErrno> {
                hook?()
                hook = nil
                // append=PATH=ro: PATH as the kernel would resolve it now.
                let path = String(data.dropFirst("append=".count).prefix { $0 != "=" })
                resolved.append(FileRead.realPath(path) ?? path)
                return super.mount(source: source, target: target, fstype: fstype, flags: flags, data: data)
            }
        }
        func edit(_ sys: Resolving) {
            var editor = BranchEditor(syscalls: sys, root: root)
            editor.lockPath = d + "/lock"
            editor.flushPseudoLinks = false
            _ = try? editor.edit(.add, target: d + "/m", branch: d + "/u/new", index: nil, dryRun: false)
        }
        let staged = Resolving(root: root)
        staged.hook = {
            let c = Child(
                [
                    "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c",
                    "cd \(d)/u && mv new new.away && ln -s \(d)/victim new",
                ], dir: d)
            c.wait()
        }
        edit(staged)
        #expect(staged.resolved.count == 1 && staged.resolved.first != d + "/victim", "\(staged.resolved)")
        restore(d + "/u", "new", from: "new.away")
        var tally = Tally(path: "branch add")
        for _ in 0..<raceIterations {
            let sys = Resolving(root: root)
            let a = try #require(
                Attacker.start(
                    "on-event", dir: d + "/u", name: "new", away: "new.away", link: d + "/victim", ms: 2000,
                    logs: d))
            edit(sys)
            a.wait()
            tally.add(
                won: sys.resolved.contains(d + "/victim"), swapped: a.output.contains("swapped"),
                refused: sys.resolved.isEmpty)
            restore(d + "/u", "new", from: "new.away")
        }
        tally.check()
    }
}
