// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// A Debian host's dpkg-query, apt-get and dkms acting on a root tree (cp runs for real).
final class FakeDebian: CommandRunner, @unchecked Sendable {
    let root: String
    var calls: [[String]] = []
    var failing: String?
    var installed: Set<String> = ["libc6"]
    var dkms: [String: String] = [:]  // "V" -> "added", "V/K" -> "built"/"installed"
    let kver: String
    let symvers: String

    init(root: String, kver: String, symvers: String) {
        self.root = root
        self.kver = kver
        self.symvers = symvers
    }

    func which(_ name: String) -> String? { nil }

    func run(_ full: [String], environment: [String: String]) async throws -> CommandResult {
        // cp, sha256sum and git run for real (on the host's paths: the source tree, the digest file).
        if ["cp", "sha256sum", "git"].contains(full.first ?? "") {
            return try await SubprocessRunner().run(full, environment: environment)
        }
        var argv = full
        if argv.first == "chroot" { argv.removeFirst(2) }
        calls.append(argv)
        let key = argv.joined(separator: " ")
        if key == failing { return CommandResult(status: 1, stderr: "simulated failure") }
        switch (argv.first ?? "", argv.dropFirst().first ?? "") {
        case ("dpkg-query", _):
            if argv.count == 4 {
                return installed.contains(argv[3])
                    ? CommandResult(status: 0, stdout: "install ok installed") : CommandResult(status: 1)
            }
            return CommandResult(status: 0, stdout: installed.sorted().map { "\($0) install ok installed\n" }.joined())
        case ("apt-get", "install"):
            for p in Self.packages(argv) {
                installed.insert(p)
                if p == "dkms" {
                    try AtomicFile.makeDirectories(root + "/usr/sbin");
                    try AtomicFile.write(root + "/usr/sbin/dkms", "#!/bin/sh\n")
                }
                if let k = Self.headersKernel(p) {
                    installed.insert("linux-kbuild-6.1")
                    try AtomicFile.makeDirectories(root + "/lib/modules/\(k)/build")
                    try AtomicFile.write(root + "/lib/modules/\(k)/build/Module.symvers", symvers)
                }
            }
            return CommandResult(status: 0)
        case ("apt-get", "remove"), ("apt-get", "purge"):
            for p in Self.packages(argv) {
                installed.remove(p)
                if p == "dkms" { RecursiveRemove.remove(root + "/usr/sbin/dkms") }
                if let k = Self.headersKernel(p) { RecursiveRemove.remove(root + "/lib/modules/\(k)/build") }
            }
            return CommandResult(status: 0)
        case ("dkms", "status"):
            var out = ""
            for v in dkms.keys.filter({ !$0.contains("/") }).sorted() {
                let builds = dkms.keys.filter { $0.hasPrefix(v + "/") }.sorted()
                if builds.isEmpty { out += "aufs/\(v): added\n" }
                for b in builds { out += "aufs/\(v), \(b.dropFirst(v.count + 1)), x86_64: \(dkms[b]!)\n" }
            }
            return CommandResult(status: 0, stdout: out)
        case ("dkms", "add"): dkms[String(argv[2].dropFirst(5))] = "added"
        case ("dkms", "build"): dkms["\(argv[2].dropFirst(5))/\(argv[4])"] = "built"
        case ("dkms", "install"): dkms["\(argv[2].dropFirst(5))/\(argv[4])"] = "installed"
        case ("dkms", "remove"):
            let v = String(argv[2].dropFirst(5))
            if let i = argv.firstIndex(of: "-k") {
                guard dkms.removeValue(forKey: "\(v)/\(argv[i + 1])") != nil else {
                    return CommandResult(status: 3, stderr: "not installed")
                }
                // Like dkms 3.0: removing the last kernel's build removes the module.
                if !dkms.keys.contains(where: { $0.hasPrefix(v + "/") }) { dkms.removeValue(forKey: v) }
            } else {
                guard dkms.removeValue(forKey: v) != nil else {
                    return CommandResult(status: 3, stderr: "no instances")
                }
                for k in dkms.keys where k.hasPrefix(v + "/") { dkms.removeValue(forKey: k) }
            }
        default: return CommandResult(status: 127, stderr: "fake: \(key)")
        }
        return CommandResult(status: 0)
    }

