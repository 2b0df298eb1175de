// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct HostRootTests {
    @Test func hostRootIsIdentity() {
        #expect(HostRoot("/").resolve("/etc/os-release") == "/etc/os-release")
    }

    /// Absolute link targets inside a root tree start again at the root, never at the host's /.
    @Test func absoluteSymlinkStaysInsideRoot() {
        let t = TempDir()
        t.write("usr/src/linux-headers-6.1/Module.symvers", "x")
        t.mkdirs(t.path + "/usr/lib/modules/6.1")
        symlink("usr/lib", t.path + "/lib")
        symlink("/usr/src/linux-headers-6.1", t.path + "/usr/lib/modules/6.1/build")
        let r = HostRoot(t.path)
        #expect(
            r.resolve("/lib/modules/6.1/build/Module.symvers") == t.path + "/usr/src/linux-headers-6.1/Module.symvers")
        #expect(FileRead.string(r.resolve("/lib/modules/6.1/build/Module.symvers")) == "x")
    }

    @Test func dotDotCannotLeaveTheRoot() {
        let t = TempDir()
        symlink("../../../../etc", t.path + "/escape")
        let r = HostRoot(t.path)
        #expect(r.resolve("/../../etc/passwd") == t.path + "/etc/passwd")
        #expect(r.resolve("/escape/passwd") == t.path + "/etc/passwd")
    }

    @Test func symlinkLoopDoesNotHang() {
        let t = TempDir()
        symlink("b", t.path + "/a")
        symlink("a", t.path + "/b")
        #expect(HostRoot(t.path).resolve("/a/x").hasPrefix(t.path + "/"))
    }
}
