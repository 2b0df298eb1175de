// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// A refused load named from any errno and any kernel lines: never traps; there is always a case,
// a sentence and a way out.
import Glibc

@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let codes: [Int32] = [EKEYREJECTED, ENOKEY, EPERM, ENOENT, EINVAL, ENOEXEC, ENOSYS, EBADMSG, EIO, ENOPKG]
    let code = codes[Int(data[0]) % codes.count]
    let flags = data[1]
    let text = String(decoding: UnsafeBufferPointer(start: data + 2, count: size - 2), as: UTF8.self)
    let lines = text.split(separator: "\n").map(String.init)
    let f = LoadFailure.diagnose(
        LoadAttempt(
            module: "aufs", path: "/lib/modules/k/updates/dkms/aufs.ko", kernel: "k", errno: SysErrno(code),
            kernelLines: lines, kernelLogReadable: flags & 1 != 0, signatureID: flags & 2 != 0 ? "PKCS#7" : nil,
            signer: flags & 4 != 0 ? lines.first : nil, signatureKey: flags & 8 != 0 ? "01:02" : nil,
            policy: ModulePolicy(
                commandLine: lines.last, lockdown: flags & 16 != 0 ? "integrity" : "none",
                sigEnforce: flags & 32 != 0, modulesDisabled: flags & 64 != 0),
            euid: flags & 128 != 0 ? 1000 : 0,
            signingKey: SigningKeyHint(signFile: "/s", key: "/k", certificate: "/c", certificateSerial: "01:02")))
    precondition(!f.sentence.isEmpty && !f.wayOut.isEmpty && f.message.hasPrefix("loading aufs failed ("))
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

@_cdecl("FuzzLoadFailure_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
