// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// A CentOS 7 fixture copy where install's commands really run (chroot + busybox + sh stubs, see
/// Tests/stress/centos-stub-root.sh); `yumDelay` makes `yum install` take that long.
func stubCentOSRoot(yumDelay: Int = 0) async throws -> TempDir {
    let t = TempDir()
    let r = try await SubprocessRunner().run(
        [packageRoot() + "/Tests/stress/centos-stub-root.sh", t.path],
        environment: ["YUM_DELAY": "\(yumDelay)"])
    try #require(r.status == 0, "centos-stub-root.sh: \(r.stderr)")
    return t
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let installArgs = [
    "install", "--method", "kernel-ml-aufs", "--repo-url", "https://example.invalid/kernel-ml-aufs/el7/x86_64",
    "--gpgkey", "https://example.invalid/RPM-GPG-KEY-kernel-ml-aufs", "--yes",
]

/// Two `aufsctl install` on the same root contend for `<root>/run/aufsctl/install.lock`.
@Suite(.serialized, .enabled(if: isRoot, "needs root: install --root runs its commands through chroot"))
struct InstallLockTests {
    /// The second waits for the first (yum takes 3 s), then finds everything done: the kernel is
    /// installed once, GRUB_DEFAULT set once, the state file is whole.
    @Test func secondInstallWaitsForTheFirst() async throws {
        let t = try await stubCentOSRoot(yumDelay: 3)
        let root = t.path
        let start = monotonicSeconds()
        async let first = aufsctl(installArgs + ["--root", root])
        // Let the first take the lock before the second starts.
        // (Polled on a thread of its own: the first install's task needs the pool meanwhile.)
        let waited = await offPool { () -> Int in
            var waited = 0
            while !(FileRead.string(root + "/var/log/stub-calls") ?? "").contains("yum install") && waited < 100 {
                usleep(50_000)
                waited += 1
            }
            return waited
        }
        try #require(waited < 100, "the first install never reached yum")
        let second = try await aufsctl(installArgs + ["--root", root])
        let secondDone = monotonicSeconds()
        let a = try await first
        #expect(a.status == 5, "first: \(a.stdout)\n\(a.stderr)")
        #expect([0, 5].contains(second.status), "second: \(second.stdout)\n\(second.stderr)")
        #expect(secondDone - start >= 3, "the second install did not wait for the first (\(secondDone - start) s)")
        #expect(!second.stdout.contains("changed"), "the second install changed something: \(second.stdout)")

        let calls = (FileRead.string(root + "/var/log/stub-calls") ?? "").split(separator: "\n")
        #expect(calls.filter { $0 == "yum install -y kernel-ml-aufs" }.count == 1, "\(calls)")
        #expect(calls.filter { $0.hasPrefix("grubby --set-default") }.count == 1, "\(calls)")
        let grub = FileRead.string(root + "/etc/default/grub") ?? ""
        #expect(grub.split(separator: "\n").filter { $0.hasPrefix("GRUB_DEFAULT=") }.count == 1, "\(grub)")
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: grub)?.value == "0")
        let state = try InstallState.load(root: HostRoot(root))
        #expect(!state.installs.isEmpty)
    }

    /// While something holds the lock, install waits 10 s, refuses with a message naming the
    /// lock, and changes nothing.
    @Test func installRefusesWhileTheLockIsHeld() async throws {
        let t = try await stubCentOSRoot()
        let root = t.path
        let grubBefore = FileRead.string(root + "/etc/default/grub")
        let lock = try FileLock(path: root + RuntimeDir.installLock, what: "test", timeout: 1)
        let start = monotonicSeconds()
        let r = try await aufsctl(installArgs + ["--root", root])
        let took = monotonicSeconds() - start
        lock.release()
        #expect(r.status != 0 && r.status != 5, "\(r.stdout)\n\(r.stderr)")
        #expect(
            r.stderr.contains("another aufsctl holds") && r.stderr.contains("/run/aufsctl/install.lock"), "\(r.stderr)")
        #expect(took >= 9, "refused after \(took) s, not after waiting")
        #expect(FileRead.string(root + "/etc/default/grub") == grubBefore)
        #expect(!FileRead.exists(root + "/var/lib/aufsctl/state.json"))
        #expect(!(FileRead.string(root + "/var/log/stub-calls") ?? "").contains("yum"))
    }
}
