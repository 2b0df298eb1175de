// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// The /etc/default/grub editor: ShellAssignments.set. Input: first line = the value to set
// (CLI-reachable values: no line break), the rest = the file. The result must stay parseable
// (find returns the new value) and differ from the old text in exactly the one assignment line,
// or by one appended line (plus a line terminator added to a last line that had none).
@testable import AufsKit
@testable import AufsMount

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let s = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let nl = s.firstIndex(of: "\n") else { return 0 }
    let value = String(s[..<nl])
    let text = String(s[s.index(after: nl)...])
    if value.contains("\r") || value.contains("\r\n") { return 0 }
    let key = "GRUB_DEFAULT"
    let (out, changed) = ShellAssignments.set(key, to: value, in: text)
    let found = ShellAssignments.find(key, in: out)
    precondition(
        found?.value == value,
        "after set, find returns \(String(reflecting: found?.value)) not \(String(reflecting: value)); in: \(String(reflecting: text)) out: \(String(reflecting: out))"
    )
    if !changed { precondition(out == text); return 0 }
    let old = ShellAssignments.lines(of: text).map(String.init)
    let new = ShellAssignments.lines(of: out).map(String.init)
    if new.count == old.count {
        let diff = zip(old, new).enumerated().filter { $0.element.0 != $0.element.1 }.map { $0.offset }
        precondition(
            diff.count == 1,
            "set changed lines \(diff); in: \(String(reflecting: text)) out: \(String(reflecting: out))")
        precondition(diff[0] == found?.line, "changed line \(diff[0]) is not the assignment line")
    } else {
        precondition(
            new.count == old.count + 1,
            "set changed the line count by \(new.count - old.count); in: \(String(reflecting: text)) out: \(String(reflecting: out))"
        )
        for i in 0..<old.count {
            let o = old[i], n = new[i]
            let lastFixed = i == old.count - 1 && (n == o + "\n" || n == o + "\r\n")
            precondition(
                o == n || lastFixed, "append touched line \(i): \(String(reflecting: o)) -> \(String(reflecting: n))")
        }
        precondition(found?.line == new.count - 1, "the appended line is not the last")
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

@_cdecl("FuzzGrubEdit_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
