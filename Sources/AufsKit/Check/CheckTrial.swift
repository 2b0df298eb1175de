// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `check --build`: the branch check chose compiled against the kernel's headers in a scratch
/// directory. Where the source comes from: `--source DIR` (its tree as it is), else a shallow
/// clone of each candidate branch from `--source URL` or the branch's aufs-standalone repository
/// (the only time `check` uses the network, and it says so).
public struct CheckBuildRequest: Sendable {
    public var source: AufsSource?
    public var sourceRef: SourceRef?
    public var jobs: Int
    public var skipExportCheck: Bool

    public init(source: AufsSource?, sourceRef: SourceRef?, jobs: Int, skipExportCheck: Bool) {
        self.source = source
        self.sourceRef = sourceRef
        self.jobs = jobs
        self.skipExportCheck = skipExportCheck
    }
}

public enum CheckTrial {
    /// Runs the trial and records it in `facts.build` (or why it could not run).
    public static func run(
        _ facts: inout HostFacts, root: HostRoot, runner: any CommandRunner, request: CheckBuildRequest,
        progress: ProgressSink
    ) async {
        if request.skipExportCheck { facts.build.exportCheckSkipped = true }
        guard facts.build.headers else {
            facts.build.trialProblem =
                "not compiled: no headers at \(facts.build.headersPath); install linux-headers-\(facts.kernel.release)"
            return
        }
        // Missing exports decide the verdict anyway (modpost would stop the build): no compile for it.
        if let missing = facts.build.missing, !missing.isEmpty, !request.skipExportCheck {
            facts.build.trialProblem =
                "not compiled: the kernel lacks \(missing.count) export\(missing.count == 1 ? "" : "s") the branch "
                + "needs (--skip-export-check compiles anyway)"
            return
        }
        let k = facts.kernel.release
        let source: TrialBuild.Source
        switch request.source {
        case .directory?:
            source = .tree(request.source!.directory!)
        case .repository(let url)?:
            source = .repository(url: url, branches: await branches(facts, url: url, request, root, runner))
        case nil:
            let url = AufsBranch.repository(major: k.major)
            progress.note("check --build clones \(url) (the only time check uses the network)")
            source = .repository(url: url, branches: await branches(facts, url: url, request, root, runner))
        }
        if case .repository(_, let b) = source, b.isEmpty {
            facts.build.trialProblem =
                "not compiled: no aufs branch fits kernel \(k) (\(facts.build.branchProblem ?? ""))"
            return
        }
        do {
            let trial = try await TrialBuild(
                root: root, runner: runner, kernel: k.string, source: source, jobs: request.jobs, progress: progress
            ).run()
            facts.build.trial = trial
            if trial.built != nil { facts.build.buildRisk?.tested = true }
        } catch {
            facts.build.trialProblem = "not compiled: " + ((error as? AufsError)?.message ?? "\(error)")
        }
    }

    /// `--source-ref BRANCH`, else the candidates from the repository's heads (the committed
    /// list when `git ls-remote` fails, noted).
    static func branches(
        _ facts: HostFacts, url: String, _ request: CheckBuildRequest, _ root: HostRoot, _ runner: any CommandRunner
    ) async -> [String] {
        if let ref = request.sourceRef {
            switch ref {
            case .branch(let b): return [b]
            case .commit(let c): return [c]
            }
        }
        let r = try? await runner.run(
            root.command(["git", "ls-remote", "--heads", url]),
            environment: ["GIT_ALLOW_PROTOCOL": "https:http", "GIT_TERMINAL_PROMPT": "0"])
        let heads = r.flatMap { $0.succeeded ? AufsBranch.parseHeads($0.stdout) : nil }
        return AufsBranch.candidates(for: facts.kernel.release, sublevel: facts.build.sublevel, heads: heads)
    }
}
