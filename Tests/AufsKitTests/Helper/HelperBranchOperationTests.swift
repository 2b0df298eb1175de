// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// What a helper run printed, collected from its stdout and stderr closures.
final class HelperOutput: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var out: [String] = []
    private var err: [String] = []
    init() { pthread_mutex_init(&lock, nil) }
    func add(_ s: String, error: Bool) {
        pthread_mutex_lock(&lock)
        if error { err.append(s) } else { out.append(s) }
        pthread_mutex_unlock(&lock)
    }
    var stdout: String { out.joined(separator: "\n") }
    var stderr: String { err.joined(separator: "\n") }
}

/// mount.aufs in this process on a fixture root and recorded syscalls.
func runHelper(_ args: [String], syscalls: any Syscalls, root: HostRoot) -> (code: Int32, output: HelperOutput) {
    let o = HelperOutput()
    let h = MountHelper(
        syscalls: syscalls, root: root, stdout: { o.add($0, error: false) }, stderr: { o.add($0, error: true) })
    return (h.main(mode: "mount.aufs", args: args), o)
}

/// Recorded syscalls that act as aufs on the fixture's branch list (mountinfo's `br:`): a remount's
/// add=/append=/del=/mod= change it, so the next operation sees what the kernel would show. The
/// Nth mount(2) (1-based) fails with `errno` and changes nothing.
final class LiveFixtureSyscalls: ScriptedSyscalls, @unchecked Sendable {
    var failing: Int
    var failErrno: Int32
    init(root: HostRoot, failing: Int = 0, errno: Int32 = EINVAL) {
        self.failing = failing
        self.failErrno = errno
        super.init(root: root)
    }
    override func mount(
        source: String, target: String, fstype: String, flags: UInt, data: String
    ) -> Result<Void, SysErrno> {
        let r = super.mount(source: source, target: target, fstype: fstype, flags: flags, data: data)
        if mounts.count == failing { return .failure(SysErrno(failErrno)) }
        if case .success = r, let path = mountinfo, let text = FileRead.string(path) { apply(data, text, path) }
        return r
    }

    private func apply(_ data: String, _ text: String, _ path: String) {
        guard let range = text.range(of: "br:") else { return }
        let end = text[range.upperBound...].firstIndex { $0 == "," || $0 == "\n" } ?? text.endIndex
        var list = text[range.upperBound..<end].split(separator: ":").map(String.init)
        func branchPath(_ e: String) -> String { String(e[..<(e.lastIndex(of: "=") ?? e.endIndex)]) }
        for op in data.split(separator: ",").map({ unanchored(String($0)) }) {
            if op.hasPrefix("add="), let colon = op.firstIndex(of: ":"),
                let i = Int(op.dropFirst(4).prefix { $0 != ":" })
            {
                list.insert(String(op[op.index(after: colon)...]), at: min(i, list.count))
            } else if op.hasPrefix("append=") {
                list.append(String(op.dropFirst(7)))
            } else if op.hasPrefix("del=") {
                list.removeAll { branchPath($0) == String(op.dropFirst(4)) }
            } else if op.hasPrefix("mod=") {
                let e = String(op.dropFirst(4))
                if let i = list.firstIndex(where: { branchPath($0) == branchPath(e) }) { list[i] = e }
            }
        }
        writeFile(path, String(text[..<range.upperBound]) + list.joined(separator: ":") + String(text[end...]))
    }
}

@Suite struct RemountBranchOperationParseTests {
    @Test(
        arguments: [
            (
                "add:1:./modules/003.sb=rr+wh", BranchEditor.Action.add, "./modules/003.sb=rr+wh",
                RemountBranchOperation.Position.index(1)
            ),
            ("add=0:/x", .add, "/x", .index(0)),
            ("ins:2:/x=ro", .add, "/x=ro", .index(2)),
            ("append:/m/004.sb=rr", .add, "/m/004.sb=rr", .bottom),
            ("append=/x", .add, "/x", .bottom),
            ("prepend:/x=rw", .add, "/x=rw", .top),
            ("del:/m/003.sb", .del, "/m/003.sb", nil),
            ("del=/x", .del, "/x", nil),
            ("mod:/x=rr", .mod, "/x=rr", nil),
            ("idel:3", .del, "3", nil),
            ("imod:2:rr+wh", .mod, "2=rr+wh", nil),
        ] as [(String, BranchEditor.Action, String, RemountBranchOperation.Position?)])
    func parses(
        option: String, action: BranchEditor.Action, branch: String, position: RemountBranchOperation.Position?
    )
        throws
    {
        let op = try #require(try RemountBranchOperation.parse(option))
        #expect(op.action == action && op.branch == branch && op.position == position && op.option == option)
    }

