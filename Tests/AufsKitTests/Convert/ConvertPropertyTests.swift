// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit

/// Random branch stacks converted both ways and back, on disk, by the real converter: after each
/// conversion the merged view equals the source's (the reference evaluators, on trees read back
/// from disk), and the kernel's overlayfs, mounting the overlay side, shows the same tree as the
/// overlay evaluator; where the kernel has aufs (a real aufs kernel in QEMU), its aufs mount of the
/// aufs side is compared with the aufs evaluator too. Fixed seed by default (printed); AUFSCTL_CONVERT_SEED and
/// AUFSCTL_CONVERT_STACKS (per format) change it. A failing stack is kept on disk and named. Runs
/// with AUFSCTL_CONVERT_PROPERTY=1 (scripts/test-root.sh), on its own.
@Suite(
    .serialized, .enabled(if: isRoot, "needs root: owners, device nodes, trusted.* xattrs and overlay mounts"),
    .enabled(
        if: getenv("AUFSCTL_CONVERT_PROPERTY") != nil,
        "runs alone, from scripts/test-root.sh (AUFSCTL_CONVERT_PROPERTY=1): beside the parallel run it slowed its timing tests"
    ))
struct ConvertPropertyTests {
    static var seed: UInt64 {
        getenv("AUFSCTL_CONVERT_SEED").flatMap { UInt64(String(cString: $0)) } ?? 20_261_206
    }
    static var stacks: Int { getenv("AUFSCTL_CONVERT_STACKS").flatMap { Int(String(cString: $0)) } ?? 1000 }

    struct Tally {
        var converted = 0
        var roundTrips = 0
        var kernelMounts = 0
        var aufsMounts = 0
        var refused: [String: Int] = [:]
        var entries = 0
    }

