// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// git and make acting on a root tree: a clone writes an aufs-standalone-like tree, and make
/// "builds" fs/aufs/aufs.ko only for the branches in `compiles`; the others print `failure`.
final class FakeBuildHost: CommandRunner, @unchecked Sendable {
    let root: String
    var compiles: Set<String>
    var failure: String
    var calls: [[String]] = []
    /// The branch each scratch tree was cloned at.
    var cloned: [String: String] = [:]

    init(root: String, compiles: Set<String>, failure: String) {
        self.root = root
        self.compiles = compiles
        self.failure = failure
    }

    func which(_ name: String) -> String? { nil }

    func run(_ full: [String], environment: [String: String]) async throws -> CommandResult {
        var argv = full
        if argv.first == "chroot" { argv.removeFirst(2) }
        calls.append(argv)
        switch argv.first ?? "" {
        case "git" where argv.dropFirst().first == "clone":
            let dir = argv.last!
            let branch = argv[argv.firstIndex(of: "--branch")! + 1]
            if branch == "missing" {
                return CommandResult(status: 128, stderr: "fatal: Remote branch missing not found")
            }
            try AtomicFile.makeDirectories(root + dir + "/fs/aufs")
            cloned[dir] = branch
            return CommandResult(status: 0)
        case "git": return CommandResult(status: 0, stdout: "0123456789abcdef0123456789abcdef01234567\n")
        case "make":
            let dir = argv[argv.firstIndex(of: "-C")! + 1]
            let branch = cloned[dir] ?? "--source"
            guard compiles.contains(branch) else {
                return CommandResult(status: 2, stdout: failure.replacingOccurrences("TREE", dir))
            }
            try AtomicFile.write(root + dir + "/fs/aufs/aufs.ko", "ko")
            return CommandResult(status: 0, stdout: "  LD [M]  \(dir)/fs/aufs/aufs.ko\n")
        default: return CommandResult(status: 127, stderr: "fake: \(argv)")
        }
    }
}

@Suite struct TrialBuildTests {
    static let vfsRename = """
        make -C /lib/modules/5.10.223-aufs/build M=TREE/fs/aufs modules
          CC [M]  TREE/fs/aufs/vfsub.o
        TREE/fs/aufs/vfsub.c: In function 'vfsub_rename':
        TREE/fs/aufs/vfsub.c:420:26: error: passing argument 1 of 'vfs_rename' from incompatible pointer type
        TREE/fs/aufs/vfsub.c:420:15: error: too many arguments to function 'vfs_rename'
        make[2]: *** [scripts/Makefile.build:291: TREE/fs/aufs/vfsub.o] Error 1
        make: *** [Makefile:43: fs/aufs/aufs.ko] Error 2

        """