    /// apt-get's package arguments: its options (`-y`, `-o NAME=VALUE`) left out.
    static func packages(_ argv: [String]) -> [String] {
        var out: [String] = []
        var skipNext = false
        for a in argv.dropFirst(2) {
            if skipNext {
                skipNext = false
            } else if a == "-o" {
                skipNext = true
            } else if !a.hasPrefix("-") {
                out.append(a)
            }
        }
        return out
    }

    /// `linux-headers-6.1.0-18-amd64` -> its kernel; meta packages (`linux-headers-amd64`) -> nil.
    static func headersKernel(_ p: String) -> String? {
        guard p.hasPrefix("linux-headers-") else { return nil }
        let k = p.dropFirst("linux-headers-".count)
        return k.first?.isNumber == true ? String(k) : nil
    }

    var mutating: [String] {
        calls.map { $0.joined(separator: " ") }.filter { !$0.hasPrefix("dpkg-query") && !$0.hasPrefix("dkms status") }
    }
}

@Suite struct DKMSPlanTests {
    static let kver = "6.1.0-18-amd64"
    static let fresh = [
        "apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 dkms build-essential linux-headers-amd64 "
            + "linux-headers-6.1.0-18-amd64",
        "dkms add aufs/0.0-standin",
        "dkms build aufs/0.0-standin -k 6.1.0-18-amd64 -j 2",
        "dkms install aufs/0.0-standin -k 6.1.0-18-amd64",
    ]
    static let realSymvers = "0x1\tkernel_read\tvmlinux\tEXPORT_SYMBOL\t\n"

    func options(skip: Bool = true) -> InstallOptions {
        var o = InstallOptions()
        o.method = .dkms
        o.source = .directory(packageRoot() + "/Kernel/standin")
        o.skipExportCheck = skip
        o.noLoad = true
        o.jobs = 2
        return o
    }

    func apply(_ t: TempDir, _ runner: FakeDebian, _ o: InstallOptions) async throws -> InstallReport {
        let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
        return try await Executor(printer: { _ in }).run(plan, context: installer.context(facts, o), dryRun: false)
    }

