// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CZlib
import Glibc

/// Kernel build configuration (`/boot/config-KVER` or `/proc/config.gz`).
public struct KernelConfig: Sendable, Equatable {
    public var values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    /// Parses `CONFIG_X=v` and `# CONFIG_X is not set` (as `n`). With `only`, keeps just those keys:
    /// a distro config has ~8000 lines and `check` wants a dozen of them.
    public static func parse(_ text: String, only: Set<String>? = nil) -> KernelConfig {
        var scanner = Scanner(only)
        var t = text
        t.withUTF8 { scanner.scan(UnsafeRawBufferPointer($0), final: true) }
        return KernelConfig(values: scanner.values)
    }

    /// Reads the config at `path` (gzip-compressed with `gzip`, as `/proc/config.gz`) for `keys`
    /// only, and stops reading once every key is found. Nil when the file cannot be opened or read
    /// (or is not valid gzip), as for a missing file.
    public static func read(_ path: String, keys: Set<String>, gzip: Bool = false) -> KernelConfig? {
        var scanner = Scanner(keys)
        let ok: Bool
        if gzip {
            // inflate over the whole compressed file (/proc/config.gz is ~25 KB) rather than gzread,
            // without the CRC-32 of the output (inflateValidate: ~0.4 M instructions of a `check`):
            // the file is the kernel's own, and a damaged stream still fails to inflate.
            guard case .success(var compressed) = FileRead.bytes(path) else { return nil }
            var strm = z_stream()
            guard inflateInit2_(&strm, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                return nil
            }
            defer { inflateEnd(&strm) }
            _ = inflateValidate(&strm, 0)
            ok = compressed.withUnsafeMutableBufferPointer { input in
                strm.next_in = input.baseAddress
                strm.avail_in = UInt32(input.count)
                var ended = false
                return scanner.run { out in
                    if ended { return 0 }
                    strm.next_out = out.baseAddress?.bindMemory(to: UInt8.self, capacity: out.count)
                    strm.avail_out = UInt32(out.count)
                    let r = inflate(&strm, Z_NO_FLUSH)
                    let produced = out.count - Int(strm.avail_out)
                    if r == Z_STREAM_END { ended = true }
                    if r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR { return -1 }
                    if produced == 0 && !ended { return -1 }  // truncated: no more input, no end
                    return produced
                }
            }
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            ok = scanner.run { b in
                while true {
                    let n = Glibc.read(fd, b.baseAddress, b.count)
                    if n >= 0 || errno != EINTR { return n }
                }
            }
        }
        return ok ? KernelConfig(values: scanner.values) : nil
    }

    public subscript(_ key: String) -> String? { values[key] }

    /// A line scanner over bytes (memchr for the line ends); a String is made only for the keys kept.
    struct Scanner {
        /// The keys to keep, as bytes; nil keeps every key.
        let wanted: [[UInt8]]?
        var values: [String: String] = [:]
        static let limit = 64 << 20

        init(_ keys: Set<String>?) {
            wanted = keys.map { $0.map { Array($0.utf8) } }
        }

        /// Every wanted key has been seen (never when every key is kept).
        var complete: Bool { wanted.map { values.count == $0.count } ?? false }

        /// Scans the lines in `buf`; returns the offset of the first byte of an unfinished last line
        /// (`buf.count` when `final`, which takes that line as ended).
        @discardableResult
        mutating func scan(_ buf: UnsafeRawBufferPointer, final: Bool) -> Int {
            guard let base = buf.baseAddress else { return 0 }
            var start = 0
            while start < buf.count, !complete {
                guard let nl = memchr(base + start, 10, buf.count - start) else { break }
                let end = base.distance(to: UnsafeRawPointer(nl))
                line(base + start, end - start)
                start = end + 1
            }
            if final && start < buf.count && !complete {
                line(base + start, buf.count - start)
                start = buf.count
            }
            return complete ? buf.count : start
        }

        /// Feeds `scan` from `fill` (like read(2): bytes read, 0 at the end, < 0 on error) until the
        /// end, an error, `limit` bytes or every wanted key. False on an error.
        mutating func run(_ fill: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
            var capacity = 1 << 16
            var buf = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
            defer { buf.deallocate() }
            var kept = 0, total = 0
            while !complete && total < Scanner.limit {
                if kept == capacity {  // one line fills the buffer: make room
                    let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 1)
                    bigger.copyMemory(from: buf, byteCount: kept)
                    buf.deallocate()
                    buf = bigger
                    capacity *= 2
                }
                let n = fill(UnsafeMutableRawBufferPointer(start: buf + kept, count: capacity - kept))
                if n < 0 { return false }
                let filled = kept + n
                let used = scan(UnsafeRawBufferPointer(start: buf, count: filled), final: n == 0)
                if n == 0 { break }
                total += n
                kept = filled - used
                if kept > 0 && used > 0 { memmove(buf, buf + used, kept) }
            }
            return true
        }

        private static let set = Array("CONFIG_".utf8), notSet = Array("# CONFIG_".utf8)
        private static let isNotSet = Array(" is not set".utf8)

        mutating func line(_ p: UnsafeRawPointer, _ n: Int) {
            if n >= Scanner.set.count && memcmp(p, Scanner.set, Scanner.set.count) == 0 {
                guard let eq = memchr(p, Int32(UInt8(ascii: "=")), n) else { return }
                let k = p.distance(to: UnsafeRawPointer(eq))
                keep(
                    UnsafeRawBufferPointer(start: p, count: k),
                    UnsafeRawBufferPointer(start: p + k + 1, count: n - k - 1))
            } else if n >= Scanner.notSet.count + Scanner.isNotSet.count
                && memcmp(p, Scanner.notSet, Scanner.notSet.count) == 0
                && memcmp(p + n - Scanner.isNotSet.count, Scanner.isNotSet, Scanner.isNotSet.count) == 0
            {
                keep(UnsafeRawBufferPointer(start: p + 2, count: n - 2 - Scanner.isNotSet.count), nil)
            }
        }

        /// Records `key` (value nil: `n`) when it is wanted.
        private mutating func keep(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) {
            if let wanted {
                guard
                    wanted.contains(where: { w in
                        w.count == key.count
                            && w.withUnsafeBytes { memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }
                    })
                else { return }
            }
            let v = value.map { String(decoding: $0, as: UTF8.self) } ?? "n"
            values[String(decoding: key, as: UTF8.self)] = v
        }
    }
}