    @Test func candidatesInOrder() {
        let k = KernelRelease("5.10.223-aufs")!
        let heads = ["aufs5.10", "aufs5.10.117", "aufs5.10.140", "aufs5.10.82", "aufs5.x-rcN", "aufs5.4", "aufs6.1"]
        #expect(
            AufsBranch.candidates(for: k, sublevel: 223, heads: heads) == ["aufs5.10.140", "aufs5.10", "aufs5.x-rcN"])
        // A sublevel below every point branch leaves the series branch first.
        #expect(AufsBranch.candidates(for: k, sublevel: 50, heads: heads) == ["aufs5.10", "aufs5.x-rcN"])
        #expect(AufsBranch.candidates(for: KernelRelease("6.1.192")!, sublevel: 192, heads: heads) == ["aufs6.1"])
        #expect(AufsBranch.candidates(for: KernelRelease("5.16.0")!, sublevel: 0, heads: heads) == ["aufs5.x-rcN"])
    }

    @Test func sublevelDistance() {
        #expect(AufsBranch.sublevelsPast(branch: "aufs5.10.140", kernelSublevel: 223)! == (140, 83))
        #expect(AufsBranch.sublevelsPast(branch: "aufs6.1", kernelSublevel: 192)! == (0, 192))
        #expect(AufsBranch.sublevelsPast(branch: "aufs5.x-rcN", kernelSublevel: 3) == nil)
        #expect(AufsBranch.sublevelsPast(branch: "aufs5.10.140", kernelSublevel: nil) == nil)
    }

    @Test func buildLogNamesFileAndLine() {
        let e = BuildLog.errors(
            Self.vfsRename.replacingOccurrences("TREE", "/tmp/aufsctl-trial.x/0"), tree: "/tmp/aufsctl-trial.x/0")
        #expect(e.count == 2)
        #expect(e.first?.file == "fs/aufs/vfsub.c" && e.first?.line == 420)
        #expect(e.last?.text == "fs/aufs/vfsub.c:420: error: too many arguments to function 'vfs_rename'")
        let modpost = BuildLog.errors("ERROR: modpost: \"d_walk\" [/s/fs/aufs/aufs.ko] undefined!\n", tree: "/s")
        #expect(modpost.map(\.text) == ["modpost: \"d_walk\" [fs/aufs/aufs.ko] undefined!"])
        // Neither: make's own line.
        let plain = BuildLog.errors("make: *** No targets specified and no makefile found.  Stop.\n", tree: "/s")
        #expect(plain.first?.message.contains("No targets") == true && plain.first?.file == nil)
    }

    func root(kernel: String) -> TempDir {
        let t = TempDir()
        t.mkdirs(t.path + "/tmp")
        t.mkdirs(t.path + "/lib/modules/\(kernel)/build")
        return t
    }

    /// A failed branch is followed by the next; the report says which built and why the others failed,
    /// and the scratch directory is gone afterwards.
    @Test func nextCandidateAfterAFailure() async throws {
        let k = "5.10.223-aufs"
        let t = root(kernel: k)
        let runner = FakeBuildHost(root: t.path, compiles: ["aufs5.10"], failure: Self.vfsRename)
        let report = try await TrialBuild(
            root: HostRoot(t.path), runner: runner, kernel: k,
            source: .repository(
                url: "https://example.org/aufs5.git", branches: ["missing", "aufs5.10.140", "aufs5.10"]),
            jobs: 2, progress: .silent
        ).run()
        #expect(report.built == "aufs5.10")
        #expect(report.attempts.map(\.branch) == ["missing", "aufs5.10.140", "aufs5.10"])
        #expect(report.attempts[0].note?.contains("Remote branch missing not found") == true)
        #expect(report.attempts[1].errors.first?.text.hasPrefix("fs/aufs/vfsub.c:420: error:") == true)
        #expect(report.summary.contains("aufs5.10 builds for 5.10.223-aufs"))
        #expect(
            runner.calls.contains {
                $0.first == "make" && $0.contains("KDIR=/lib/modules/\(k)/build") && $0.last == "aufs.ko"
            })
        #expect(FileRead.list(t.path + "/tmp") == [], "the scratch directory stays behind")
    }

    func facts(trial: TrialBuildReport?, risk: Bool = true) async throws -> HostFacts {
        let t = copyFixture("debian12")
        var f = try await HostProbe(root: HostRoot(t.path), syscalls: FakeSyscalls(), runner: ScriptedRunner()).probe(
            kernel: nil)
        f.build.headers = true
        f.build.branch = AufsBranch(name: "aufs5.10.140", repository: "r", reason: "chosen", known: true)
        f.build.missing = []
        f.build.required = 21
        f.build.lacksPatches = false
        if risk {
            f.build.buildRisk = HostFacts.BuildRisk(
                branch: "aufs5.10.140", branchSublevel: 140, kernelSublevel: 223, sublevelsPast: 83, tested: false)
        }
        f.build.trial = trial
        return f
    }

    @Test func verdictWithoutTrialNamesTheRisk() async throws {
        let v = try #require(Verdict.fromExports(try await facts(trial: nil), overlayWay: "overlay"))
        #expect(v.state == .installable)
        #expect(v.reason.contains("the kernel's sublevel 223 is 83 past aufs5.10.140's 140: the build is untested"))
        var f = try await facts(trial: nil)
        f.build.buildRisk = HostFacts.BuildRisk(
            branch: "aufs6.1", branchSublevel: 0, kernelSublevel: 192, sublevelsPast: 192, tested: false)
        let series = try #require(Verdict.fromExports(f, overlayWay: "overlay"))
        #expect(series.reason.contains("aufs6.1 is the series branch and names no sublevel it was tested with"))
    }

    @Test func verdictFromTrial() async throws {
        let failed = TrialBuildReport(
            kernel: "5.10.223-aufs", headers: "/lib/modules/5.10.223-aufs/build", ranIn: "this host",
            attempts: [
                .init(
                    branch: "aufs5.10.140", source: "u", built: false, seconds: 5,
                    errors: BuildLog.errors(Self.vfsRename.replacingOccurrences("TREE", "/x"), tree: "/x"), note: nil)
            ], built: nil)
        let f = try await facts(trial: failed)
        guard let blocked = Verdict.fromTrial(f, overlayWay: "overlay") else {
            Issue.record("no verdict from the trial")
            return
        }
        #expect(blocked.state == .blocked)
        #expect(blocked.reason.contains("aufs5.10.140 fails to compile for 5.10.223-aufs: fs/aufs/vfsub.c:420: error:"))
        #expect(!blocked.waysOut.joined().contains("aufsctl report"))
        var built = failed
        built.attempts.append(.init(branch: "aufs5.10", source: "u", built: true, seconds: 40, errors: [], note: nil))
        built.built = "aufs5.10"
        let ok = try #require(Verdict.fromTrial(try await facts(trial: built), overlayWay: "overlay"))
        #expect(ok.state == .installable && ok.reason.contains("a trial build of aufs5.10 compiled"))
    }
}

