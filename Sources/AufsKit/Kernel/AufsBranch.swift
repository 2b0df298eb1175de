// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Which aufs-standalone branch builds aufs for a kernel, and why.
///
/// The maintainer keeps a branch per kernel series (`aufs5.10`) and point branches for later
/// sublevels whose internals changed (`aufs5.10.140` covers 5.10.140 and after), plus
/// `aufsX.x-rcN` for release candidates, and asks users to pick the point branch. The known
/// branches are the keys of Kernel/exports/branches.txt; `install` confirms against the
/// repository's heads before cloning.
public struct AufsBranch: Sendable, Codable, Equatable {
    public var name: String
    public var repository: String
    /// Why this branch: `highest aufs5.10.* branch with a sublevel <= 218 (5.10.218 from uname -v)`.
    public var reason: String
    /// Whether `name` is in Kernel/exports/branches.txt (so its export list is known).
    public var known: Bool

    /// aufs4.x lives in aufs4-standalone; aufs5.x and aufs6.x in aufs-standalone (which also
    /// carries every aufs5-standalone branch, with the same patches, and the later aufs5.1x ones).
    public static func repository(major: Int) -> String {
        major <= 4 ? "https://github.com/sfjro/aufs4-standalone.git" : "https://github.com/sfjro/aufs-standalone.git"
    }

    /// A branch name's parts: `aufs5.10.140`, `aufs4.14.56+`, `aufs4.11.0-untested`, `aufs6.x-rcN`.
    struct Name: Equatable {
        var major: Int
        var minor: Int?  // nil for aufsX.x-rcN
        var sublevel: Int  // 0 for the series branch
        var raw: String

        /// Over UTF-8 bytes: `check` parses every known branch name, and Character-wise string
        /// handling cost ~4k instructions a name (issue 14).
        init?(_ s: String) {
            guard s.utf8.starts(with: "aufs".utf8) else { return nil }
            raw = s
            func int(_ b: Substring.UTF8View.SubSequence) -> Int? { Int(String(decoding: b, as: UTF8.self)) }
            func ends(_ b: Substring.UTF8View.SubSequence, _ tail: String) -> Bool {
                b.count >= tail.utf8.count && b.suffix(tail.utf8.count).elementsEqual(tail.utf8)
            }
            var rest = s.utf8.dropFirst(4)
            if ends(rest, ".x-rcN") {
                guard let m = int(rest.dropLast(6)) else { return nil }
                major = m; minor = nil; sublevel = 0
                return
            }
            for tail in ["+", "-untested"] where ends(rest, tail) { rest = rest.dropLast(tail.utf8.count) }
            let parts = rest.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(int)
            guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { return nil }
            major = parts[0]!; minor = parts[1]!; sublevel = parts.count == 3 ? parts[2]! : 0
        }
    }

    public static var knownBranches: [String] { RequiredExportsData.branches.keys.sorted() }

