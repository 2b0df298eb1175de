// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit

@Suite struct SymlinkExposureTests {
    func status(uid: UInt32, gid: UInt32 = 0, mode: UInt32) -> FileStatus {
        FileStatus(mode: mode, device: 1, uid: uid, gid: gid)
    }

    @Test func whoCanReplaceALink() {
        let rootLink = status(uid: 0, mode: UInt32(S_IFLNK) | 0o777)
        let userLink = status(uid: 65534, mode: UInt32(S_IFLNK) | 0o777)
        let dir = UInt32(S_IFDIR)
        #expect(SymlinkExposure.replacers(of: userLink, in: status(uid: 0, mode: dir | 0o755)) == nil)
        #expect(SymlinkExposure.replacers(of: rootLink, in: status(uid: 0, mode: dir | 0o777)) == "every user")
        #expect(SymlinkExposure.replacers(of: rootLink, in: status(uid: 1000, mode: dir | 0o755)) == "uid 1000")
        #expect(SymlinkExposure.replacers(of: rootLink, in: status(uid: 0, gid: 100, mode: dir | 0o775)) == "group 100")
        #expect(SymlinkExposure.replacers(of: rootLink, in: status(uid: 0, gid: 0, mode: dir | 0o775)) == nil)
        // /tmp: sticky, so a root's link there is root's to replace; a user's is theirs.
        #expect(SymlinkExposure.replacers(of: rootLink, in: status(uid: 0, mode: dir | 0o1777)) == nil)
        #expect(
            SymlinkExposure.replacers(of: userLink, in: status(uid: 0, mode: dir | 0o1777))?.hasPrefix("uid 65534")
                == true)
    }

    /// A branch typed through a link another user can swap is refused before anything is opened;
    /// the same link in root's own directory keeps working.
    @Test(.enabled(if: getuid() == 0, "needs root: a link owned by another user"))
    func aBranchThroughAnotherUsersLinkIsRefused() throws {
        let t = TempDir()
        let d = canonical(t.path)
        chmod(d, 0o755)
        for p in ["open", "safe", "victim"] { makeDir(d + "/" + p) }
        chmod(d + "/open", 0o777)
        symlink(d + "/victim", d + "/open/c")
        lchown(d + "/open/c", 65534, 65534)
        symlink(d + "/victim", d + "/safe/c")
        let v = BranchValidator(syscalls: LinuxSyscalls(), cwd: d)
        #expect(throws: AufsError.self) { _ = try v.anchoredDirectory("./open/c", what: "branch 0") }
        do {
            _ = try v.anchoredDirectory("./open/c", what: "branch 0")
        } catch let e as AufsError {
            #expect(e.message.contains("\(d)/open/c is a symlink") && e.message.contains("every user"), "\(e.message)")
            #expect(e.exitCode == .usage)
        }
        #expect(try v.anchoredDirectory("./safe/c", what: "branch 0").path == d + "/victim")
    }
}