    @Test func freshThenRerun() async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: Self.kver, symvers: Self.realSymvers)
        let report = try await apply(t, runner, options())
        #expect(runner.mutating == Self.fresh)
        #expect(report.exitCode.rawValue == 0)
        #expect(
            FileRead.string(t.path + "/usr/src/aufs-0.0-standin/dkms.conf")?.contains("PACKAGE_VERSION=\"0.0-standin\"")
                == true)
        #expect(FileRead.isDirectory(t.path + "/usr/src/aufs-0.0-standin/fs/aufs"))
        #expect(FileRead.string(t.path + "/etc/modules-load.d/aufs.conf")?.hasSuffix("\naufs\n") == true)

        let again = FakeDebian(root: t.path, kver: Self.kver, symvers: Self.realSymvers)
        again.installed = runner.installed
        again.dkms = runner.dkms
        let second = try await apply(t, again, options())
        #expect(again.mutating.isEmpty, "\(again.mutating)")
        // The export check was turned off by --skip-export-check: said, never "ok".
        #expect(second.steps.map(\.status) == second.steps.map { $0.id == "exports" ? .skipped : .ok })
        #expect(second.steps.first { $0.id == "exports" }?.evidence == ["skipped: --skip-export-check"])
        #expect(report.steps.first { $0.id == "exports" }?.status == .skipped)
    }

    static let purge =
        "apt-get purge -y -o DPkg::Lock::Timeout=600 build-essential dkms linux-headers-6.1.0-18-amd64 "
        + "linux-headers-amd64 linux-kbuild-6.1"

    /// A failure at each mutating step rolls back what the run applied, newest first: the host
    /// is as before (packages purged, /usr/src and dkms empty, no record), exit 1.
    @Test(arguments: 0..<4)
    func failureAtEachStepRollsBack(_ i: Int) async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: Self.kver, symvers: Self.realSymvers)
        runner.failing = Self.fresh[i]
        let report = try await apply(t, runner, options())
        #expect(report.exitCode == .failure, "\(report)")
        #expect(report.onFailure == (i == 0 ? nil : .rolledBack))
        #expect(report.steps.filter { $0.status == .failed }.count == 1)
        #expect(report.message?.contains(i == 0 ? "step packages failed" : "rolled back") == true)
        let after = runner.mutating.drop { $0 != Self.fresh[i] }
        #expect(after.first == Self.fresh[i])
        #expect(after.last == (i == 0 ? Self.fresh[0] : Self.purge), "\(runner.mutating)")
        #expect(!FileRead.exists(t.path + "/usr/src/aufs-0.0-standin"))
        #expect(!FileRead.exists(t.path + "/lib/modules/\(Self.kver)/build"))
        #expect(!FileRead.exists(t.path + "/etc/kernel/postinst.d/aufsctl"))
        #expect(runner.installed == ["libc6"])
        #expect(runner.dkms.isEmpty)
        #expect(try InstallState.load(root: HostRoot(t.path)).installs.isEmpty)
    }

    /// --keep-on-failure: what the run applied stays (exit 6 once something changed), recorded, and
    /// uninstall takes it away.
    @Test(arguments: 0..<4)
    func failureAtEachStepKept(_ i: Int) async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: Self.kver, symvers: Self.realSymvers)
        runner.failing = Self.fresh[i]
        var o = options()
        o.keepOnFailure = true
        let report = try await apply(t, runner, o)
        #expect(report.exitCode == (i == 0 ? AufsExitCode.failure : AufsExitCode.partial))
        #expect(i == 0 || report.onFailure == .kept)
        #expect(report.steps.filter { $0.status == .failed }.count == 1)
        #expect(runner.mutating.last == Self.fresh[i])
        _ = try await Uninstaller(printer: { _ in }).run(root: HostRoot(t.path), runner: runner, dryRun: false)
        #expect(!FileRead.exists(t.path + "/usr/src/aufs-0.0-standin"))
        #expect(!FileRead.exists(t.path + "/lib/modules/\(Self.kver)/build"))
        #expect(runner.installed == ["libc6"])
        #expect(runner.dkms.isEmpty)
        #expect(try InstallState.load(root: HostRoot(t.path)).installs.isEmpty)
    }

    @Test func preflightStopsBeforeBuilding() async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: Self.kver, symvers: Self.realSymvers)
        let report = try await apply(t, runner, options(skip: false))
        // Without headers the packages come first; the preflight then blocks and they are purged again.
        #expect(report.exitCode.rawValue == AufsExitCode.blocked.rawValue)
        #expect(runner.mutating == [Self.fresh[0], Self.purge])
        #expect(report.onFailure == .rolledBack && runner.installed == ["libc6"])
        let blocked = report.steps.first { $0.status == .blocked }
        #expect(blocked?.id == "exports")
        #expect(
            blocked?.evidence.first?.contains(
                "does not carry aufs's standalone patch: it exports 0 of the 21 symbols aufs6.1 needs (missing: d_walk, d_exchange"
            ) == true, "\(String(describing: blocked))")
    }

    /// A dry run on a host without dkms reports every dkms step as a change, never "could not run dkms".
    @Test func dryRunWithoutDKMS() async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: Self.kver, symvers: Self.realSymvers)
        let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(options()) else {
            throw AufsError("no plan")
        }
        let report = try await Executor(printer: { _ in }).run(
            plan, context: installer.context(facts, options()), dryRun: true)
        #expect(report.exitCode.rawValue == 0, "\(report)")
        for id in ["packages", "usr-src", "dkms-add", "dkms-build", "dkms-install"] {
            let st = report.steps.first(where: { $0.id == id })?.status
            #expect(st == .pending, "\(id): \(String(describing: st))")
        }
        #expect(!runner.calls.contains { $0.first == "dkms" }, "\(runner.calls)")
        #expect(runner.mutating.isEmpty)
    }

    @Test func cloneBranchAndRepository() {
        #expect(AufsBranch.repository(major: 5).hasSuffix("/aufs-standalone.git"))
        #expect(AufsBranch.repository(major: 4).hasSuffix("/aufs4-standalone.git"))
        #expect(DKMSMethod.aufsVersion(header: "#define AUFS_NAME \"aufs\"\n#define AUFS_VERSION\t\"6.1\"\n") == "6.1")
        #expect(DKMSMethod.aufsVersion(header: "#define AUFS_VERSION \"$(x)\"\n") == nil)
    }
}

