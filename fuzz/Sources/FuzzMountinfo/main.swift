// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// The mountinfo reader (MountTable.parse: lines, fields, octal escapes), its option reader
// (Unmounter.splitEscaped/option), ProcFilesystems.parse and KernelConfig.parse: never crash;
// splitting is lossless.
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let entries = MountTable.parse(bytes)
    precondition(entries.count <= bytes.count(where: { $0 == 10 }) + 1, "more entries than lines")
    // Invalid UTF-8 becomes U+FFFD (3 bytes for 1): no field is longer than that.
    for e in entries { precondition(e.target.utf8.count <= size * 3 && e.fsOptions.utf8.count <= size * 3) }
    let s = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let parts = Unmounter.splitEscaped(s, by: ",")
    precondition(parts.joined(separator: ",") == s, "splitEscaped is not lossless")
    precondition(parts.count >= 1)
    for key in ["upperdir", "workdir", "lowerdir", "br", "xino"] {
        if let v = Unmounter.option(key, in: s) { precondition(v.count <= s.count) }
    }
    // A value escaped the way the kernel shows it in mountinfo comes back unchanged.
    // (Paths there are absolute: the value starts with "/", so no combining mark can fuse with "=".)
    if !s.unicodeScalars.contains("\\") {  // by scalar: a backslash before a combining mark is one Character
        let esc = s.replacingOccurrences(",", with: "\\,")
        precondition(Unmounter.option("upperdir", in: "lowerdir=/a,upperdir=/\(esc),workdir=/w") == "/" + s)
    }
    let fs = ProcFilesystems.parse(s)
    _ = fs
    let kc = KernelConfig.parse(s)
    _ = kc
    return 0
}

extension String {
    /// By scalar, as the kernel escapes bytes (a prepend mark fuses with a following comma into one Character).
    func replacingOccurrences(_ a: Unicode.Scalar, with b: String) -> String {
        var out = String.UnicodeScalarView()
        for c in unicodeScalars { if c == a { out.append(contentsOf: b.unicodeScalars) } else { out.append(c) } }
        return String(out)
    }
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

@_cdecl("FuzzMountinfo_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
