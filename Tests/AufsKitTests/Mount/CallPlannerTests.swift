// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// A branch built directly (no filesystem) whose path is exactly `length` bytes.
private func branch(_ i: Int, length: Int, perm: BranchPermission.Base = .ro) -> Branch {
    let head = "/srv/layers/\(i)/"
    precondition(length > head.utf8.count, "length too small for index \(i)")
    let path = head + String(repeating: "x", count: length - head.utf8.count)
    return Branch(path: path, permission: BranchPermission(base: perm), filesystem: "ext4")
}

/// `count` branches of `length`-byte paths, the first rw and the rest ro.
private func branches(_ count: Int, length: Int) -> [Branch] {
    (0..<count).map { branch($0, length: length, perm: $0 == 0 ? .rw : .ro) }
}

/// The fewest calls that can carry `specs` in order, computed independently of the planner:
/// a call is full when its next item would pass 4095 bytes or 64 entries. Packing an ordered
/// list into consecutive groups greedily is optimal, so this is the minimum.
private func minimumCalls(_ specs: [String], options: [String] = []) -> Int {
    let limit = 4095, entries = 64
    var calls = 1
    var bytes = 3 + options.reduce(0) { $0 + 1 + $1.utf8.count }  // "br=" + ",opt"...
    var n = options.count
    var inFirst = 0
    var idx = 0
    while idx < specs.count {
        let s = specs[idx].utf8.count + (inFirst == 0 ? 0 : 1)
        if bytes + s > limit || n + 1 > entries { break }
        bytes += s; n += 1; inFirst += 1; idx += 1
    }
    var batchBytes = -1, batchN = 0  // -1: the first entry has no separating comma
    if idx < specs.count { calls += 1 }
    while idx < specs.count {
        let s = 7 + specs[idx].utf8.count + 1
        if batchBytes + s > limit || batchN + 1 > entries {
            calls += 1; batchBytes = -1; batchN = 0
            continue
        }
        batchBytes += s; batchN += 1; idx += 1
    }
    return calls
}

/// The branch specs a plan carries, in order: `br=` of call 1 then every `append=`.
private func carriedSpecs(_ calls: [MountCall], options: [String]) -> [String] {
    guard let first = calls.first else { return [] }
    var data = first.data
    let tail = options.map { "," + $0 }.joined()
    if data.hasSuffix(tail) { data = String(data.dropLast(tail.utf8.count)) }
    var out = data.hasPrefix("br=") ? data.dropFirst(3).split(separator: ":").map(String.init) : []
    for c in calls.dropFirst() {
        for part in c.data.split(separator: ",") {
            out.append(part.hasPrefix("append=") ? String(part.dropFirst(7)) : "NOT-AN-APPEND:" + part)
        }
    }
    return out
}

private let remount = UInt(MS_REMOUNT)
private let rdonly = UInt(MS_RDONLY)

@Suite struct CallPlannerTests {
    let planner = AufsCallPlanner()

    @Test(arguments: [(1, 200), (10, 200), (84, 200), (120, 200), (127, 200), (127, 1000), (84, 20), (127, 20)])
    func longBranchListsSplitIntoMinimalCalls(_ count: Int, _ length: Int) throws {
        let bs = branches(count, length: length)
        let calls = try planner.plan(branches: bs, options: [], target: "/mnt/u", readOnly: false)
        #expect(calls.count == minimumCalls(bs.map(\.spec)))
        #expect(carriedSpecs(calls, options: []) == bs.map(\.spec), "every branch exactly once, in order")
        for (n, c) in calls.enumerated() {
            #expect(c.data.utf8.count <= 4095, "call \(n + 1) carries \(c.data.utf8.count) bytes")
            #expect(c.source == "none" && c.fstype == "aufs" && c.target == "/mnt/u")
            let entries = c.data.split(separator: n == 0 ? ":" : ",").count
            #expect(entries <= 64, "call \(n + 1) carries \(entries) entries")
            if n == 0 {
                #expect(c.flags == 0)
                #expect(c.data.hasPrefix("br=" + bs[0].spec))
            } else {
                #expect(c.flags & remount != 0)
                #expect(c.data.hasPrefix("append="))
            }
        }
    }

