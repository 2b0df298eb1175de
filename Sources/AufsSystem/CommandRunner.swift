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
    /// Like `run`, calling `onOutput` with each chunk of output as it arrives (stdout and stderr
    /// merged into stdout): chunks, not lines, since dkms prints its progress dots without a newline.
    func runStreaming(
        _ argv: [String], environment: [String: String], onOutput: @escaping @Sendable ([UInt8]) -> Void
    ) async throws -> CommandResult
    /// The absolute path of a program on PATH, or nil.
    func which(_ name: String) -> String?
    /// Runs a program that talks to the person at this terminal (mokutil asking for a password):
    /// its stdin is ours, its stdout and stderr go to our stderr (our stdout stays the report's).
    /// Only the exit status comes back. Still argv, never a shell.
    func runOnTerminal(_ argv: [String], environment: [String: String]) async throws -> Int32
}

extension CommandRunner {
    public func run(_ argv: [String]) async throws -> CommandResult {
        try await run(argv, environment: [:])
    }

    /// The default (for test runners) runs to completion and replays the output; SubprocessRunner
    /// streams it live.
    public func runStreaming(
        _ argv: [String], environment: [String: String], onOutput: @escaping @Sendable ([UInt8]) -> Void
    ) async throws -> CommandResult {
        let r = try await run(argv, environment: environment)
        if !(r.stdout + r.stderr).isEmpty { onOutput(Array((r.stdout + r.stderr).utf8)) }
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
        _ argv: [String], environment: [String: String], onOutput: @escaping @Sendable ([UInt8]) -> Void
    ) async throws -> CommandResult {
        let (first, exe, env) = try Self.prepare(argv, environment)
        do {
            let r = try await Subprocess.run(
                exe, arguments: Arguments(Array(argv.dropFirst())), environment: env,
                input: .none, output: .sequence, error: .combinedWithOutput
            ) { execution in
                var all: [UInt8] = []
                // Each read's bytes as they come (the pipe is read as soon as it has any).
                for try await chunk in execution.standardOutput {
                    let bytes = chunk.withUnsafeBytes { Array($0) }
                    // Kept for the result up to 8 MB, as `run` keeps (a make.log tail is what matters).
                    if all.count < 8 << 20 { all += bytes }
                    onOutput(bytes)
                }
                return String(decoding: all, as: UTF8.self)
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

extension CommandRunner {
    /// Test runners answer like `run` (they have no terminal); SubprocessRunner passes ours through.
    public func runOnTerminal(_ argv: [String], environment: [String: String]) async throws -> Int32 {
        try await run(argv, environment: environment).status
    }
}

extension SubprocessRunner {
    public func runOnTerminal(_ argv: [String], environment: [String: String]) async throws -> Int32 {
        let (first, exe, env) = try Self.prepare(argv, environment)
        do {
            let r = try await Subprocess.run(
                exe, arguments: Arguments(Array(argv.dropFirst())), environment: env, input: .currentStandardInput,
                output: .currentStandardError, error: .currentStandardError)
            return Self.exitStatus(r.terminationStatus)
        } catch {
            throw AufsError("could not run \(first): \(error)")
        }
    }
}