/// The export preflight of `--emit-sh` decides like the Swift one: the patched 5.10.218 fixture
/// passes (CONFIG_SECURITY_PATH unset), the stock 5.10.0-28 kernel stops with exit 4.
@Suite struct EmittedExportCheckTests {
    func run(_ kver: String) async throws -> CommandResult {
        let lines = DKMSMethod.exportShell(
            source: nil, k: KernelRelease(kver)!, branch: "aufs5.10.140", build: "/lib/modules/\(kver)/build")
        let script =
            "set -eu\nROOT=\(ShellScript.quote(packageRoot() + "/Tests/Fixtures/roots/debian11"))\n"
            + lines.joined(separator: "\n") + "\n"
        return try await SubprocessRunner().run(["/bin/sh", "-c", script])
    }

    @Test func patchedPassesStockStops() async throws {
        let patched = try await run("5.10.218-aufstest")
        #expect(patched.status == 0, "\(patched.stderr)")
        let stock = try await run("5.10.0-28-amd64")
        #expect(stock.status == 4)
        #expect(
            stock.stderr.contains("kernel 5.10.0-28-amd64 lacks exports aufs5.10.140 needs: d_walk"), "\(stock.stderr)")
        #expect(stock.stderr.contains("security_path_chmod") && !stock.stderr.contains("iterate_mounts"))
    }
}

/// Several install records, one journal: two dkms installs (kernels A and B, sharing dkms, the
/// packages, the module and aufs.conf) and a third record, undone in every order. Whatever the
/// order, what a remaining record uses stays, and at the end every file is as it was.
@Suite struct SeveralInstallsTests {
    static let a = "6.1.0-18-amd64", b = "6.1.0-20-amd64"

    func install(_ t: TempDir, _ runner: FakeDebian, kernel: String) async throws {
        var o = InstallOptions()
        o.method = .dkms
        o.source = .directory(packageRoot() + "/Kernel/standin")
        o.skipExportCheck = true
        o.noLoad = true
        o.kernel = KernelRelease(kernel)
        let installer = Installer(root: HostRoot(t.path), runner: runner, syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
        let report = try await Executor(printer: { _ in }).run(
            plan, context: installer.context(facts, o), dryRun: false)
        #expect(report.exitCode.rawValue == 0, "\(report)")
    }

    /// Every file of the tree with its bytes (state and backups excluded).
    func snapshot(_ root: String) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        func walk(_ rel: String) {
            for name in FileRead.list(root + rel) ?? [] {
                let p = rel + "/" + name
                if p.hasPrefix("/var/lib/aufsctl") { continue }
                var st = stat()
                guard lstat(root + p, &st) == 0 else { continue }
                if st.st_mode & S_IFMT == S_IFDIR {
                    walk(p)
                } else if case .success(let b) = FileRead.bytes(root + p) {
                    out[p] = b
                } else {
                    out[p] = []
                }
            }
        }
        walk("")
        return out
    }