    @Test(arguments: [UnionFormat.aufs, .overlay])
    func randomStacksConvertBothWays(from format: UnionFormat) throws {
        // tmpfs where there is one: a thousand stacks of small files, and a syncfs per commit that
        // would wait for everything else writing to a shared disk (ConvertDiskTests, the crash
        // loop and the bench run on disk).
        var template = Array(
            ((FileRead.isDirectory("/dev/shm") ? "/dev/shm" : "/tmp") + "/aufsctl-prop-XXXXXX").utf8CString)
        let root = canonical(template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) })
        defer { TreeRemove.remove(root) }
        var tally = Tally()
        let seed = Self.seed &+ (format == .aufs ? 0 : 1_000_000)
        print("convert property test: \(Self.stacks) \(format) stacks, seed \(seed) (AUFSCTL_CONVERT_SEED)")
        for i in 0..<Self.stacks {
            let dir = root + "/s\(i)"
            mkdir(dir, 0o755)
            let failure: String?
            do { failure = try oneStack(seed: seed &+ UInt64(i), format: format, dir: dir, &tally) } catch {
                failure = "\(error)"
            }
            if let failure {
                let keep = "\(root).failure-\(format)-\(i)"
                rename(dir, keep)
                Issue.record("stack \(i) (seed \(seed &+ UInt64(i))), kept in \(keep): \(failure)")
                break
            }
            TreeRemove.remove(dir)
        }
        print(
            "convert property test (\(format) -> \(format.other) -> \(format)): \(Self.stacks) stacks, "
                + "\(tally.converted) converted, \(tally.roundTrips) round-tripped, \(tally.kernelMounts) kernel overlay "
                + "mounts and \(tally.aufsMounts) kernel aufs mounts compared"
                + (aufsRegistered ? "" : " (this kernel has no aufs)")
                + ", \(tally.entries) merged entries checked; refused: "
                + tally.refused.sorted { $0.key < $1.key }.map { "\($0.value)x \($0.key)" }.joined(separator: "; "))
        #expect(tally.converted * 10 >= Self.stacks * 6, "fewer than 60% of the stacks were convertible")
    }

    func spec(_ b: [(path: String, perm: String)]) -> String {
        "dirs=" + b.map { "\($0.path)=\($0.perm)" }.joined(separator: ":")
    }

    func view(
        _ format: UnionFormat, _ b: [(path: String, perm: String)], converted: Bool, plinks: Bool = true
    ) throws
        -> MergedView
    {
        let skip = [BranchConverter.container]
        if format == .overlay {
            return try OverlayEvaluator.view(b.map { try TreeReader.layer($0.path, skipRoot: skip) })
        }
        return try AufsEvaluator.view(
            try b.enumerated().map { i, x in
                let perm = converted && i > 0 ? "ro+wh" : x.perm
                return AufsEvaluator.Branch(
                    try TreeReader.layer(x.path, skipRoot: skip), permission: try BranchPermission.parse(perm).get())
            }, pseudoLinks: plinks)
    }

    func kernel(_ b: [(path: String, perm: String)]) throws -> MergedView {
        try Conversion().mounted("overlay", b.map(\.path), prefix: "trusted.overlay.")
    }

    /// An aufs built without CONFIG_AUFS_XATTR shows no xattrs: then they are not compared with it.
    static let aufsXattrs = aufsRegistered ? Conversion().aufsShowsXattrs() : true
    func strip(_ v: MergedView) -> MergedView { Self.aufsXattrs ? v : v.withoutXattrs() }

    /// Where the kernel has aufs (a real aufs kernel in QEMU), its own read-only mount of the aufs
    /// side, against the evaluator.
    func kernelAufs(_ b: [(path: String, perm: String)], converted: Bool) throws -> MergedView {
        try Conversion().mounted(
            "aufs", b.map(\.path),
            perms: try b.enumerated().map { i, x in
                try BranchPermission.parse(converted && i > 0 ? "ro+wh" : x.perm).get()
            })
    }

    func convert(_ to: UnionFormat, _ b: [(path: String, perm: String)]) throws {
        _ = try Conversion().run(ConvertRequest(to: to, action: .commit, spec: spec(b)))
        _ = try Conversion().run(ConvertRequest(to: nil, action: .finish, spec: spec(b)))
    }

    /// nil when every check held; else what differed.
    func oneStack(seed: UInt64, format: UnionFormat, dir: String, _ tally: inout Tally) throws -> String? {
        var gen = StackGenerator(seed: seed, format: format, dir: dir)
        let b: [(path: String, perm: String)]
        do { b = try gen.make() } catch { return "the generator failed: \(error)" }
        let source: MergedView
        do { source = try view(format, b, converted: false) } catch let e as EvaluationProblem {
            tally.refused["unshowable source (\(e.reason.prefix(40)))", default: 0] += 1
            // The converter must refuse such a stack too.
            do { try convert(format.other, b) } catch let e as AufsError where e.exitCode == .usage { return nil }
            return "the evaluator cannot show the source (\(e)) but the conversion went through"
        }
        if format == .overlay {
            let k = try kernel(b)
            tally.kernelMounts += 1
            let d = source.differences(from: k, names: ("overlay evaluator", "kernel overlay mount"))
            if !d.isEmpty { return "source: " + d.joined(separator: "; ") }
        } else if aufsRegistered {
            // A fresh mount: pseudo-links of an earlier one are not shown (the evaluator shows them as
            // the live union did, which is what the conversion keeps).
            let k = try kernelAufs(b, converted: false)
            tally.aufsMounts += 1
            let fresh = try view(format, b, converted: false, plinks: false)
            let d = strip(fresh).differences(from: strip(k), names: ("aufs evaluator", "kernel aufs mount"))
            if !d.isEmpty { return "source: " + d.joined(separator: "; ") }
        }
        do { try convert(format.other, b) } catch let e as AufsError where e.exitCode == .usage {
            tally.refused[reason(e.message), default: 0] += 1
            return nil
        }
        tally.converted += 1
        tally.entries += source.entries.count
        let result = try view(format.other, b, converted: true)
        var d = source.differences(from: result)
        if !d.isEmpty { return "after conversion to \(format.other): " + d.joined(separator: "; ") }
        if format.other == .overlay {
            let k = try kernel(b)
            tally.kernelMounts += 1
            d = source.differences(from: k, names: ("aufs source", "kernel overlay mount of the result"))
            if !d.isEmpty { return "kernel overlay mount of the result: " + d.joined(separator: "; ") }
        } else if aufsRegistered {
            let k = try kernelAufs(b, converted: true)
            tally.aufsMounts += 1
            d = strip(source).differences(from: strip(k), names: ("overlay source", "kernel aufs mount of the result"))
            if !d.isEmpty { return "kernel aufs mount of the result: " + d.joined(separator: "; ") }
        }
        // The way back, with the permissions the report recommends (+wh where markers are now).
        let back = format == .overlay ? b.enumerated().map { i, x in (x.path, i == 0 ? "rw" : "ro+wh") } : b
        do { try convert(format, back) } catch let e as AufsError {
            return "the way back to \(format) failed: \(e.message)"
        }
        tally.roundTrips += 1
        d = source.differences(from: try view(format, b, converted: format == .aufs))
        if !d.isEmpty { return "after the round trip back to \(format): " + d.joined(separator: "; ") }
        return nil
    }

    /// The rule of a refusal, without the paths.
    func reason(_ m: String) -> String {
        for (k, v) in [
            ("without +wh", "whiteouts on a branch without +wh"), ("not a regular file", "whiteout not a regular file"),
            ("both", "a name and its whiteout"), ("dirren", "aufs dirren record"),
            ("beginning with .wh.", ".wh. name in an overlay layer"), ("redirect", "overlay redirect"),
            ("past the", "aufs merge past a non-directory"), ("pseudo-link", "pseudo-links"),
            ("longer than 242", "name over 242 bytes (aufs)"), ("0/0 character device", "0/0 device in aufs"),
            ("read as its own", "overlay xattr in an aufs branch"), ("given as ro", "markers on a ro branch"),
        ] where m.contains(k) {
            return v
        }
        return String(m.prefix(60))
    }
}