    @Test(arguments: ["udba=reval", "xino=/x", "dirs=/a:/b", "br:/a", "noplink", "address=1", "delete=1"])
    func otherOptionsAreNotBranchOperations(option: String) throws {
        #expect(try RemountBranchOperation.parse(option) == nil)
    }

    @Test(arguments: [
        ("add:x:/m/a.sb", "expected add:INDEX:BRANCH"),
        ("add:-1:/m/a.sb", "expected add:INDEX:BRANCH"),
        ("add:1:", "expected add:INDEX:BRANCH"),
        ("add:1", "expected add:INDEX:BRANCH"),
        ("add:1:/a:/b", "one branch per add: option"),
        ("append:", "expected append:BRANCH"),
        ("append:/a:/b", "one branch per append: option"),
        ("del:", "expected del:BRANCH"),
        ("mod:/x", "expected mod:BRANCH=PERM"),
        ("idel:x", "expected idel:INDEX"),
        ("imod:1", "expected imod:INDEX:PERM"),
    ])
    func refusesMalformed(option: String, reason: String) {
        let e = #expect(throws: HelperError.self) { try RemountBranchOperation.parse(option) }
        #expect(e?.exit == .mountFailure)
        #expect(e?.message.contains(reason) == true && e?.message.contains(option) == true, "\(e?.message ?? "")")
    }

    /// mount(8) hands them over among the other options; they stay aufs's, in order.
    @Test func classifyKeepsThemAsAufsOptions() throws {
        let o = try HelperOptions.classify("br=/a=rw:/b=ro,remount,add:1:/m/003.sb=rr+wh,del:/m/002.sb,nofail")
        #expect(o.remount)
        #expect(o.aufs == ["br=/a=rw:/b=ro", "add:1:/m/003.sb=rr+wh", "del:/m/002.sb"])
        #expect(o.userspace == ["nofail"])
    }
}

/// The helper's remount with branch operations on a fixture aufs union (recorded syscalls, no
/// kernel): the calls `aufsctl branch` makes, the undo of the ones made when a later one fails.
@Suite struct HelperBranchOperationRemountTests {
    func fixture(_ t: TempDir) -> (d: String, root: HostRoot) {
        let d = canonical(t.path)
        for n in ["rw", "ro1", "ro2", "ro3", "ro4", "mnt"] { makeDir(d + "/" + n) }
        let root = fixtureRoot(
            t, mounts: [("aufs", "none", d + "/mnt", "rw,si=7,br:\(d)/rw=rw:\(d)/ro1=ro:\(d)/ro2=ro")])
        return (d, root)
    }