    @Test(arguments: [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]])
    func undoInAnyOrder(_ order: [Int]) async throws {
        let t = copyFixture("debian12")
        let original = snapshot(t.path)
        let runner = FakeDebian(root: t.path, kver: Self.a, symvers: DKMSPlanTests.realSymvers)
        try await install(t, runner, kernel: Self.a)
        try await install(t, runner, kernel: Self.b)
        #expect(
            runner.dkms == [
                "0.0-standin": "added", "0.0-standin/\(Self.a)": "installed", "0.0-standin/\(Self.b)": "installed",
            ])
        // A third record (as a persisted union will be): its own file, and it relies on aufs.conf.
        var state = try InstallState.load(root: HostRoot(t.path))
        try AtomicFile.write(t.path + "/etc/aufsctl-third.conf", "third\n")
        state.installs.append(
            .init(
                id: 3, method: .ubuntuExtra, kernel: "other",
                steps: [
                    .init(
                        id: "third", title: "third", undo: [.removeFile(path: "/etc/aufsctl-third.conf")],
                        uses: [.file("/etc/modules-load.d/aufs.conf")])
                ], source: nil))
        try state.save(root: HostRoot(t.path))
        #expect(state.installs.map(\.id) == [1, 2, 3])
        #expect(Uninstaller.list(state).count == 3)

        var left = Set([1, 2, 3])
        for id in order {
            try await Uninstaller(printer: { _ in }).run(
                root: HostRoot(t.path), runner: runner, dryRun: false, selection: .id(id))
            left.remove(id)
            let aufsConf = FileRead.exists(t.path + "/etc/modules-load.d/aufs.conf")
            #expect(aufsConf == !left.isEmpty, "after undoing \(id) (left \(left.sorted())): aufs.conf \(aufsConf)")
            #expect(FileRead.exists(t.path + "/etc/aufsctl-third.conf") == left.contains(3))
            let dkmsLeft = left.contains(1) || left.contains(2)
            #expect(runner.installed.contains("dkms") == dkmsLeft, "after undoing \(id): \(runner.installed.sorted())")
            #expect((runner.dkms["0.0-standin/\(Self.a)"] != nil) == left.contains(1), "\(runner.dkms)")
            #expect((runner.dkms["0.0-standin/\(Self.b)"] != nil) == left.contains(2), "\(runner.dkms)")
            #expect(FileRead.isDirectory(t.path + "/usr/src/aufs-0.0-standin") == dkmsLeft)
        }
        #expect(try InstallState.load(root: HostRoot(t.path)).installs.isEmpty)
        #expect(runner.installed == ["libc6"] && runner.dkms.isEmpty)
        let now = snapshot(t.path)
        #expect(
            now == original,
            "changed: \(Set(now.keys).symmetricDifference(original.keys).sorted()) \(now.keys.filter { original[$0] != nil && original[$0] != now[$0] }.sorted())"
        )
    }

    @Test func allUndoesEveryRecord() async throws {
        let t = copyFixture("debian12")
        let original = snapshot(t.path)
        let runner = FakeDebian(root: t.path, kver: Self.a, symvers: DKMSPlanTests.realSymvers)
        try await install(t, runner, kernel: Self.a)
        try await install(t, runner, kernel: Self.b)
        try await Uninstaller(printer: { _ in }).run(
            root: HostRoot(t.path), runner: runner, dryRun: false, selection: .all)
        #expect(try InstallState.load(root: HostRoot(t.path)).installs.isEmpty)
        #expect(runner.installed == ["libc6"] && runner.dkms.isEmpty)
        #expect(snapshot(t.path) == original)
        await #expect(throws: AufsError.self) {
            try await Uninstaller(printer: { _ in }).run(
                root: HostRoot(t.path), runner: runner, dryRun: false, selection: .id(7))
        }
    }
}

/// git for the clone path: `git clone`/`init`+`fetch`+`checkout` lay the stand-in into the clone
/// directory, `rev-parse HEAD` answers a fixed commit; everything else goes to FakeDebian.
final class FakeGitDebian: CommandRunner, @unchecked Sendable {
    let debian: FakeDebian
    let head = "0123456789abcdef0123456789abcdef01234567"
    var gitCalls: [[String]] = []
    var gitEnvironments: [[String: String]] = []
    init(_ debian: FakeDebian) { self.debian = debian }
    func which(_ name: String) -> String? { nil }
    func run(_ full: [String], environment: [String: String]) async throws -> CommandResult {
        var argv = full
        if argv.first == "chroot" { argv.removeFirst(2) }
        guard argv.first == "git" else { return try await debian.run(full, environment: environment) }
        gitCalls.append(argv)
        gitEnvironments.append(environment)
        let clone = debian.root + DKMSMethod.cloneDir
        if argv.contains("ls-remote") { return CommandResult(status: 128, stderr: "offline") }
        if argv.contains("clone") || argv.contains("checkout") {
            try AtomicFile.makeDirectories(clone)
            _ = try await SubprocessRunner().run(["cp", "-a", packageRoot() + "/Kernel/standin/.", clone + "/"])
        }
        if argv.contains("rev-parse") { return CommandResult(status: 0, stdout: head + "\n") }
        return CommandResult(status: 0)
    }
}

@Suite struct SourceProvenanceTests {
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

