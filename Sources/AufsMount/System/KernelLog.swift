// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// Reads kernel log records written after `open()` from `/dev/kmsg`, so a failed call can show
/// the lines the kernel logged for it (aufs reports the real reason only there).
public final class KernelLog {
    private let fd: Int32

    /// Opens /dev/kmsg positioned at its end; nil when it cannot be read (not root, no device).
    public init?(path: String = "/dev/kmsg") {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { return nil }
        if lseek(fd, 0, SEEK_END) < 0 { close(fd); return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The messages logged since `init` (or the previous call), optionally only those containing `filter`.
    public func newLines(containing filter: [String] = []) -> [String] {
        var lines: [String] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EPIPE { continue }  // a record was overwritten; go on with the next one
                break
            }
            if n == 0 { break }
            let record = String(decoding: buf[0..<n], as: UTF8.self)
            // "prio,seq,usec,flags;message\n continuation lines"
            guard let semi = record.firstIndex(of: ";") else { continue }
            let message = record[record.index(after: semi)...].prefix { $0 != "\n" }
            if filter.isEmpty || filter.contains(where: { message.contains($0) }) { lines.append(String(message)) }
        }
        return lines
    }
}

/// The kernel logs a mount's messages with the calling thread's name; Swift runs commands on a
/// pool thread ("oot.default-qos"), so name it after us before making kernel calls.
public func nameThisThreadAufsctl() {
    _ = aufsctl_set_thread_name("aufsctl")
}