/// aufsctl's kernel hook as rendered: valid sh in each variant, and shellcheck-clean where shellcheck
/// is installed (`make lint` installs it); it never exits non-zero for a kernel it skips.
@Suite struct KernelHookTests {
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func rendersValidSh(skipExports: Bool, trial: Bool) async throws {
        let text = try KernelHook.content(branch: "aufs6.1", source: nil, skipExports: skipExports, trial: trial)
        #expect(text.hasPrefix("#!/bin/sh\n") && text.hasSuffix("exit 0\n"))
        #expect(!text.contains("{{") && !text.contains("exit 4") && !text.contains("exit 1"))
        #expect(text.contains(trial ? "make -C \"$aufsctl_d\"" : "trial build: not asked for"))
        #expect(text.contains(skipExports ? "export check: left out" : "Module.symvers"))
        let t = TempDir()
        t.write("hook", text)
        let n = try await SubprocessRunner().run(["sh", "-n", t.path + "/hook"])
        #expect(n.succeeded, "\(n.stdout)\(n.stderr)")
        if SubprocessRunner().which("shellcheck") != nil {
            let sc = try await SubprocessRunner().run(["shellcheck", "-S", "warning", "-s", "sh", t.path + "/hook"])
            #expect(sc.succeeded, "\(sc.stdout)\(sc.stderr)")
        }
    }
}

/// FakeGitDebian whose trial clones (under the root's /tmp) and make are FakeBuildHost's.
final class TrialFakeDebian: CommandRunner, @unchecked Sendable {
    let git: FakeGitDebian
    let build: FakeBuildHost
    init(_ git: FakeGitDebian, _ build: FakeBuildHost) {
        self.git = git
        self.build = build
    }
    func which(_ name: String) -> String? { nil }
    func run(_ full: [String], environment: [String: String]) async throws -> CommandResult {
        let trial = full.contains { $0.hasPrefix("/tmp/aufsctl-trial.") }
        return try await (trial ? build.run(full, environment: environment) : git.run(full, environment: environment))
    }
}

@Suite struct InstallTrialTests {
    /// `install --build` from a repository: the first candidate fails to compile, the next builds,
    /// and the clone step clones that one; with none building, exit 4 and the packages it
    /// installed are purged again.
    @Test func cloneTakesTheBranchThatBuilt() async throws {
        for builds in [true, false] {
            let t = copyFixture("debian12")
            for tool in ["usr/bin/make", "usr/bin/gcc", "usr/bin/git"] { t.write(tool, "#!/bin/sh\n") }
            t.mkdirs(t.path + "/tmp")
            let debian = FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
            let git = FakeGitDebian(debian)
            let build = FakeBuildHost(
                root: t.path, compiles: builds ? ["aufs6.x-rcN"] : [], failure: TrialBuildTests.vfsRename)
            var o = InstallOptions()
            o.method = .dkms
            o.skipExportCheck = true
            o.noLoad = true
            o.build = true
            let runner = TrialFakeDebian(git, build)
            let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
            guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
            let report = try await Executor(printer: { _ in }).run(
                plan, context: installer.context(facts, o), dryRun: false)
            let tried = build.calls.filter { $0.first == "git" }.compactMap { argv in
                argv.firstIndex(of: "--branch").map { argv[$0 + 1] }
            }
            #expect(tried == ["aufs6.1", "aufs6.x-rcN"], "\(build.calls)")
            let clone = git.gitCalls.first {
                $0.contains("clone") && !$0.contains { $0.hasPrefix("/tmp/aufsctl-trial.") }
            }
            if builds {
                #expect(report.exitCode == .success, "\(report)")
                #expect(clone?.contains("aufs6.x-rcN") == true, "\(git.gitCalls)")
                #expect(
                    report.notes.contains { $0.contains("aufs6.x-rcN builds for 6.1.0-18-amd64") }, "\(report.notes)")
            } else {
                #expect(report.exitCode == .blocked && report.onFailure == .rolledBack, "\(report)")
                #expect(clone == nil)
                #expect(
                    report.message?.contains("aufs6.1 fails to compile for 6.1.0-18-amd64: fs/aufs/vfsub.c:420") == true
                )
                #expect(debian.installed == ["libc6"])
            }
            #expect(FileRead.list(t.path + "/tmp") == [])
        }
    }
}