    /// --source DIR: the digest of the files the module is built from, in the state, the report
    /// and check's facts; the same tree gives the same digest.
    @Test func sourceDirectoryDigest() async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
        let report = try await install(t, runner) { $0.source = .directory(packageRoot() + "/Kernel/standin") }
        #expect(report.exitCode.rawValue == 0, "\(report)")
        let source = try #require(try InstallState.load(root: HostRoot(t.path)).installs.first?.source)
        #expect(source.hasPrefix(packageRoot() + "/Kernel/standin sha256:") && source.contains(" files)"), "\(source)")
        // The provenance is the report's source, not a next step.
        #expect(report.source == source)
        #expect(!report.afterwards.contains { $0.contains(source) })
        let facts = try await HostProbe(root: HostRoot(t.path), runner: ScriptedRunner()).probe()
        #expect(facts.dkms.builtFrom == ["\(DKMSPlanTests.kver): \(source)"])
        let again = TempDir()
        _ = try await SubprocessRunner().run(["cp", "-a", packageRoot() + "/Kernel/standin/.", again.path + "/"])
        let t2 = copyFixture("debian12")
        _ = try await install(
            t2, FakeDebian(root: t2.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
        ) { $0.source = .directory(again.path) }
        let source2 = try #require(try InstallState.load(root: HostRoot(t2.path)).installs.first?.source)
        #expect(
            source2.split(separator: " ")[1] == source.split(separator: " ")[1], "the same files give the same digest")
    }

    /// A clone records the repository, branch and commit; --source-ref fetches that commit only,
    /// and every git call that reaches the network allows https/http only, without submodules.
    @Test func cloneRecordsTheCommit() async throws {
        let t = copyFixture("debian12")
        let runner = FakeGitDebian(
            FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers))
        let report = try await install(t, runner) { _ in }
        #expect(report.exitCode.rawValue == 0, "\(report)")
        let source = try #require(try InstallState.load(root: HostRoot(t.path)).installs.first?.source)
        #expect(source == "https://github.com/sfjro/aufs-standalone.git branch aufs6.1 at \(runner.head)")
        let i = try #require(runner.gitCalls.firstIndex { $0.contains("clone") })
        #expect(
            runner.gitCalls[i].contains("--no-recurse-submodules")
                && runner.gitEnvironments[i]["GIT_ALLOW_PROTOCOL"] == "https:http")

        let t2 = copyFixture("debian12")
        let r2 = FakeGitDebian(FakeDebian(root: t2.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers))
        let pinned = try await install(t2, r2) { $0.sourceRef = .commit(r2.head) }
        #expect(pinned.exitCode.rawValue == 0, "\(pinned)")
        let f = try #require(r2.gitCalls.firstIndex { $0.contains("fetch") && $0.contains(r2.head) })
        #expect(r2.gitEnvironments[f]["GIT_ALLOW_PROTOCOL"] == "https:http")
        #expect(!r2.gitCalls.contains { $0.contains("ls-remote") }, "a pinned commit needs no branch choice")
        #expect(
            try InstallState.load(root: HostRoot(t2.path)).installs.first?.source
                == "https://github.com/sfjro/aufs-standalone.git commit \(r2.head) at \(r2.head)")

        let t3 = copyFixture("debian12")
        let r3 = FakeGitDebian(FakeDebian(root: t3.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers))
        let other = String(repeating: "f", count: 40)
        let wrong = try await install(t3, r3) { $0.sourceRef = .commit(other) }
        #expect(
            wrong.exitCode.rawValue != 0 && wrong.message?.contains("not the commit \(other)") == true,
            "\(String(describing: wrong.message))")
    }

    @Test(arguments: [
        "file:///srv/aufs", "ext::sh -c touch% /tmp/pwned", "git://example.org/aufs", "ssh://git@example.org/aufs",
    ])
    func refusedTransports(_ url: String) async throws {
        let r = try await aufsctl(["install", "--method", "dkms", "--source", url, "--dry-run"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("only https:// (or http://) repositories are cloned"), "\(r.stderr)")
    }

    /// --source-ref names a branch or a full commit (--aufs-branch is its old name).
    @Test func sourceRefIsABranchOrAFullCommit() async throws {
        let r = try await aufsctl(["install", "--method", "dkms", "--source-ref", "aufs6.1", "--dry-run"])
        #expect(r.status != 2, "a branch name is accepted: \(r.stderr)")
        let old = try await aufsctl(["install", "--method", "dkms", "--aufs-branch", "aufs6.1", "--dry-run"])
        #expect(old.status == r.status, "the old option name still works: \(old.stderr)")
        let short = try await aufsctl(["install", "--method", "dkms", "--source-ref", "0123456789ab", "--dry-run"])
        #expect(
            short.status == 2 && short.stderr.contains("abbreviated commit id"),
            "an abbreviated id cannot be fetched: \(short.stderr)")
        let bad = try await aufsctl(["install", "--method", "dkms", "--source-ref", "a..b", "--dry-run"])
        #expect(bad.status == 2 && bad.stderr.contains("not a git branch name"), "\(bad.stderr)")
        let method = try await aufsctl(["install", "--method", "yum", "--dry-run"])
        #expect(method.status == 2 && method.stderr.contains("'kernel-ml-aufs'"), "\(method.stderr)")
    }

    /// A run that stops at a preflight leaves no record (the uses of done steps are kept only once
    /// the install changes something or completes).
    @Test func refusedRunLeavesNoRecord() async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
        _ = try await install(t, runner) { $0.source = .directory(packageRoot() + "/Kernel/standin") }
        let before = try InstallState.load(root: HostRoot(t.path)).installs
        // The second kernel's headers exist but its exports are checked: the preflight refuses.
        let k2 = "6.1.0-20-amd64"
        try AtomicFile.makeDirectories(t.path + "/lib/modules/\(k2)/build")
        try AtomicFile.write(t.path + "/lib/modules/\(k2)/build/Module.symvers", DKMSPlanTests.realSymvers)
        let refused = try await install(t, runner) {
            $0.source = .directory(packageRoot() + "/Kernel/standin"); $0.skipExportCheck = false;
            $0.kernel = KernelRelease(k2)
        }
        #expect(refused.exitCode == .blocked, "\(refused)")
        #expect(try InstallState.load(root: HostRoot(t.path)).installs == before)
    }
}

