// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// dkms's framework.conf read as text: never crashes, never runs anything; a value written back in
// single quotes (our own quoting) reads back as itself, `$kernelver` and all.
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let s = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var c = FrameworkConf()
    c.parse(s, file: "/etc/dkms/framework.conf", kernel: "6.1.0-57-cloud-amd64")
    for (name, setting) in c.settings {
        precondition(FrameworkConf.variables.contains(name))
        guard let v = setting.value, !v.contains(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) else { continue }
        var again = FrameworkConf()
        again.parse("\(name)=\(ShellQuote.quote(v))\n", file: "f", kernel: "other")
        precondition(
            again.settings[name]?.value == v,
            "round trip of \(name): \(String(reflecting: again.settings[name]?.value)) != \(String(reflecting: v))")
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

@_cdecl("FuzzFrameworkConf_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
