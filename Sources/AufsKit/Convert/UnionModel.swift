// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// A file name as the kernel stores it: bytes, not necessarily UTF-8 (a Swift String would
/// replace invalid bytes and merge names that differ only there).
public struct FileName: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ s: String) { bytes = Array(s.utf8) }
    public init(stringLiteral s: String) { bytes = Array(s.utf8) }

    public static func < (a: FileName, b: FileName) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
    public var description: String { Escaped.bytes(bytes) }
    public func hasPrefix(_ p: [UInt8]) -> Bool { bytes.count >= p.count && bytes.starts(with: p) }
    public var count: Int { bytes.count }

    /// aufs's whiteout prefix and the names aufs keeps for itself (AUFS_WH_PFX and friends).
    public static let whPrefix = Array(".wh.".utf8)
    public static let diropq = FileName(".wh..wh..opq")
    public static let whBase = FileName(".wh..wh.aufs")
    public static let plinkDir = FileName(".wh..wh.plnk")
    public static let orphDir = FileName(".wh..wh.orph")
    public static let internalPrefix = Array(".wh..wh.".utf8)
    public static let dirrenInfoPrefix = Array(".wh..wh..dr.".utf8)
    public static let dirrenHino = FileName(".wh..wh.hino")

    /// `.wh.NAME` for NAME.
    public var whiteout: FileName { FileName(FileName.whPrefix + bytes) }
    /// NAME for `.wh.NAME` (nil for other names).
    public var whitedOut: FileName? { hasPrefix(FileName.whPrefix) ? FileName(Array(bytes.dropFirst(4))) : nil }
}

/// Bytes shown in a message: printable ASCII and valid UTF-8 as they are, a newline as `\n`,
/// anything else as `\xNN`, so a name with a newline or a stray byte stays one readable line.
public enum Escaped {
    public static func bytes(_ b: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\") {
                out += "\\\\"
                i += 1
            } else if c == 10 {
                out += "\\n"
                i += 1
            } else if c == 9 {
                out += "\\t"
                i += 1
            } else if c >= 0x20 && c < 0x7f {
                out.unicodeScalars.append(Unicode.Scalar(c))
                i += 1
            } else if c >= 0x80, let (s, n) = utf8Scalar(b, at: i), s.properties.generalCategory != .control {
                out.unicodeScalars.append(s)
                i += n
            } else {
                out += "\\x" + hex2(c)
                i += 1
            }
        }
        return out
    }

    public static func path(_ components: [FileName]) -> String {
        components.isEmpty ? "/" : components.map { "/" + $0.description }.joined()
    }

    static func hex2(_ c: UInt8) -> String {
        let d = Array("0123456789abcdef".utf8)
        return String(decoding: [d[Int(c >> 4)], d[Int(c & 15)]], as: UTF8.self)
    }

    /// One UTF-8 scalar at `i`, if the bytes there are a valid one.
    static func utf8Scalar(_ b: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let lead = b[i]
        let n = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0
        guard n > 0, i + n <= b.count else { return nil }
        var decoder = UTF8()
        var it = b[i..<(i + n)].makeIterator()
        if case .scalarValue(let s) = decoder.decode(&it) { return (s, n) }
        return nil
    }
}

/// Hex for names and values in the journal (names are bytes, JSON strings are Unicode).
public enum Hex {
    public static func encode(_ b: [UInt8]) -> String { b.map(Escaped.hex2).joined() }
    public static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var i = 0
        while i < u.count {
            guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

public struct Timestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var sec: Int64
    public var nsec: Int64
    public init(_ sec: Int64, _ nsec: Int64 = 0) {
        self.sec = sec
        self.nsec = nsec
    }
    public static func < (a: Timestamp, b: Timestamp) -> Bool { (a.sec, a.nsec) < (b.sec, b.nsec) }
    public var description: String {
        let n = String(nsec)
        return "\(sec).\(String(repeating: "0", count: max(0, 9 - n.count)))\(n)"
    }
}

/// What the two filesystems show of an inode besides its payload.
public struct Meta: Equatable, Sendable {
    /// Permission bits with setuid, setgid and sticky (mode & 07777).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtime: Timestamp
    public var xattrs: [FileName: [UInt8]]

    public init(
        mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Timestamp = Timestamp(1_700_000_000),
        xattrs: [FileName: [UInt8]] = [:]
    ) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.xattrs = xattrs
    }
}

/// A regular file's content, as its size and a digest (the reader hashes real files; the tests'
/// model files hash their bytes the same way).
public struct Content: Hashable, Sendable {
    public var size: Int
    public var digest: UInt64
    public init(size: Int, digest: UInt64) {
        self.size = size
        self.digest = digest
    }
    public init(_ bytes: [UInt8]) {
        var d = ContentDigest()
        d.update(bytes)
        self = d.content
    }
}

/// The non-directory kinds.
public enum Payload: Hashable, Sendable {
    case regular(Content)
    case symlink([UInt8])
    case charDevice(UInt64)
    case blockDevice(UInt64)
    case fifo
    case socket

    public var isRegular: Bool { if case .regular = self { return true } else { return false } }
    public var name: String {
        switch self {
        case .regular: return "file"
        case .symlink: return "symlink"
        case .charDevice: return "char device"
        case .blockDevice: return "block device"
        case .fifo: return "fifo"
        case .socket: return "socket"
        }
    }
}

public struct Inode: Equatable, Sendable {
    public var payload: Payload
    public var meta: Meta
    public init(_ payload: Payload, _ meta: Meta) {
        self.payload = payload
        self.meta = meta
    }
}

/// One directory of a branch: its attributes and its entries.
public struct Dir: Equatable, Sendable {
    public var meta: Meta
    public var entries: [FileName: Entry]
    public init(meta: Meta = Meta(mode: 0o755), entries: [FileName: Entry] = [:]) {
        self.meta = meta
        self.entries = entries
    }
}

/// An entry: a directory (held by value) or a non-directory, by inode number within its branch
/// (names that share one are hard links).
public indirect enum Entry: Equatable, Sendable {
    case dir(Dir)
    case file(UInt64)
}

/// One branch (aufs) or layer (overlayfs) as a value: the tree and its inodes.
public struct Layer: Equatable, Sendable {
    public var root: Dir
    public var inodes: [UInt64: Inode]
    public init(root: Dir = Dir(), inodes: [UInt64: Inode] = [:]) {
        self.root = root
        self.inodes = inodes
    }

    public func inode(_ e: Entry) -> Inode? {
        if case .file(let i) = e { return inodes[i] }
        return nil
    }
}

/// A streaming content digest: size, CRC-32 and Adler-32 (zlib's, linked already) of the bytes.
/// Not a cryptographic hash: it tells a converted file from a changed one, nothing adversarial.
public struct ContentDigest {
    var crc: UInt = 0
    var adler: UInt = 1
    var size = 0
    public init() {}
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }
    public mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        crc = ZlibSums.crc32(crc, p, raw.count)
        adler = ZlibSums.adler32(adler, p, raw.count)
        size += raw.count
    }
    public var content: Content {
        Content(size: size, digest: UInt64(crc & 0xffff_ffff) << 32 | UInt64(adler & 0xffff_ffff))
    }
}
