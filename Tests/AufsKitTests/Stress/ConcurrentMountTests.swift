// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// 16 `aufsctl mount --fallback overlay` processes started at once on distinct targets, sharing
/// their lower branches (each its own upper): all succeed, each union is its own, all unmount
/// (also at once), and no mount or workdir is left.
@Suite(.enabled(if: isRoot, "needs root: 16 real overlay mounts"))
struct ConcurrentMountTests {
    @Test func sixteenMountsAtOnceWithSharedLowers() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        let n = 16
        for l in 0..<3 {
            makeDir("\(d)/lower\(l)")
            writeFile("\(d)/lower\(l)/shared\(l).txt", "lower\(l)\n")
            writeFile("\(d)/lower\(l)/top.txt", "from lower\(l)\n")
        }
        for i in 0..<n { makeDir("\(d)/up\(i)"); makeDir("\(d)/mnt\(i)") }
        let lowers = (0..<3).map { "\(d)/lower\($0)=ro" }.joined(separator: ":")

        let mounts = try await withThrowingTaskGroup(of: (Int, CommandResult).self) { g in
            for i in 0..<n {
                g.addTask {
                    (
                        i,
                        try await aufsctl([
                            "mount", "--fallback", "overlay", "dirs=\(d)/up\(i)=rw:\(lowers)", "\(d)/mnt\(i)",
                        ])
                    )
                }
            }
            return try await g.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for i in 0..<n {
            let r = try #require(mounts[i])
            #expect(r.status == 0, "mount \(i): \(r.stderr)")
            #expect(isMountPoint("\(d)/mnt\(i)"), "mnt\(i) is not a mount point")
            #expect(readText("\(d)/mnt\(i)/top.txt") == "from lower0\n")
            #expect(readText("\(d)/mnt\(i)/shared2.txt") == "lower2\n")
            writeFile("\(d)/mnt\(i)/mine.txt", "\(i)\n")
        }
        // Each union writes to its own upper, and the shared lowers are untouched.
        for i in 0..<n { #expect(readText("\(d)/up\(i)/mine.txt") == "\(i)\n") }
        for l in 0..<3 { #expect(FileRead.list("\(d)/lower\(l)")?.sorted() == ["shared\(l).txt", "top.txt"]) }
        #expect(mountPoints(under: d).count == n)

        let umounts = try await withThrowingTaskGroup(of: (Int, CommandResult).self) { g in
            for i in 0..<n { g.addTask { (i, try await aufsctl(["umount", "\(d)/mnt\(i)"])) } }
            return try await g.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for i in 0..<n { #expect(umounts[i]?.status == 0, "umount \(i): \(umounts[i]?.stderr ?? "")") }
        #expect(mountPoints(under: d).isEmpty, "left mounted: \(mountPoints(under: d))")
        let left = (FileRead.list(d) ?? []).filter { $0.hasPrefix(".aufsctl-work") }
        #expect(left.isEmpty, "workdirs left: \(left)")
    }
}
