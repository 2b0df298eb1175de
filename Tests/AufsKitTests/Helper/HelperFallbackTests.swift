// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// `x-aufsctl.fallback=overlay`: mount(8) keeps x-* options from helpers, so mount.aufs reads it from
/// the fstab line or the mount unit written for the union (same mount point, same branch list).
@Suite struct HelperFallbackTests {
    func layout(_ t: TempDir) -> String {
        let d = canonical(t.path)
        for n in ["rw", "ro", "mnt"] { makeDir(d + "/" + n) }
        return d
    }

    /// Runs mount.aufs in-process over a fixture root without aufs, with scripted kernel calls.
    func helper(_ t: TempDir, _ args: [String], mountError: Int32? = nil) -> (Int32, [String], ScriptedSyscalls) {
        let sys = ScriptedSyscalls()
        sys.mountError = mountError
        let lines = Lines()
        let root = HostRoot(t.path + "/root")
        let code = MountHelper(syscalls: sys, root: root, stdout: { lines.add($0) }, stderr: { lines.add($0) })
            .main(mode: "mount.aufs", args: args)
        return (code, lines.all, sys)
    }

    final class Lines: @unchecked Sendable {
        var all: [String] = []
        func add(_ s: String) { all.append(s) }
    }

    @Test func theOptionIsParsedAndKeptFromTheKernel() throws {
        let o = try HelperOptions.classify("x-aufsctl.fallback=overlay,br=/a:/b=ro,nofail")
        #expect(o.fallback == .overlay)
        #expect(o.aufs == ["br=/a:/b=ro"])
        #expect(o.userspace == ["x-aufsctl.fallback=overlay", "nofail"])
        #expect(try HelperOptions.classify("x-aufsctl.fallback=none").fallback == Fallback.none)
        #expect(try HelperOptions.classify("x-other.thing=1").fallback == nil)
        do {
            _ = try HelperOptions.classify("x-aufsctl.fallback=fuse")
            Issue.record("accepted fuse")
        } catch let e as HelperError {
            #expect(e.exit == .mountFailure && e.message.contains("takes none or overlay"), "\(e.message)")
        }
    }

    @Test func lookupReadsFstabAndUnitsForTheSameUnionOnly() throws {
        let t = TempDir()
        let root = HostRoot(t.path)
        #expect(try HelperFallback.lookup(root: root, target: "/srv/u", branchList: "/a:/b=ro") == nil)
        t.write(
            "etc/fstab",
            "# none /srv/u aufs br=/a:/b=ro,x-aufsctl.fallback=overlay 0 0\n"
                + "/dev/sda1 / ext4 defaults 0 1\n"
                + "none /srv/other aufs br=/a:/b=ro,x-aufsctl.fallback=overlay 0 0\n"
                + "none /srv/u aufs br=/a:/c=ro,x-aufsctl.fallback=overlay 0 0\n")
        #expect(try HelperFallback.lookup(root: root, target: "/srv/u", branchList: "/a:/b=ro") == nil)
        #expect(
            try HelperFallback.lookup(root: root, target: "/srv/u", branchList: "/a:/c=ro")?.0 == .overlay)
        #expect(try HelperFallback.lookup(root: root, target: "/srv/u/", branchList: "/a:/c=ro")?.1 == "/etc/fstab")
        // A unit: the first directory that has it counts (/etc overrides the generator's).
        t.write(
            "run/systemd/generator/srv-w.mount",
            "[Mount]\nWhere=/srv/w\nType=aufs\nOptions=br=/a%%:/b=ro,x-aufsctl.fallback=overlay\n")
        let gen = try HelperFallback.lookup(root: root, target: "/srv/w", branchList: "/a%:/b=ro")
        #expect(gen?.0 == .overlay && gen?.1 == "/run/systemd/generator/srv-w.mount")
        t.write("etc/systemd/system/srv-w.mount", "[Mount]\nWhere=/srv/w\nType=aufs\nOptions=br=/a%%:/b=ro\n")
        #expect(try HelperFallback.lookup(root: root, target: "/srv/w", branchList: "/a%:/b=ro") == nil)
    }

    @Test func anFstabLineWithTheOptionMountsOverlayAndSaysSo() throws {
        let t = TempDir()
        let d = layout(t)
        _ = fixtureRoot(t, mounts: [])
        let list = "\(d)/rw:\(d)/ro=ro"
        t.write("root/etc/fstab", "none \(d)/mnt aufs br=\(list),x-aufsctl.fallback=overlay,noauto 0 0\n")
        // What mount(8) passes for that line: fstab's options without the x-* one.
        let (code, lines, sys) = helper(t, ["none", d + "/mnt", "-o", "rw,noauto,br=\(list)"])
        #expect(code == 0, "\(lines)")
        #expect(sys.mounts.map(\.fstype) == ["overlay"], "the legacy overlay call after fsopen's ENOSYS")
        #expect(
            lines.contains {
                $0.hasPrefix("mount.aufs: overlay, not aufs:")
                    && $0.contains("/etc/fstab sets x-aufsctl.fallback=overlay")
            }, "\(lines)")
        // The same mount point with another branch list (typed by hand) is not changed by fstab's line.
        let (other, otherLines, otherSys) = helper(t, ["none", d + "/mnt", "-o", "br=\(d)/rw"], mountError: ENODEV)
        #expect(other == 32 && otherSys.mounts.map(\.fstype) == ["aufs"], "\(otherLines)")
    }

    @Test func withoutItTheNoAufsMessageAdvisesTheOptionAndCheck() throws {
        let t = TempDir()
        let d = layout(t)
        _ = fixtureRoot(t, mounts: [])
        let (code, lines, _) = helper(t, ["none", d + "/mnt", "-o", "br=\(d)/rw:\(d)/ro=ro"], mountError: ENODEV)
        #expect(code == 32)
        let message = lines.first { $0.contains("ENODEV") } ?? ""
        #expect(message.contains("run `aufsctl check`"), "\(lines)")
        #expect(message.contains("x-aufsctl.fallback=overlay (to the fstab line, or the unit's Options=)"), "\(lines)")
        #expect(!message.contains("--fallback"), "an fstab or unit user cannot pass a flag: \(message)")
    }

    /// umount(8) of the fallback union finds no umount.overlay, so the workdir stays; the next
    /// mount through the helper uses it again (root's, 0700, no live union), aufsctl mount refuses.
    @Test(.enabled(if: isRoot, "the idle workdir must be root's, as the helper makes it"))
    func anIdleWorkdirIsUsedAgainByTheHelperOnly() throws {
        let t = TempDir()
        let d = layout(t)
        _ = fixtureRoot(t, mounts: [])
        mkdir(d + "/.aufsctl-work.rw", 0o700)
        let list = "\(d)/rw:\(d)/ro=ro"
        let (code, lines, sys) = helper(
            t, ["none", d + "/mnt", "-v", "-o", "x-aufsctl.fallback=overlay,br=\(list)"])
        #expect(code == 0, "\(lines)")
        #expect(sys.mounts.map(\.fstype) == ["overlay"])
        #expect(lines.contains { $0.contains("used the idle overlay workdir \(d)/.aufsctl-work.rw again") }, "\(lines)")
        var req = MountRequest(options: try AufsOptions.parse(options: "br=\(list)"), target: d + "/mnt")
        req.fallback = .overlay
        #expect(throws: AufsError.self) {
            _ = try Mounter(syscalls: ScriptedSyscalls(), root: HostRoot(t.path + "/root")).mount(req)
        }
    }
}