    @Test func operationsMakeTheCallsBranchMakes() throws {
        let t = TempDir()
        let (d, root) = fixture(t)
        let sys = LiveFixtureSyscalls(root: root)
        let (code, out) = runHelper(
            [
                "none", d + "/mnt", "-v", "-o",
                "remount,add:1:\(d)/ro3=rr,del:\(d)/ro2,mod:\(d)/ro1=rr,prepend:\(d)/ro4",
            ],
            syscalls: sys, root: root)
        #expect(code == 0, "\(out.stderr)")
        #expect(
            sys.mounts.map(\.data) == [
                "add=1:\(d)/ro3=rr", "del=\(d)/ro2", "mod=\(d)/ro1=rr", "add=0:\(d)/ro4=ro",
            ])
        #expect(
            try StatusReader(root: root).union(at: d + "/mnt", xino: false)?.branches == [
                "\(d)/ro4=ro", "\(d)/rw=rw", "\(d)/ro3=rr", "\(d)/ro1=rr",
            ])
        #expect(sys.mounts.allSatisfy { $0.flags & UInt(MS_REMOUNT) != 0 && $0.fstype == "aufs" })
        #expect(out.stdout.contains("called mount(\"none\", \"\(d)/mnt\", \"aufs\""), "\(out.stdout)")
    }

    @Test func appendGoesToTheBottomAndOtherOptionsFollowInTheirOwnRemount() throws {
        let t = TempDir()
        let (d, root) = fixture(t)
        let sys = LiveFixtureSyscalls(root: root)
        let (code, out) = runHelper(
            ["none", d + "/mnt", "-o", "remount,append:\(d)/ro3,udba=reval"], syscalls: sys, root: root)
        #expect(code == 0, "\(out.stderr)")
        #expect(sys.mounts.map(\.data) == ["add=3:\(d)/ro3=ro", "udba=reval"])
    }

    @Test func aFailedOperationUndoesTheOnesMade() throws {
        let t = TempDir()
        let (d, root) = fixture(t)
        let sys = LiveFixtureSyscalls(root: root, failing: 3, errno: EINVAL)
        let (code, out) = runHelper(
            ["none", d + "/mnt", "-o", "remount,add:1:\(d)/ro3=rr,mod:\(d)/ro1=rr,del:\(d)/ro2"],
            syscalls: sys, root: root)
        #expect(code == 32)
        #expect(out.stderr.contains("EINVAL"), "\(out.stderr)")
        #expect(out.stderr.contains("were undone"), "\(out.stderr)")
        // add, mod, the failed del, then the undo: mod back, del of the added branch.
        #expect(
            sys.mounts.map(\.data) == [
                "add=1:\(d)/ro3=rr", "mod=\(d)/ro1=rr", "del=\(d)/ro2", "mod=\(d)/ro1=ro", "del=\(d)/ro3",
            ])
    }

    @Test func aFailedOtherOptionUndoesTheBranchOperations() throws {
        let t = TempDir()
        let (d, root) = fixture(t)
        let sys = LiveFixtureSyscalls(root: root, failing: 2, errno: EINVAL)
        let (code, out) = runHelper(
            ["none", d + "/mnt", "-o", "remount,del:\(d)/ro1,udba=notify"], syscalls: sys, root: root)
        #expect(code == 32, "\(out.stderr)")
        #expect(sys.mounts.map(\.data) == ["del=\(d)/ro1", "udba=notify", "add=1:\(d)/ro1=ro"])
    }

    @Test func aBranchListAndOperationsTogether() throws {
        let t = TempDir()
        let (d, root) = fixture(t)
        let sys = LiveFixtureSyscalls(root: root)
        // fstab's list, as it is live, with the command line's add: the add is made.
        var r = runHelper(
            ["none", d + "/mnt", "-o", "br=\(d)/rw=rw:\(d)/ro1=ro:\(d)/ro2=ro,remount,add:1:\(d)/ro3"],
            syscalls: sys, root: root)
        #expect(r.code == 0, "\(r.output.stderr)")
        #expect(sys.mounts.map(\.data) == ["add=1:\(d)/ro3=ro"])
        // A list that differs from the live one: which is meant is not clear; refused, nothing called.
        r = runHelper(
            ["none", d + "/mnt", "-o", "br=\(d)/rw=rw:\(d)/ro1=ro,remount,add:1:\(d)/ro3"], syscalls: sys, root: root)
        #expect(r.code == 32)
        #expect(r.output.stderr.contains("not both"), "\(r.output.stderr)")
        #expect(sys.mounts.count == 1)
    }

    @Test func fakeRunCallsNothing() throws {
        let t = TempDir()
        let (d, root) = fixture(t)
        let sys = LiveFixtureSyscalls(root: root)
        let (code, out) = runHelper(
            ["none", d + "/mnt", "-f", "-v", "-o", "remount,add:1:\(d)/ro3"], syscalls: sys, root: root)
        #expect(code == 0, "\(out.stderr)")
        #expect(sys.mounts.isEmpty)
        #expect(out.stdout.contains("would call") && out.stdout.contains("add=1:\(d)/ro3=ro"), "\(out.stdout)")
    }

    @Test func malformedOperationIsRefusedBeforeAnythingIsRead() throws {
        let t = TempDir()
        let sys = ScriptedSyscalls()
        // No union at all: the option is refused first.
        let (code, out) = runHelper(
            ["none", canonical(t.path), "-o", "remount,add:one:/m/003.sb"], syscalls: sys, root: HostRoot(t.path))
        #expect(code == 32)
        #expect(out.stderr.contains("expected add:INDEX:BRANCH"), "\(out.stderr)")
    }
}
