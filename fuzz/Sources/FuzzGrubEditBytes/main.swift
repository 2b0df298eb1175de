// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// The editor on raw bytes: ShellAssignments.set(inBytes:). Input: first line = the value to set
// (no line break), the rest = the file's bytes in any encoding (Latin-1, invalid UTF-8, CR, NUL).
// Every byte outside the one changed line must be identical: the bytes before that line and after
// it match the input exactly; an append leaves the whole input as a prefix (plus one line
// terminator where the input had no final newline). find must then read the value back.
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = Array(UnsafeBufferPointer(start: data, count: size))
    guard let nl = all.firstIndex(of: 10) else { return 0 }
    let valueBytes = all[..<nl]
    guard let value = String(validating: valueBytes, as: UTF8.self), !value.contains("\r") else { return 0 }
    let input = Array(all[(nl + 1)...])
    let key = "GRUB_DEFAULT"
    let (out, changed) = ShellAssignments.set(key, to: value, inBytes: input)
    let found = ShellAssignments.find(key, inBytes: out)
    precondition(
        found?.value == value,
        "after set, find returns \(String(reflecting: found?.value)) not \(String(reflecting: value)); in: \(input) out: \(out)"
    )
    if !changed { precondition(out == input); return 0 }
    let old = ShellAssignments.lines(ofBytes: input).map(Array.init)
    let new = ShellAssignments.lines(ofBytes: out).map(Array.init)
    if new.count == old.count, let line = found?.line {
        let before = old[..<line].flatMap { $0 }, after = old[(line + 1)...].flatMap { $0 }
        precondition(
            Array(out.prefix(before.count)) == before, "bytes before the changed line differ; in: \(input) out: \(out)")
        precondition(
            Array(out.suffix(after.count)) == after, "bytes after the changed line differ; in: \(input) out: \(out)")
        precondition(
            Array(new[line].prefix(ShellAssignments.assignmentPrefix(old[line], key: key) ?? 0))
                == Array(old[line].prefix(ShellAssignments.assignmentPrefix(old[line], key: key) ?? 0)),
            "the KEY= prefix changed")
    } else {
        let grown =
            input.last == 10 || input.isEmpty
            ? input : input + (out.count > input.count + 1 && out[input.count] == 13 ? [13, 10] : [10])
        precondition(
            Array(out.prefix(grown.count)) == grown, "append touched the input's bytes; in: \(input) out: \(out)")
        precondition(found?.line == new.count - 1, "the appended line is not the last")
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ cb: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzGrubEditBytes_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
