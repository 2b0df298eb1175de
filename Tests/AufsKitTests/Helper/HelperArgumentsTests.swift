// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct HelperArgumentsTests {
    @Test func mountArgvAsUtilLinuxPassesIt() throws {
        let a = try MountHelperArguments.parse([
            "none", "/mnt", "-s", "-f", "-n", "-v", "-o", "ro,br=/a=rw:/b=ro",
            "-t", "aufs", "-N", "1234",
        ])
        #expect(a.spec == "none" && a.dir == "/mnt")
        #expect(a.sloppy && a.fake && a.noMtab && a.verbose)
        #expect(a.options == "ro,br=/a=rw:/b=ro")
        #expect(a.type == "aufs" && a.namespace == "1234")
    }

    @Test func joinedAndClusteredFlags() throws {
        let a = try MountHelperArguments.parse(["none", "/mnt", "-fv", "-obr=/a", "-o", "udba=none", "-taufs.x"])
        #expect(a.fake && a.verbose && !a.sloppy)
        #expect(a.options == "br=/a,udba=none")
        #expect(a.type == "aufs.x")
    }

    @Test(arguments: [
        (["none", "/mnt", "-x"], "unknown flag -x"),
        (["none", "/mnt", "--bogus"], "unknown flag -"),
        (["none"], "DIR is missing"),
        ([], "SPEC and DIR are missing"),
        (["none", "/mnt", "/other"], "too many operands"),
        (["none", "/mnt", "-o"], "-o needs a value"),
        (["none", "/mnt", "-t", "ext4"], "-t ext4: this helper mounts aufs only"),
    ])
    func badMountInvocationExitsOne(args: [String], reason: String) {
        do {
            _ = try MountHelperArguments.parse(args)
            Issue.record("parsed \(args)")
        } catch let e as HelperError {
            #expect(e.exit == .usage && e.exit.rawValue == 1)
            #expect(e.message.contains(reason), "\(e.message)")
            #expect(!e.message.contains("\n"))
        } catch { Issue.record("\(error)") }
    }

    @Test func umountArgv() throws {
        let a = try UmountHelperArguments.parse([
            "/mnt", "-n", "-l", "-f", "-v", "-r", "-t", "aufs", "-N", "/proc/1/ns/mnt",
        ])
        #expect(a.dir == "/mnt" && a.noMtab && a.lazy && a.force && a.verbose && a.readOnlyOnBusy)
        #expect(a.namespace == "/proc/1/ns/mnt")
        #expect(throws: HelperError.self) { try UmountHelperArguments.parse([]) }
        #expect(throws: HelperError.self) { try UmountHelperArguments.parse(["/mnt", "-q"]) }
        #expect(throws: HelperError.self) { try UmountHelperArguments.parse(["/a", "/b"]) }
    }

    @Test func helperModeByArgv0() {
        #expect(MountHelper.mode(argv0: "/sbin/mount.aufs") == "mount.aufs")
        #expect(MountHelper.mode(argv0: "umount.aufs") == "umount.aufs")
        #expect(MountHelper.mode(argv0: "/usr/local/bin/aufsctl") == nil)
        #expect(MountHelper.mode(argv0: "/sbin/mount.aufsx") == nil)
    }
}

@Suite struct HelperOptionsTests {
    @Test func vfsFlagsBecomeMSBits() throws {
        let o = try HelperOptions.classify("ro,nosuid,nodev,noexec,relatime,noatime,br=/a=rw,udba=none")
        #expect(o.flags == UInt(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME))
        #expect(o.aufs == ["br=/a=rw", "udba=none"])
        #expect(o.readOnly && !o.remount)
    }

    @Test func laterFlagsWin() throws {
        #expect(try HelperOptions.classify("ro,rw").flags == 0)
        #expect(try HelperOptions.classify("nosuid,suid,defaults").flags == 0)
        #expect(try HelperOptions.classify("remount,ro").flags == UInt(MS_REMOUNT | MS_RDONLY))
    }