/// The rendered kernel hook run for real, as dpkg's run-parts runs it, inside a private mount
/// namespace whose /var/lib/dkms, /lib/modules (under an overlay of /usr, so it need not exist) and
/// /var/log are a test tree (nothing on the host changes) and whose dkms is a stub: a kernel it skips (no headers, missing exports, a failed
/// dkms install) is logged with the reason and the hook still exits 0; one that passes is installed.
@Suite(
    .serialized, .enabled(if: geteuid() == 0, "needs root (a private mount namespace): run through `sudo make test`"))
struct KernelHookRunTests {
    static let kver = "6.1.0-99-amd64"

    func run(symvers: String?, dkmsInstall: Int, skipExports: Bool) async throws -> (CommandResult, String, String) {
        let t = TempDir()
        let hook = try KernelHook.content(branch: "aufs6.1", source: nil, skipExports: skipExports, trial: false)
        t.write("hook", hook)
        t.mkdirs(t.path + "/dkms/aufs/0.0-standin/source")
        t.mkdirs(t.path + "/log")
        if let symvers {
            t.write("modules/\(Self.kver)/build/Makefile", "SUBLEVEL = 99\n")
            t.write("modules/\(Self.kver)/build/Module.symvers", symvers)
            t.write("modules/\(Self.kver)/build/.config", "CONFIG_SECURITY=y\n")
        } else {
            t.mkdirs(t.path + "/modules")
        }
        t.write(
            "bin/dkms",
            "#!/bin/sh\necho \"dkms $*\" >>\(t.path)/dkms.calls\n[ \"$1\" = install ] && exit \(dkmsInstall)\nexit 0\n")
        chmod(t.path + "/bin/dkms", 0o755)
        let script = """
            set -e
            mkdir -p \(t.path)/usr-upper \(t.path)/usr-work
            mount -t overlay overlay -o lowerdir=/usr,upperdir=\(t.path)/usr-upper,workdir=\(t.path)/usr-work /usr
            mkdir -p /usr/lib/modules
            mount --bind \(t.path)/modules /usr/lib/modules
            mount --bind \(t.path)/dkms /var/lib/dkms
            mount --bind \(t.path)/log /var/log
            PATH=\(t.path)/bin:$PATH sh \(t.path)/hook \(Self.kver)
            """
        let r = try await SubprocessRunner().run(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
        let log = FileRead.string(t.path + "/log/aufsctl/kernel-hook.log") ?? ""
        return (r, log, FileRead.string(t.path + "/dkms.calls") ?? "")
    }

    @Test func skipsWithoutHeaders() async throws {
        let (r, log, calls) = try await run(symvers: nil, dkmsInstall: 0, skipExports: false)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(log.contains("\(Self.kver): skipped for now: no headers"), "\(log)")
        #expect(!calls.contains("dkms install"))
    }

    @Test func skipsAKernelWithoutTheExports() async throws {
        let (r, log, calls) = try await run(
            symvers: "0x1\tkernel_read\tvmlinux\tEXPORT_SYMBOL\t\n", dkmsInstall: 0, skipExports: false)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(log.contains("\(Self.kver): skipped: the kernel lacks exports aufs6.1 needs: d_walk"), "\(log)")
        #expect(r.stderr.contains("aufsctl kernel hook: \(Self.kver): skipped"))
        #expect(!calls.contains("dkms install"), "\(calls)")
    }

    @Test func aFailedBuildIsSkippedAndRemoved() async throws {
        let (r, log, calls) = try await run(symvers: "", dkmsInstall: 10, skipExports: true)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(log.contains("skipped: dkms install aufs/0.0-standin failed"), "\(log)")
        #expect(calls.contains("dkms install aufs/0.0-standin -k \(Self.kver)"))
        #expect(calls.contains("dkms remove aufs/0.0-standin -k \(Self.kver)"), "\(calls)")
    }

    @Test func aPassingKernelIsInstalled() async throws {
        let (r, log, _) = try await run(symvers: "", dkmsInstall: 0, skipExports: true)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(log.contains("\(Self.kver): built and installed aufs/0.0-standin"), "\(log)")
    }
}
