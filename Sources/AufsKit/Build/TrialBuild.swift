// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// One branch (or tree) a trial build tried.
public struct TrialAttempt: Sendable, Codable, Equatable {
    /// The aufs-standalone branch, or `--source` for a directory's tree as it is.
    public var branch: String
    /// Where the tree came from: `URL branch B at COMMIT`, or the directory.
    public var source: String
    public var built: Bool
    public var seconds: Int
    /// The first errors the build printed (compiler lines with file and line, modpost's).
    public var errors: [BuildError]
    /// Why the branch was not built at all (its clone failed), when so.
    public var note: String?
}

/// What `check --build` and `install --build` learned by compiling aufs against the kernel's
/// headers in a scratch directory (removed afterwards: nothing on the host changes).
public struct TrialBuildReport: Sendable, Codable, Equatable {
    public var kernel: String
    /// The headers built against (`/lib/modules/KVER/build`).
    public var headers: String
    /// Where make ran: `this host`, or `chroot ROOT`.
    public var ranIn: String
    public var attempts: [TrialAttempt]
    /// The branch (or tree) that built; nil when none did.
    public var built: String?

    /// `aufs5.10.140 fails to compile: fs/aufs/vfsub.c:420: error: ...; aufs5.10 fails ...`.
    public var summary: String {
        attempts.map { a in
            if a.built { return "\(a.branch) builds for \(kernel) (\(a.source), \(a.seconds) s)" }
            if let note = a.note { return "\(a.branch) not tried: \(note)" }
            return "\(a.branch) fails to compile for \(kernel): "
                + (a.errors.first?.text ?? "make failed (no error line)")
        }.joined(separator: "; ")
    }
}

/// Compiles aufs for a kernel in a scratch directory under the root's /tmp, the way dkms.conf's
/// MAKE does (`make KDIR=/lib/modules/KVER/build aufs.ko`: the module only, nothing written into
/// the headers), trying candidate branches in order until one builds. Commands run in the root
/// (through chroot for `--root`), like install's.
public struct TrialBuild: Sendable {
    /// Where the trees come from.
    public enum Source: Sendable, Equatable {
        /// A directory's tree as it is (`--source DIR`, or /usr/src/aufs-V): one candidate.
        case tree(String)
        /// A repository: each branch shallow-cloned in turn (https/http only).
        case repository(url: String, branches: [String])
    }

    public var root: HostRoot
    public var runner: any CommandRunner
    public var kernel: String
    public var source: Source
    public var jobs: Int
    public var progress: ProgressSink
    /// The label the progress line starts with.
    public var label: String

    public init(
        root: HostRoot, runner: any CommandRunner, kernel: String, source: Source, jobs: Int,
        progress: ProgressSink, label: String = "trial build"
    ) {
        self.root = root
        self.runner = runner
        self.kernel = kernel
        self.source = source
        self.jobs = jobs
        self.progress = progress
        self.label = label
    }

    var headers: String { "/lib/modules/\(kernel)/build" }

    public func run() async throws -> TrialBuildReport {
        guard FileRead.isDirectory(root.resolve(headers)) else {
            throw AufsError(
                "cannot build aufs for \(kernel): no headers at \(headers); install linux-headers-\(kernel) first",
                exitCode: .blocked)
        }
        let scratch = try Scratch(root: root)
        defer { scratch.remove() }
        var report = TrialBuildReport(
            kernel: kernel, headers: headers, ranIn: root.isHost ? "this host" : "chroot \(root.path)", attempts: [],
            built: nil)
        switch source {
        case .tree(let dir):
            let attempt = try await build(tree: dir, scratch: scratch)
            report.attempts.append(attempt)
        case .repository(let url, let branches):
            for (i, b) in branches.enumerated() {
                let attempt = try await build(branch: b, url: url, scratch: scratch, index: i)
                report.attempts.append(attempt)
                if attempt.built { break }
            }
        }
        report.built = report.attempts.first { $0.built }?.branch
        return report
    }

    /// `--source DIR`: its tree copied (links refused) and built.
    func build(tree dir: String, scratch: Scratch) async throws -> TrialAttempt {
        let inRoot = scratch.inRoot + "/src"
        try TreeCopy.copyBuildTree(from: dir, to: root.resolve(inRoot))
        return try await make(inRoot, branch: "--source", source: dir)
    }