    /// The branch for kernel `k` whose real sublevel is `sublevel` (nil: unknown), chosen from `heads`
    /// (default: the committed list). nil when no branch fits; `why` then says so.
    public static func choose(
        for k: KernelRelease, sublevel: Int?, sublevelSource: String?,
        heads: [String]? = nil
    ) -> (branch: AufsBranch?, why: String) {
        let names = (heads ?? knownBranches).compactMap(Name.init)
        let listName = heads == nil ? "the known branches (Kernel/exports/branches.txt)" : "the repository's branches"
        let repo = repository(major: k.major)
        let known = Set(knownBranches)
        if k.rc != nil {
            let rc = "aufs\(k.major).x-rcN"
            guard names.contains(where: { $0.raw == rc }) else {
                return (nil, "kernel \(k) is a release candidate and \(listName) have no \(rc)")
            }
            return (
                AufsBranch(
                    name: rc, repository: repo, reason: "kernel \(k) is a release candidate: \(rc)",
                    known: known.contains(rc)), ""
            )
        }
        let series = names.filter { $0.major == k.major && $0.minor == k.minor }
        guard !series.isEmpty else {
            let newest = names.filter { $0.major == k.major && $0.minor != nil }.max {
                ($0.minor!, $0.sublevel) < ($1.minor!, $1.sublevel)
            }
            let hint = newest.map { "; the newest aufs\(k.major) branch there is \($0.raw)" } ?? ""
            return (nil, "\(listName) have no aufs\(k.series) branch for kernel \(k)\(hint)")
        }
        let from = sublevelSource.map { ", from \($0)" } ?? ""
        guard let sub = sublevel else {
            // Without the sublevel only the series branch is safe; say which point branches exist.
            let base = series.filter { $0.sublevel == 0 }.first ?? series.min { $0.sublevel < $1.sublevel }!
            let points = series.filter { $0.sublevel > 0 }.map(\.raw).sorted()
            return (
                AufsBranch(
                    name: base.raw, repository: repo,
                    reason: "the sublevel of \(k) is unknown, so the series branch \(base.raw)"
                        + (points.isEmpty
                            ? ""
                            : " (point branches \(points.joined(separator: ", ")) need the sublevel: the headers' "
                                + "Makefile or uname -v tells it)"),
                    known: known.contains(base.raw)), ""
            )
        }
        let fitting = series.filter { $0.sublevel <= sub }
        guard let best = fitting.max(by: { $0.sublevel < $1.sublevel }) else {
            let lowest = series.min { $0.sublevel < $1.sublevel }!
            return (
                nil,
                "kernel \(k.major).\(k.minor).\(sub)\(from) is older than every aufs\(k.series) branch (the first is "
                    + "\(lowest.raw))"
            )
        }
        let reason =
            series.count == 1
            ? "\(best.raw) is the only aufs\(k.series) branch"
            : "\(best.raw) is the highest aufs\(k.series) branch with a sublevel <= \(sub)\(from)"
        return (AufsBranch(name: best.raw, repository: repo, reason: reason, known: known.contains(best.raw)), "")
    }

    /// The branches a trial build tries for kernel `k`, in order (as PorteuX's kernel script does):
    /// the point branch `choose` picks (`aufs5.10.140`), the series branch (`aufs5.10`), then
    /// `aufsX.x-rcN`, each only when `heads` (default: the committed list) has it.
    public static func candidates(for k: KernelRelease, sublevel: Int?, heads: [String]? = nil) -> [String] {
        let names = (heads ?? knownBranches).compactMap(Name.init)
        let rc = names.first { $0.minor == nil && $0.major == k.major }?.raw
        if k.rc != nil { return rc.map { [$0] } ?? [] }
        let series = names.filter { $0.major == k.major && $0.minor == k.minor }
        var out: [String] = []
        if let sub = sublevel,
            let point = series.filter({ $0.sublevel > 0 && $0.sublevel <= sub }).max(by: {
                $0.sublevel < $1.sublevel
            })
        {
            out.append(point.raw)
        }
        // The series branch by its plain name (aufs5.10), else the lowest it has (aufs4.11.0-untested).
        if let base = series.first(where: { $0.raw == "aufs\(k.major).\(k.minor)" })
            ?? series.first(where: {
                $0.sublevel == 0
            })
        {
            out.append(base.raw)
        }
        if let rc { out.append(rc) }
        return out
    }

    /// How far the kernel's sublevel is past the branch's (`aufs5.10.140` for 5.10.223: 83; a series
    /// branch counts from 0); nil when either is unknown or the branch is an -rc one.
    public static func sublevelsPast(branch: String, kernelSublevel: Int?) -> (branch: Int, past: Int)? {
        guard let sub = kernelSublevel, let n = Name(branch), n.minor != nil, sub >= n.sublevel else { return nil }
        return (n.sublevel, sub - n.sublevel)
    }

    /// Branch names from `git ls-remote --heads URL` (`<sha>\trefs/heads/aufs6.1`).
    public static func parseHeads(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            guard let r = line.firstRange(of: "refs/heads/") else { return nil }
            return String(line[r.upperBound...]).trimmingBlanks
        }
    }

    /// `SUBLEVEL = 218` from a kernel (headers) Makefile.
    public static func sublevel(makefile: String) -> Int? {
        for line in makefile.split(separator: "\n") where line.hasPrefix("SUBLEVEL") {
            let v = line.split(separator: "=", maxSplits: 1)
            if v.count == 2, let n = Int(v[1].trimmingBlanks) { return n }
        }
        return nil
    }

    /// `include /usr/src/linux-headers-6.1.0-56-common/Makefile` lines of a Debian arch headers Makefile.
    static func includes(makefile: String) -> [String] {
        makefile.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("include ") else { return nil }
            let p = line.dropFirst("include ".count).trimmingBlanks
            return p.hasPrefix("/") && !p.contains("$") ? p : nil
        }
    }
}
