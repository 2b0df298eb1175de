// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// Branch-spec and option parser: AufsOptions.parse(options:), AufsOptions.parseBranchList,
// BranchPermission.parse. Never crash; what parses must be self-consistent.
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let s = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)

    if let o = try? AufsOptions.parse(options: s) {
        // Every option kept is non-empty. (An empty branch path, "=ro", parses; BranchValidator
        // refuses it with "branch N: empty path".)
        precondition(o.other.allSatisfy { !$0.isEmpty })
    }
    if let bs = try? AufsOptions.parseBranchList(s) {
        precondition(bs.count == s.split(separator: ":", omittingEmptySubsequences: false).count)
        // Joining the branches back gives the input.
        let back = bs.map { b in b.permission.map { "\(b.path)=\($0)" } ?? b.path }.joined(separator: ":")
        precondition(back == s, "parseBranchList round trip: \(back) != \(s)")
    }
    if case .success(let p) = BranchPermission.parse(s) {
        precondition(p.description == s, "permission round trip: \(p.description) != \(s)")
        guard case .success(let again) = BranchPermission.parse(p.description), again == p else {
            preconditionFailure("permission \(p) does not re-parse")
        }
    }
    return 0
}

// SwiftPM links executables with `--defsym main=<module>_main` (it renames the entry point so that
// tests can link them); with -parse-as-library there is no such symbol, so provide it and hand over
// to libFuzzer's driver (the public LLVMFuzzerRunDriver API) with the callback above.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ cb: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzBranchSpec_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