    @Test func userspaceOptionsNeverReachTheKernel() throws {
        let o = try HelperOptions.classify(
            "nofail,_netdev,user,users,owner,group,helper=aufs,x-systemd.requires=/a,comment=x,br=/a")
        #expect(
            o.userspace == [
                "nofail", "_netdev", "user", "users", "owner", "group", "helper=aufs",
                "x-systemd.requires=/a", "comment=x",
            ])
        #expect(o.aufs == ["br=/a"])
        #expect(o.flags == 0)
    }

    @Test func siFromMountinfoIsIgnored() throws {
        let o = try HelperOptions.classify("rw,relatime,si=4e1a8f3c,xino=/run/x.xino")
        #expect(o.ignored == ["si=4e1a8f3c"])
        #expect(o.aufs == ["xino=/run/x.xino"])
    }

    @Test func unknownAufsOptionIsAMountFailure() throws {
        let o = try HelperOptions.classify("br=/a,frobnicate")
        do {
            _ = try o.parsedAufs(sloppy: false)
            Issue.record("accepted frobnicate")
        } catch let e as HelperError {
            #expect(e.exit.rawValue == 32)
            #expect(e.message.contains("frobnicate"))
        }
        let (parsed, dropped) = try o.parsedAufs(sloppy: true)
        #expect(dropped == ["frobnicate"])
        #expect(parsed.branches == [RawBranch(path: "/a", permission: nil)])
    }

    @Test func lastBranchListWins() throws {
        // A remount: fstab's options first, then the command line's.
        let o = try HelperOptions.classify("br=/a=rw:/b=ro,udba=none,remount,br=/a=rw:/b=ro:/c=ro")
        #expect(o.aufs == ["udba=none", "br=/a=rw:/b=ro:/c=ro"])
        #expect(o.remount)
    }

    @Test func bindIsRefused() {
        #expect(throws: HelperError.self) { try HelperOptions.classify("bind") }
    }

    @Test func flagNames() {
        #expect(HelperOptions.flagNames(UInt(MS_RDONLY | MS_NOSUID)) == "MS_RDONLY|MS_NOSUID")
        #expect(HelperOptions.flagNames(0) == "0")
    }
}

@Suite struct RemountPlannerTests {
    typealias E = RemountPlanner.Entry
    let live = [E(path: "/rw", permission: "rw"), E(path: "/a", permission: "ro"), E(path: "/b", permission: "ro")]

    @Test func sameListNoOperations() throws {
        let ops = try RemountPlanner().operations(live: live, wanted: [("/rw", "rw"), ("/a", "ro"), ("/b", nil)])
        #expect(ops.isEmpty)
        #expect(try RemountPlanner().operations(live: live, wanted: nil).isEmpty)
    }

    @Test func changedListBecomesDelModAdd() throws {
        let ops = try RemountPlanner().operations(
            live: live, wanted: [("/rw", "rw"), ("/new", "ro"), ("/a", "rr"), ("/c", nil)])
        #expect(ops == ["del=/b", "mod=/a=rr", "add=1:/new=ro", "add=3:/c=ro"])
    }

    @Test func reorderIsRefused() {
        do {
            _ = try RemountPlanner().operations(live: live, wanted: [("/rw", "rw"), ("/b", "ro"), ("/a", "ro")])
            Issue.record("accepted a reorder")
        } catch let e as HelperError {
            #expect(e.exit == .mountFailure)
            #expect(e.message.contains("/a and /b") && e.message.contains("unmount and mount again"))
        } catch { Issue.record("\(error)") }
    }

    @Test func duplicateIsRefused() {
        #expect(throws: HelperError.self) {
            try RemountPlanner().operations(live: live, wanted: [("/rw", "rw"), ("/rw", "ro")])
        }
    }

    @Test func replacingEveryBranchAppendsFirst() throws {
        let ops = try RemountPlanner().operations(
            live: [E(path: "/x", permission: "rw")], wanted: [("/y", "rw"), ("/z", "ro")])
        #expect(ops == ["append=/y=rw", "append=/z=ro", "del=/x"])
    }

    @Test func callsRespectThePageLimit() throws {
        let ops = (0..<300).map { "add=\($0):/srv/layers/\(String(repeating: "x", count: 40))/\($0)=ro" }
        let calls = try RemountPlanner().plan(
            target: "/mnt", flags: UInt(MS_RDONLY), options: ["udba=none"], operations: ops)
        #expect(calls.allSatisfy { $0.data.utf8.count <= 4095 && $0.flags == UInt(MS_REMOUNT | MS_RDONLY) })
        #expect(calls.allSatisfy { $0.data.split(separator: ",").count <= 64 })
        #expect(calls[0].data.hasPrefix("udba=none,add=0:"))
        #expect(calls.flatMap { $0.data.split(separator: ",").map(String.init) } == ["udba=none"] + ops)
        // 300 entries, 64 per call at most: at least 5 calls; greedy packing gives exactly that here.
        #expect(calls.count == 5)
    }

    @Test func flagOnlyRemountIsOneEmptyCall() throws {
        let calls = try RemountPlanner().plan(target: "/mnt", flags: UInt(MS_RDONLY), options: [], operations: [])
        #expect(
            calls == [
                MountCall(source: "none", target: "/mnt", fstype: "aufs", flags: UInt(MS_REMOUNT | MS_RDONLY), data: "")
            ])
    }
}
