// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// The built aufsctl binary (beside the test bundle).
func aufsctlBinary() -> String {
    Paths.dirname(FileRead.readLink("/proc/self/exe") ?? "") + "/aufsctl"
}

/// Runs aufsctl with `cwd` as its working directory (through `env -C`), so relative paths in
/// the arguments resolve there and not in the test process's directory.
func aufsctl(in cwd: String, _ args: [String]) async throws -> CommandResult {
    try await SubprocessRunner().run(["env", "-C", cwd, aufsctlBinary()] + args, environment: [:])
}

/// A TempDir's canonical path (realpath), as aufsctl reports paths.
func canonical(_ p: String) -> String {
    guard let r = realpath(p, nil) else { return p }
    defer { free(r) }
    return String(cString: r)
}

func mountinfo() -> String { FileRead.string("/proc/self/mountinfo") ?? "" }

/// Mount points (mountinfo field 5, unescaped enough for plain temp paths) at or below `dir`.
func mountPoints(under dir: String) -> [String] {
    mountinfo().split(separator: "\n").compactMap { line -> String? in
        let f = line.split(separator: " ")
        guard f.count > 4 else { return nil }
        let t = String(f[4])
        return t == dir || t.hasPrefix(dir + "/") ? t : nil
    }
}

func isMountPoint(_ p: String) -> Bool { mountPoints(under: p).contains(p) }

/// Unmounts everything at or below `dir`, deepest and newest first (MNT_DETACH if busy).
func unmountAll(under dir: String) {
    for _ in 0..<8 {
        let points = mountPoints(under: dir)
        if points.isEmpty { return }
        for p in points.reversed() where umount2(p, 0) != 0 { umount2(p, Int32(MNT_DETACH)) }
    }
}

/// mountinfo must be unchanged by a refused command. Byte-identical is expected; other processes on
/// the host (or other tests in this run) may mount elsewhere meanwhile, so a difference only fails
/// when a changed line concerns `dir`, the test's own directory, where every target and branch lives.
func expectMountinfoUnchanged(
    _ before: String, _ after: String, concerning dir: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if before == after { return }
    let b = Set(before.split(separator: "\n")), a = Set(after.split(separator: "\n"))
    let changed = a.symmetricDifference(b)
    let ours = changed.filter { $0.contains(dir) }
    #expect(ours.isEmpty, "mountinfo changed under \(dir): \(ours)", sourceLocation: sourceLocation)
    if ours.isEmpty {
        print("note: /proc/self/mountinfo changed meanwhile, but not under \(dir) (\(changed.count) lines elsewhere)")
    }
}

let isRoot = geteuid() == 0
let aufsRegistered = ProcFilesystems.parse(FileRead.string("/proc/filesystems") ?? "").has("aufs")

/// mount(2) from the test itself.
@discardableResult
func sysMount(_ source: String, _ target: String, _ fstype: String, _ data: String) -> Int32 {
    let r = Glibc.mount(source, target, fstype, 0, data)
    return r == 0 ? 0 : errno
}

func makeDir(_ p: String) { mkdir(p, 0o755) }

func readText(_ p: String) -> String? { FileRead.string(p) }

func writeFile(_ p: String, _ text: String) {
    let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return }
    _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
    close(fd)
}