    /// A branch (or a full commit id) of a repository, shallow-fetched (a failed fetch is noted and
    /// the next one tried).
    func build(branch: String, url: String, scratch: Scratch, index: Int) async throws -> TrialAttempt {
        let inRoot = scratch.inRoot + "/\(index)"
        if let why = try await fetch(branch, url: url, into: inRoot) {
            return TrialAttempt(
                branch: branch, source: url, built: false, seconds: 0, errors: [], note: "git failed: \(why)")
        }
        let head = try await runner.run(root.command(["git", "-C", inRoot, "rev-parse", "HEAD"]))
        let commit = head.succeeded ? " at \(head.stdout.trimmingBlanks)" : ""
        return try await make(inRoot, branch: branch, source: "\(url) branch \(branch)\(commit)")
    }

    /// Clones `ref` (a branch; a 40 or 64 hex digit commit is fetched alone) into `dir`; nil when
    /// it worked, else git's last line. https/http only, no submodules, no prompt.
    func fetch(_ ref: String, url: String, into dir: String) async throws -> String? {
        let env = ["GIT_ALLOW_PROTOCOL": "https:http", "GIT_TERMINAL_PROMPT": "0"]
        let commit = [40, 64].contains(ref.count) && ref.allSatisfy(\.isHexDigit)
        let steps: [[String]] =
            commit
            ? [
                ["git", "init", "-q", dir], ["git", "-C", dir, "remote", "add", "origin", url],
                ["git", "-C", dir, "fetch", "-q", "--depth", "1", "--no-recurse-submodules", "origin", ref],
                ["git", "-C", dir, "checkout", "-q", "--detach", "FETCH_HEAD"],
            ]
            : [["git", "clone", "-q", "--depth", "1", "--no-recurse-submodules", "--branch", ref, url, dir]]
        for argv in steps {
            let r = try await runner.run(root.command(argv), environment: env)
            if !r.succeeded {
                return (r.stderr + r.stdout).split(separator: "\n").last.map(String.init) ?? "exit \(r.status)"
            }
        }
        return nil
    }

    func make(_ inRoot: String, branch: String, source: String) async throws -> TrialAttempt {
        let start = ProgressSink.now()
        let argv = ["make", "-C", inRoot, "KDIR=\(headers)", "-j", String(jobs), "aufs.ko"]
        // A line before the build (a terminal also gets the status line, elsewhere heartbeats follow).
        progress.note("\(label): compiling \(branch) for \(kernel) (make KDIR=\(headers) aufs.ko, \(source))")
        let r = try await progress.stream(
            label: "\(label) of \(branch) for \(kernel)", argv: root.command(argv), shown: argv.joined(separator: " "),
            environment: ["LC_ALL": "C"], runner: runner)
        let built = r.succeeded && FileRead.exists(root.resolve(inRoot + "/fs/aufs/aufs.ko"))
        let attempt = TrialAttempt(
            branch: branch, source: source, built: built, seconds: Int(ProgressSink.now() - start),
            errors: built ? [] : BuildLog.errors(r.stdout, tree: inRoot), note: nil)
        progress.note(
            "\(label): \(branch) "
                + (built
                    ? "built in \(attempt.seconds) s"
                    : "failed after \(attempt.seconds) s: \(attempt.errors.first?.text ?? "make exited \(r.status)")"))
        return attempt
    }
}

/// A fresh directory under the root's /tmp (mkdtemp: 0700, a name nobody could have made first),
/// removed with everything in it.
struct Scratch {
    /// Its path inside the root (`/tmp/aufsctl-trial.XXXXXX`).
    let inRoot: String
    let root: HostRoot

    init(root: HostRoot) throws {
        self.root = root
        var template = Array((root.resolve("/tmp") + "/aufsctl-trial.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw AufsError("cannot make a scratch directory in \(root.resolve("/tmp")): \(SysErrno(errno))")
        }
        inRoot = "/tmp/" + (String(cString: made).split(separator: "/").last.map(String.init) ?? "")
    }

    func remove() { RecursiveRemove.remove(root.resolve(inRoot)) }
}
