// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// X.509 fields through swift-asn1 and our walk: any bytes (DER, PEM, garbage) parse or throw,
// never trap; what parses has a kernel description and a modinfo-style serial.
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let c = try? CertificateInfo.parse(bytes) else { return 0 }
    precondition(c.serial.count % 2 == 0)
    precondition(c.kernelDescription.hasSuffix(c.subjectKeyID ?? c.serial))
    _ = c.serialForModinfo
    _ = c.subject.text
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

@_cdecl("FuzzCertificate_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