@Suite struct UndoOrderTests {
    /// Record 1 created aufs.conf, record 2 changed it (restoreFile from a backup): whatever the
    /// order they are undone in, the file ends as it was before both, i.e. absent.
    @Test(arguments: [[1, 2], [2, 1]])
    func newerChangeIsUndoneFirst(_ order: [Int]) async throws {
        let t = copyFixture("debian12")
        let conf = "/etc/modules-load.d/aufs.conf"
        try AtomicFile.makeDirectories(t.path + "/etc/modules-load.d")
        try AtomicFile.makeDirectories(t.path + "/var/lib/aufsctl/backups")
        try AtomicFile.write(t.path + conf, "aufs # v2\n")
        try AtomicFile.write(t.path + "/var/lib/aufsctl/backups/conf.0", "aufs # v1\n")
        var state = InstallState()
        state.installs = [
            .init(
                id: 1, method: .dkms, kernel: "a",
                steps: [.init(id: "persist", title: "p", undo: [.removeFile(path: conf)], uses: [.file(conf)])],
                source: nil),
            .init(
                id: 2, method: .dkms, kernel: "b",
                steps: [
                    .init(
                        id: "persist", title: "p",
                        undo: [.restoreFile(path: conf, backup: "/var/lib/aufsctl/backups/conf.0")],
                        uses: [.file(conf)])
                ], source: nil),
        ]
        try state.save(root: HostRoot(t.path))
        for id in order {
            try await Uninstaller(printer: { _ in }).run(
                root: HostRoot(t.path), runner: ScriptedRunner(), dryRun: false, selection: .id(id))
            if id == order[0] { #expect(FileRead.exists(t.path + conf), "still used by the other record") }
            if id == order[0] { #expect(FileRead.exists(t.path + InstallState.path), "one record is left") }
        }
        #expect(!FileRead.exists(t.path + conf), "\(FileRead.string(t.path + conf) ?? "")")
        #expect(!FileRead.exists(t.path + InstallState.path), "no record left: no state file")
        #expect(try InstallState.load(root: HostRoot(t.path)).installs.isEmpty)
    }

    /// A dry run of --all previews what the real run does: the shared undos appear as actions,
    /// not only as "kept for record N".
    @Test func dryRunOfAllShowsTheSharedUndos() async throws {
        let t = copyFixture("debian12")
        let runner = FakeDebian(root: t.path, kver: SeveralInstallsTests.a, symvers: DKMSPlanTests.realSymvers)
        try await SeveralInstallsTests().install(t, runner, kernel: SeveralInstallsTests.a)
        try await SeveralInstallsTests().install(t, runner, kernel: SeveralInstallsTests.b)
        let lines = Lines()
        try await Uninstaller(printer: { lines.add($0) }).run(
            root: HostRoot(t.path), runner: runner, dryRun: true, selection: .all)
        let all = lines.all.joined(separator: "\n")
        #expect(all.contains("would undo dkms-add: dkms remove aufs/0.0-standin --all"), "\(all)")
        #expect(
            all.contains("would undo persist: remove /etc/modules-load.d/aufs.conf")
                || all.contains("would undo from-"), "\(all)")
        #expect(all.contains("apt-get purge -y") && all.contains("dkms"), "\(all)")
        #expect(try InstallState.load(root: HostRoot(t.path)).installs.count == 2, "a dry run changes nothing")
    }
}

final class Lines: @unchecked Sendable {
    var all: [String] = []
    func add(_ s: String) { all.append(s) }
}

/// `install --all-kernels`: every other installed kernel of the series with headers gets its own
/// dkms build and install (one record); one without headers or of another series is named and left
/// out; a failed build for one of them rolls back the whole run.
@Suite struct AllKernelsTests {
    func root() -> TempDir {
        let t = copyFixture("debian12")
        t.write("lib/modules/6.1.0-20-amd64/build/Module.symvers", DKMSPlanTests.realSymvers)
        t.write("lib/modules/5.10.0-28-amd64/build/Module.symvers", DKMSPlanTests.realSymvers)
        t.write("boot/vmlinuz-6.1.0-21-amd64", "")
        return t
    }

