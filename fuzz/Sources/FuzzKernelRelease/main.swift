// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// Kernel release parser: never crashes; what parses is the trimmed input and starts with N.N.
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let s = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let k = KernelRelease(s) {
        let head = k.string.prefix { $0 == "." || ($0.isASCII && $0.isNumber) }.split(
            separator: ".", omittingEmptySubsequences: false)
        precondition(
            head.count >= 2 && Int(head[0]) == k.major && Int(head[1]) == k.minor,
            "\(k.string) vs \(k.major).\(k.minor)")
        precondition(k.string.hasSuffix(k.suffix))
        precondition(!k.string.contains("/") && k.string.count <= 64)
        precondition(KernelRelease(k.string) == k, "re-parse of \(k.string) differs")
        _ = k.series; _ = k.flavor
        if let rc = k.rc { precondition(rc >= 0) }
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

@_cdecl("FuzzKernelRelease_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
