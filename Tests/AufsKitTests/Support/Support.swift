// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

@testable import AufsKit
@testable import AufsMount

/// The package's top directory, found from this file's path.
func packageRoot(_ file: String = #filePath) -> String {
    var p = Paths.dirname(file)
    while p != "/" && !FileRead.exists(p + "/Package.swift") { p = Paths.dirname(p) }
    return p
}

/// A CommandRunner for tests: answers from a script and records every argv.
final class ScriptedRunner: CommandRunner, @unchecked Sendable {
    var responses: [String: CommandResult]
    var calls: [[String]] = []
    let programs: [String: String]

    init(_ responses: [String: CommandResult] = [:], programs: [String: String] = [:]) {
        self.responses = responses
        self.programs = programs
    }

    func run(_ argv: [String], environment: [String: String]) async throws -> CommandResult {
        calls.append(argv)
        let key = argv.joined(separator: " ")
        guard let r = responses[key] else { throw AufsError("unexpected command: \(key)") }
        return r
    }

    func which(_ name: String) -> String? { programs[name] }
}

/// Syscalls whose answers a test sets.
struct FakeSyscalls: Syscalls {
    var unameValue = Uname(
        release: "6.1.0-18-amd64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)", machine: "x86_64")
    var euid: UInt32 = 0
    func uname() -> Uname { unameValue }
    func geteuid() -> UInt32 { euid }
    func statfs(_ path: String) -> Result<FSStat, SysErrno> { LinuxSyscalls().statfs(path) }
    func deviceID(_ path: String) -> Result<UInt64, SysErrno> { LinuxSyscalls().deviceID(path) }
    func mount(source: String, target: String, fstype: String, flags: UInt, data: String) -> Result<Void, SysErrno> {
        .failure(SysErrno(EPERM))
    }
    func umount2(_ target: String, flags: Int32) -> Result<Void, SysErrno> { .failure(SysErrno(EPERM)) }
    func fsMount(
        fstype: String, source: String, parameters: [FsParameter], readOnly: Bool, target: AnchoredDirectory
    ) -> Result<Void, FsMountError> {
        .failure(FsMountError(step: .open(fstype: "overlay"), errno: SysErrno(EPERM)))
    }
    func anchorDirectory(_ path: String) -> Result<AnchoredDirectory, AnchorFailure> {
        LinuxSyscalls().anchorDirectory(path)
    }
    func openDirectory(in dir: AnchoredDirectory, _ name: String) -> Result<AnchoredDirectory, SysErrno> {
        LinuxSyscalls().openDirectory(in: dir, name)
    }
    func makeDirectory(in dir: AnchoredDirectory, _ name: String, mode: UInt32) -> Result<AnchoredDirectory, SysErrno> {
        .failure(SysErrno(EPERM))
    }
    func mountID(in dir: AnchoredDirectory, _ name: String) -> Result<Int, SysErrno> { .failure(SysErrno(EPERM)) }
    func unmount(in dir: AnchoredDirectory, _ name: String, flags: Int32) -> Result<Void, SysErrno> {
        .failure(SysErrno(EPERM))
    }
    func removeTree(in dir: AnchoredDirectory, _ name: String, identity: FileIdentity?) -> TreeRemoval { .missing }
}

/// `s` with every `/proc/self/fd/N` (a directory aufsctl handed the kernel by fd) replaced by the
/// path of that directory, read while the fd is open: what a recording fake keeps, so tests read
/// calls as a user would.
func unanchored(_ s: String) -> String {
    let parts = s.split(separator: "/proc/self/fd/", omittingEmptySubsequences: false)
    var out = String(parts[0])
    for part in parts.dropFirst() {
        let digits = String(part.prefix { $0.isNumber })
        let link = "/proc/self/fd/" + digits
        out += (digits.isEmpty ? link : (FileRead.readLink(link) ?? link)) + part.dropFirst(digits.count)
    }
    return out
}
/// A temporary directory removed at deinit.
final class TempDir {
    let path: String
    init() {
        var template = Array("/tmp/aufsctl-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    func write(_ rel: String, _ text: String) {
        let full = path + "/" + rel
        mkdirs(Paths.dirname(full))
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }
    func mkdirs(_ p: String) {
        var cur = ""
        for c in p.split(separator: "/") { cur += "/" + c; mkdir(cur, 0o755) }
    }
    deinit {
        let argv = ["rm", "-rf", path]
        var pid: pid_t = 0
        let cargs = argv.map { strdup($0) } + [nil]
        posix_spawnp(&pid, "rm", nil, nil, cargs, environ)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        cargs.forEach { free($0) }
    }
}

/// `"/srv/rw=rw"` as a BranchSpec, for test specs.
extension BranchSpec: ExpressibleByStringLiteral {
    public init(stringLiteral s: String) {
        self = BranchSpec.parse(listed: s) ?? BranchSpec(path: s, permission: BranchPermission(base: .rw))
    }
}
