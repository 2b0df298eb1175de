// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import Glibc
import Subprocess
import SystemPackage

public struct CommandResult: Sendable, Equatable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public init(status: Int32, stdout: String = "", stderr: String = "") {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
    public var succeeded: Bool { status == 0 }
}

/// Runs external programs by argv, never through a shell.
public protocol CommandRunner: Sendable {
    /// Runs `argv[0]` (a name looked up on PATH, or a path) with the rest as arguments.
    /// Throws when the program cannot be started; a non-zero exit is a normal result.
    func run(_ argv: [String], environment: [String: String]) async throws -> CommandResult
    /// Like `run`, calling `onLine` for each output line (stdout and stderr merged into stdout).
    func runStreaming(
        _ argv: [String], environment: [String: String], onLine: @escaping @Sendable (String) -> Void
    ) async throws -> CommandResult
    /// The absolute path of a program on PATH, or nil.
    func which(_ name: String) -> String?
}

extension CommandRunner {
    public func run(_ argv: [String]) async throws -> CommandResult {
        try await run(argv, environment: [:])
    }

    /// The default (for test runners) runs to completion and replays the lines; SubprocessRunner
    /// streams them live.
    public func runStreaming(
        _ argv: [String], environment: [String: String], onLine: @escaping @Sendable (String) -> Void
    ) async throws -> CommandResult {
        let r = try await run(argv, environment: environment)
        for l in (r.stdout + r.stderr).split(separator: "\n") { onLine(String(l)) }
        return CommandResult(status: r.status, stdout: r.stdout + r.stderr)
    }
}

public struct SubprocessRunner: CommandRunner {
    public init() {}

    public func run(_ argv: [String], environment: [String: String]) async throws -> CommandResult {
        let (first, exe, env) = try Self.prepare(argv, environment)
        do {
            let r = try await Subprocess.run(
                exe,
                arguments: Arguments(Array(argv.dropFirst())),
                environment: env,
                output: .string(limit: 8 << 20),
                error: .string(limit: 8 << 20)
            )
            let status = Self.exitStatus(r.terminationStatus)
            return CommandResult(status: status, stdout: r.standardOutput, stderr: r.standardError)
        } catch {
            throw AufsError("could not run \(first): \(error)")
        }
    }

    public func runStreaming(
        _ argv: [String], environment: [String: String], onLine: @escaping @Sendable (String) -> Void
    ) async throws -> CommandResult {
        let (first, exe, env) = try Self.prepare(argv, environment)
        do {
            let r = try await Subprocess.run(
                exe, arguments: Arguments(Array(argv.dropFirst())), environment: env,
                input: .none, output: .sequence, error: .combinedWithOutput
            ) { execution in
                var all: [String] = []
                for try await line in execution.standardOutput.strings() {
                    all.append(line)
                    onLine(line)
                }
                return all.joined(separator: "\n")
            }
            let status = Self.exitStatus(r.terminationStatus)
            return CommandResult(status: status, stdout: r.closureResult)
        } catch let e as AufsError {
            throw e
        } catch {
            throw AufsError("could not run \(first): \(error)")
        }
    }

    static func prepare(_ argv: [String], _ environment: [String: String]) throws -> (String, Executable, Environment) {
        guard let first = argv.first else { throw AufsError("empty command line") }
        let exe: Executable = first.contains("/") ? .path(SystemPackage.FilePath(first)) : .name(first)
        var env: [Environment.Key: String?] = [:]
        for (k, v) in environment { env[Environment.Key(stringLiteral: k)] = v }
        return (first, exe, .inherit.updating(env))
    }

    /// The exit code, or 128 + the signal, as a shell reports it.
    static func exitStatus(_ t: TerminationStatus) -> Int32 {
        switch t {
        case .exited(let c): return c
        case .signaled(let s): return 128 + s
        }
    }

    public func which(_ name: String) -> String? {
        // Non-root PATHs often lack the sbin directories where dkms, grubby and modprobe live.
        let path = (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