    /// Concrete numbers for the arithmetic above, so a wrong reference cannot hide a wrong planner:
    /// 200-byte paths give 203-byte specs; 20 fit in `br=` (4082 bytes), 19 in an append batch (4008).
    @Test func concreteCallCounts() throws {
        #expect(
            try planner.plan(branches: branches(1, length: 200), options: [], target: "/m", readOnly: false).count == 1)
        #expect(
            try planner.plan(branches: branches(20, length: 200), options: [], target: "/m", readOnly: false).count == 1
        )
        #expect(
            try planner.plan(branches: branches(21, length: 200), options: [], target: "/m", readOnly: false).count == 2
        )
        let c127 = try planner.plan(branches: branches(127, length: 200), options: [], target: "/m", readOnly: false)
        #expect(c127.count == 7)  // 20 + 19*5 + 12
        #expect(c127.first?.data.utf8.count == 4082)
        #expect(c127.dropFirst().map { $0.data.split(separator: ",").count } == [19, 19, 19, 19, 19, 12])
        // Short paths: the 64-entry limit, not bytes, splits them.
        let c84 = try planner.plan(branches: branches(84, length: 20), options: [], target: "/m", readOnly: false)
        #expect(c84.count == 2)
        #expect(c84[0].data.dropFirst(3).split(separator: ":").count == 64)
        #expect(c84[1].data.split(separator: ",").count == 20)
    }

    /// Three branches whose first call data is exactly `total` bytes ("br=" + a:b:c).
    func threeBranches(firstCallBytes total: Int) -> [Branch] {
        // 3 + (l0+3) + 1 + (l1+3) + 1 + (l2+3) = total
        let rest = total - 3 - 2 - 9
        let l0 = rest / 3, l1 = rest / 3, l2 = rest - 2 * (rest / 3)
        return [branch(0, length: l0, perm: .rw), branch(1, length: l1), branch(2, length: l2)]
    }

    @Test(arguments: [4094, 4095])
    func firstCallAtTheLimitStaysOneCall(_ total: Int) throws {
        let bs = threeBranches(firstCallBytes: total)
        let calls = try planner.plan(branches: bs, options: [], target: "/m", readOnly: false)
        #expect(calls.count == 1)
        #expect(calls[0].data.utf8.count == total)
        #expect(calls[0].data == "br=" + bs.map(\.spec).joined(separator: ":"))
    }

    @Test func firstCallOneByteOverMovesTheLastBranchToARemount() throws {
        let bs = threeBranches(firstCallBytes: 4096)
        let calls = try planner.plan(branches: bs, options: [], target: "/m", readOnly: false)
        #expect(calls.count == 2)
        #expect(calls[0].data == "br=" + bs[0].spec + ":" + bs[1].spec)
        #expect(calls[1].data == "append=" + bs[2].spec)
        #expect(calls[1].flags == remount)
    }

    @Test func veryLongPathsGiveOneBranchPerRemount() throws {
        // spec 2103 bytes: "append=" + spec = 2110, two would be 4221 > 4095; br= holds one too.
        let bs = branches(5, length: 2100)
        let calls = try planner.plan(branches: bs, options: [], target: "/m", readOnly: false)
        #expect(calls.count == 5)
        #expect(calls[0].data == "br=" + bs[0].spec)
        for i in 1..<5 {
            #expect(calls[i].data == "append=" + bs[i].spec)
            #expect(calls[i].flags == remount)
        }
    }

    @Test func aBranchTooLongForAnAppendIsRefused() throws {
        // "append=" + path(4086) + "=ro" = 4096 bytes.
        let bs = [branch(0, length: 30, perm: .rw), branch(1, length: 4086)]
        let e = #expect(throws: AufsError.self) {
            try planner.plan(branches: bs, options: [], target: "/m", readOnly: false)
        }
        #expect(e?.exitCode == .usage)
        #expect(e?.message.contains("branch 1 (\(bs[1].path))") == true)
        #expect(e?.message.contains("alone exceeds 4095 bytes") == true)
    }

    @Test func anAppendOfExactly4095BytesIsAccepted() throws {
        let bs = [branch(0, length: 30, perm: .rw), branch(1, length: 4085)]  // 7 + 4085 + 3 = 4095
        let calls = try planner.plan(branches: bs, options: [], target: "/m", readOnly: false)
        #expect(calls.count == 2)
        #expect(calls[1].data.utf8.count == 4095)
    }

    @Test func aFirstBranchTooLongForTheFirstCallIsRefused() throws {
        let bs = [branch(0, length: 4090, perm: .rw)]  // "br=" + 4093 = 4096
        let e = #expect(throws: AufsError.self) {
            try planner.plan(branches: bs, options: [], target: "/m", readOnly: false)
        }
        #expect(e?.exitCode == .usage)
        #expect(e?.message.contains("branch 0") == true)
    }

    @Test func readOnlyAddsMSRdonlyToEveryCall() throws {
        let bs = branches(60, length: 200)
        let calls = try planner.plan(branches: bs, options: [], target: "/m", readOnly: true)
        #expect(calls.count > 2)
        #expect(calls[0].flags == rdonly)
        for c in calls.dropFirst() { #expect(c.flags == rdonly | remount) }
        #expect(calls[1].description.contains("MS_RDONLY|MS_REMOUNT"))
    }

    @Test func optionsGoInTheFirstCallOnly() throws {
        let opts = ["xino=/dev/shm/aufs.xino", "udba=reval"]
        let bs = branches(60, length: 200)
        let calls = try planner.plan(branches: bs, options: opts, target: "/m", readOnly: false)
        #expect(calls.count == minimumCalls(bs.map(\.spec), options: opts))
        #expect(calls[0].data.hasSuffix(",xino=/dev/shm/aufs.xino,udba=reval"))
        #expect(calls[0].data.utf8.count <= 4095)
        for c in calls.dropFirst() {
            #expect(!c.data.contains("xino=") && !c.data.contains("udba="))
        }
        #expect(carriedSpecs(calls, options: opts) == bs.map(\.spec))
    }

    @Test func optionsCountAgainstTheFirstCallsEntries() throws {
        let opts = ["xino=/dev/shm/aufs.xino", "udba=reval"]
        let calls = try planner.plan(branches: branches(70, length: 20), options: opts, target: "/m", readOnly: false)
        #expect(calls[0].data.split(separator: ",")[0].split(separator: ":").count == 62)
        #expect(calls[1].data.split(separator: ",").count == 8)
    }
}

