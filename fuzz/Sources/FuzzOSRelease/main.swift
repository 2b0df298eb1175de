// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// os-release parser: never crashes; every value it reports re-quotes and re-parses to itself.
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let s = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let r = OSRelease.parse(s)
    for (k, v) in r.fields {
        precondition(!k.isEmpty)
        // A value without a line break, written back with our own quoting, reads back the same.
        if !v.contains(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let again = OSRelease.parse("\(k)=\(ShellAssignments.quote(v))\n")
            precondition(
                again.fields[k] == v,
                "os-release round trip of \(k): \(String(reflecting: again.fields[k])) != \(String(reflecting: v))")
        }
    }
    _ = r.id; _ = r.idLike; _ = r.versionID
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

@_cdecl("FuzzOSRelease_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