    func options() -> InstallOptions {
        var o = DKMSPlanTests().options()
        o.method = nil
        o.allKernels = true
        return o
    }

    @Test func buildsForEachKernelOfTheSeries() async throws {
        let t = root()
        let runner = FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
        let report = try await DKMSPlanTests().apply(t, runner, options())
        #expect(report.exitCode == .success, "\(report)")
        #expect(
            runner.mutating.suffix(2) == [
                "dkms build aufs/0.0-standin -k 6.1.0-20-amd64 -j 2", "dkms install aufs/0.0-standin -k 6.1.0-20-amd64",
            ], "\(runner.mutating)")
        #expect(runner.dkms["0.0-standin/6.1.0-18-amd64"] == "installed")
        #expect(runner.dkms["0.0-standin/6.1.0-20-amd64"] == "installed")
        #expect(runner.dkms["0.0-standin/5.10.0-28-amd64"] == nil)
        #expect(report.afterwards.contains { $0.contains("not built for 5.10.0-28-amd64 (another series") })
        #expect(report.afterwards.contains { $0.contains("not built for 6.1.0-21-amd64 (no headers") })
        let record = try #require(try InstallState.load(root: HostRoot(t.path)).installs.first)
        #expect(
            record.steps.contains {
                $0.undo.contains(.dkmsRemove(module: "aufs/0.0-standin", kernel: "6.1.0-20-amd64"))
            })
    }

    @Test func aFailedOtherKernelRollsBackTheRun() async throws {
        let t = root()
        let runner = FakeDebian(root: t.path, kver: DKMSPlanTests.kver, symvers: DKMSPlanTests.realSymvers)
        runner.failing = "dkms build aufs/0.0-standin -k 6.1.0-20-amd64 -j 2"
        let report = try await DKMSPlanTests().apply(t, runner, options())
        #expect(report.exitCode == .failure && report.onFailure == .rolledBack, "\(report)")
        #expect(runner.dkms.isEmpty && runner.installed == ["libc6"])
        #expect(!FileRead.exists(t.path + "/usr/src/aufs-0.0-standin"))
        #expect(try InstallState.load(root: HostRoot(t.path)).installs.isEmpty)
    }
}