@Suite struct BranchPermissionParseTests {
    @Test(arguments: [
        ("rw+nolwh", BranchPermission.Base.rw, ["nolwh"]), ("ro+wh", .ro, ["wh"]), ("rr+wh", .rr, ["wh"]),
        ("rw+moo", .rw, ["moo"]), ("rw", .rw, []), ("ro", .ro, []), ("rr", .rr, []),
        ("rw+coo_reg+unpin", .rw, ["coo_reg", "unpin"]),
    ])
    func valid(_ s: String, _ base: BranchPermission.Base, _ attrs: [String]) throws {
        let p = try BranchPermission.parse(s).get()
        #expect(p.base == base)
        #expect(p.attributes == attrs)
        #expect(p.description == s)
    }

    @Test(arguments: [
        ("rw+wh", "applies to ro and rr branches only"),
        ("ro+nolwh", "\"+nolwh\" applies to rw branches only, not ro"),
        ("rw+coo_reg+coo_all", "+coo_reg and +coo_all exclude each other"),
        ("rx", "unknown permission \"rx\""),
        ("ro+bogus", "unknown attribute \"+bogus\""),
        ("", "unknown permission \"\""),
        ("RW", "unknown permission \"RW\""),
        ("ro+", "unknown attribute \"+\""),
        ("rw+moo+moo", "attribute \"+moo\" given twice"),
    ])
    func invalid(_ s: String, _ fragment: String) {
        switch BranchPermission.parse(s) {
        case .success(let p): Issue.record("\(s) was accepted as \(p)")
        case .failure(let why): #expect(why.description.contains(fragment), "\(why)")
        }
    }
}

@Suite struct AufsOptionsParseTests {
    @Test(arguments: ["dirs=", "br=", "br:"])
    func branchListPrefixes(_ prefix: String) throws {
        let o = try AufsOptions.parse(options: prefix + "/a:/b=ro:/c=rr+wh")
        #expect(
            o.branches == [
                RawBranch(path: "/a", permission: nil), RawBranch(path: "/b", permission: "ro"),
                RawBranch(path: "/c", permission: "rr+wh"),
            ])
        #expect(o.other.isEmpty)
    }

    @Test(arguments: [
        ("/a::/b", "empty element after branch 1 (\"::\")"),
        ("/a:/b:", "empty element at the end (trailing ':')"),
        (":/a:/b", "empty element at the start"),
        ("", "the branch list is empty"),
    ])
    func emptyElements(_ list: String, _ fragment: String) {
        let e = #expect(throws: AufsError.self) { try AufsOptions.parseBranchList(list) }
        #expect(e?.exitCode == .usage)
        #expect(e?.message.contains(fragment) == true, "\(e?.message ?? "")")
        let viaOptions = #expect(throws: AufsError.self) { try AufsOptions.parse(options: "dirs=" + list) }
        #expect(viaOptions?.message.contains(fragment) == true)
    }

    @Test func otherOptionsKeepTheirOrderAndXinoIsSeparate() throws {
        let o = try AufsOptions.parse(options: "br=/a:/b=ro,udba=reval,xino=/dev/shm/aufs.xino,dio,ro")
        #expect(o.other == ["udba=reval", "dio"])
        #expect(o.xino == "/dev/shm/aufs.xino")
        #expect(o.readOnly)
        #expect(!o.noxino)
        #expect(o.branches.count == 2)
        #expect(try AufsOptions.parse(options: "noxino").noxino)
    }

    @Test(arguments: [
        ("bogus", "unknown aufs option"),
        ("bogus=1", "unknown aufs option \"bogus\""),
        ("udba=bogus", "udba takes one of none, notify, reval"),
        ("noxino,udba=bogus", "udba takes one of none, notify, reval"),
        ("udba=", "udba takes one of"),
        ("xino=", "xino needs a value"),
        ("dio,,plink", "empty option"),
        ("dio,", "empty option"),
        ("dirs=/a,br=/b", "the branch list is given twice"),
    ])
    func refusedOptions(_ s: String, _ fragment: String) {
        let e = #expect(throws: AufsError.self) { try AufsOptions.parse(options: s) }
        #expect(e?.exitCode == .usage)
        #expect(e?.message.contains(fragment) == true, "\(e?.message ?? "")")
    }
}

@Suite struct ConflictingOptionTests {
    @Test(arguments: ["xino=/a,xino=/b", "xino=/a,noxino", "noxino,xino=/a"])
    func refused(_ o: String) {
        #expect(throws: AufsError.self) { try AufsOptions.parse(options: "br=/x," + o) }
    }
}
