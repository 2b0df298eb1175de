// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `install --build`: a check, like the export preflight, that compiles aufs for the kernel in a
/// scratch directory before anything is built for real. What it compiles is what install builds:
/// `--source DIR` (or a clone an earlier run left), else each candidate branch cloned in turn; the
/// clone step then clones the branch that built. None builds: blocked (exit 4), the compiler's
/// first error named.
public struct TrialBuildAction: ActionKind {
    public var kernel: String
    /// `--source DIR` (nil: the clone).
    public var sourceDirectory: String?
    public var url: String
    /// The branches to try, in order (`--source-ref`: that one).
    public var branches: [String]
    public var jobs: Int

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        // A dry run on a host without the headers or tools: the packages step (after this one only
        // then) installs them, so the trial can only run in the real run.
        let needs =
            ["/lib/modules/\(kernel)/build", "/usr/bin/make", "/usr/bin/gcc"]
            + (sourceDirectory == nil ? ["/usr/bin/git"] : [])
        if let absent = needs.first(where: { !ctx.fs.exists(ctx.path($0)) }) {
            ctx.notes.append(
                "trial build: not run yet (no \(absent)); it runs after the packages step installs it, before "
                    + "anything is built")
            return true
        }
        let source: TrialBuild.Source
        if let d = sourceDirectory {
            source = .tree(d)
        } else if let present = try DKMSMethod.sourceDir(ctx) {
            source = .tree(present)  // install builds the clone already there
        } else {
            source = .repository(url: url, branches: branches)
        }
        let report = try await TrialBuild(
            root: ctx.root, runner: ctx.runner, kernel: kernel, source: source, jobs: jobs, progress: ctx.progress,
            label: ctx.stepLabel + ": trial build"
        ).run()
        guard let built = report.built else {
            throw AufsError(
                "no aufs branch compiles for \(kernel) (trial build, \(report.ranIn)): \(report.summary)",
                exitCode: .blocked,
                details: [
                    "way out: a kernel whose sublevel an aufs branch supports, or a newer branch (--source-ref)",
                    "way out: `aufsctl mount --fallback overlay ...`",
                ])
        }
        if case .repository = source { ctx.trialBranch = built }
        ctx.notes.append("trial build: " + report.summary)
        return true
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] { [] }

    var shellDoneTest: String? { nil }

    var shellCommands: [String] {
        let k = ShellScript.quote(kernel)
        let fail = "echo \"no aufs branch compiles for \"\(k)\": $aufsctl_why\" >&2; exit 4"
        func trial(_ source: TrialShell.Source) -> [String] {
            TrialShell.lines(kernelWord: k, source: source, jobsWord: String(jobs), onFail: fail)
        }
        if let d = sourceDirectory { return trial(.tree(word: ShellScript.quote(d))) }
        // As in Swift: a clone an earlier run left is what install builds, so it is what is tried.
        let clone = ShellScript.rooted(DKMSMethod.cloneDir)
        return ["if [ -f \(clone)/include/uapi/linux/aufs_type.h ]; then"]
            + trial(.tree(word: clone)).map { "    " + $0 } + ["else"]
            + trial(.repository(urlWord: ShellScript.quote(url), branches: branches)).map { "    " + $0 } + ["fi"]
    }
}
