// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CZlib
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// KernelConfig.read: the byte scanner over a file or a gzip stream, for the keys asked for only.
@Suite struct KernelConfigReadTests {
    static let sample = """
        #
        # Automatically generated file; DO NOT EDIT.
        CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14) 12.2.0"
        CONFIG_MODULES=y
        # CONFIG_AUFS_FS is not set
        CONFIG_OVERLAY_FS=m
        CONFIG_LOCALVERSION=""
        # CONFIG_SECURITY_PATH
        CONFIG_NO_EQUALS
        CONFIG_EMPTY=
        CONFIG_CMDLINE="a=b c=d"
        # CONFIG_SWAP is not set
        """

    /// The line-by-line parser KernelConfig had before the byte scanner (the reference).
    static func reference(_ text: String, only: Set<String>? = nil) -> [String: String] {
        var v: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# CONFIG_") {
                guard line.hasSuffix(" is not set") else { continue }
                let key = String(line.dropFirst(2).dropLast(" is not set".count))
                if only == nil || only!.contains(key) { v[key] = "n" }
            } else if line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") {
                let key = String(line[..<eq])
                if only == nil || only!.contains(key) { v[key] = String(line[line.index(after: eq)...]) }
            }
        }
        return v
    }

    static func gzipFile(_ path: String, _ text: String) {
        let gz = gzopen(path, "wb")!
        _ = text.withCString { gzwrite(gz, $0, UInt32(strlen($0))) }
        gzclose(gz)
    }

    @Test func parsesLikeTheReference() {
        let all = KernelConfig.parse(Self.sample)
        #expect(all.values == Self.reference(Self.sample))
        #expect(all["CONFIG_CC_VERSION_TEXT"] == "\"gcc (Debian 12.2.0-14) 12.2.0\"")
        #expect(all["CONFIG_AUFS_FS"] == "n" && all["CONFIG_SWAP"] == "n")
        #expect(all["CONFIG_EMPTY"] == "" && all["CONFIG_CMDLINE"] == "\"a=b c=d\"")
        #expect(all["CONFIG_NO_EQUALS"] == nil && all["CONFIG_SECURITY_PATH"] == nil)
        let some: Set = ["CONFIG_MODULES", "CONFIG_AUFS_FS", "CONFIG_NOPE"]
        #expect(KernelConfig.parse(Self.sample, only: some).values == ["CONFIG_MODULES": "y", "CONFIG_AUFS_FS": "n"])
    }

    @Test func readsPlainAndGzipFilesForTheKeysAsked() {
        let d = TempDir()
        d.write("config", Self.sample)
        Self.gzipFile(d.path + "/config.gz", Self.sample)
        let keys: Set = ["CONFIG_MODULES", "CONFIG_OVERLAY_FS", "CONFIG_SWAP", "CONFIG_NOPE"]
        let want = ["CONFIG_MODULES": "y", "CONFIG_OVERLAY_FS": "m", "CONFIG_SWAP": "n"]
        #expect(KernelConfig.read(d.path + "/config", keys: keys)?.values == want)
        #expect(KernelConfig.read(d.path + "/config.gz", keys: keys, gzip: true)?.values == want)
        #expect(KernelConfig.read(d.path + "/config", keys: [])?.values == [:])
    }

    @Test func unreadableOrBrokenFilesAreNil() throws {
        let d = TempDir()
        #expect(KernelConfig.read(d.path + "/missing", keys: ["CONFIG_MODULES"]) == nil)
        #expect(KernelConfig.read(d.path + "/missing.gz", keys: ["CONFIG_MODULES"], gzip: true) == nil)
        #expect(KernelConfig.read(d.path, keys: ["CONFIG_MODULES"]) == nil)  // a directory: read gives EISDIR
        // A gzip header followed by data that does not inflate.
        Self.gzipFile(d.path + "/good.gz", String(repeating: "CONFIG_X=y\n", count: 1000))
        var bytes = try FileRead.bytes(d.path + "/good.gz").get()
        for i in 12..<bytes.count - 8 { bytes[i] ^= 0x5a }
        let fd = open(d.path + "/bad.gz", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(KernelConfig.read(d.path + "/bad.gz", keys: ["CONFIG_NOPE"], gzip: true) == nil)
        // A stream cut short: no end, so no answer (rather than the keys of half a config).
        let good = try FileRead.bytes(d.path + "/good.gz").get()
        let cut = open(d.path + "/cut.gz", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = good.withUnsafeBytes { write(cut, $0.baseAddress, $0.count / 2) }
        close(cut)
        #expect(KernelConfig.read(d.path + "/cut.gz", keys: ["CONFIG_NOPE"], gzip: true) == nil)
        #expect(KernelConfig.read(d.path + "/good.gz", keys: ["CONFIG_NOPE"], gzip: true) == KernelConfig(values: [:]))
    }

    /// Lines cut anywhere by the reads, a last line without a newline, and a line longer than the
    /// scanner's 64 KiB buffer give what the whole text gives.
    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func chunkBoundariesDoNotMatter(chunk: Int) {
        let long = "CONFIG_LONG=\"" + String(repeating: "x", count: 150_000) + "\""
        let text = Self.sample + "\n" + long + "\nCONFIG_AFTER_LONG=y\nCONFIG_LAST=m"
        var scanner = KernelConfig.Scanner(nil)
        var offset = 0
        let bytes = Array(text.utf8)
        let ok = scanner.run { buf in
            let n = min(chunk, buf.count, bytes.count - offset)
            bytes.withUnsafeBytes { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
            offset += n
            return n
        }
        #expect(ok)
        #expect(scanner.values == Self.reference(text))
        #expect(scanner.values["CONFIG_LONG"]?.count == 150_002)
        #expect(scanner.values["CONFIG_LAST"] == "m")
    }

    /// Once every key is found the scanner asks for no more data (the gzip stream is not inflated
    /// further), and an error from the source is reported.
    @Test func stopsWhenEveryKeyIsFound() {
        let text = "CONFIG_A=y\n# CONFIG_B is not set\n" + String(repeating: "CONFIG_FILLER=y\n", count: 100_000)
        let bytes = Array(text.utf8)
        var scanner = KernelConfig.Scanner(["CONFIG_A", "CONFIG_B"])
        var offset = 0, reads = 0
        let ok = scanner.run { buf in
            reads += 1
            let n = min(4096, buf.count, bytes.count - offset)
            bytes.withUnsafeBytes { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
            offset += n
            return n
        }
        #expect(ok && reads == 1)
        #expect(scanner.values == ["CONFIG_A": "y", "CONFIG_B": "n"])
        var failing = KernelConfig.Scanner(["CONFIG_A"])
        #expect(!failing.run { _ in -1 })
    }

    /// The real configs in the fixture roots and this host's /proc/config.gz, whole and for the keys
    /// check asks for, against the reference parser.
    @Test func realConfigsMatchTheReference() throws {
        var paths = (FileRead.list(packageRoot() + "/Tests/Fixtures/roots") ?? []).flatMap { r in
            (FileRead.list(packageRoot() + "/Tests/Fixtures/roots/\(r)/boot") ?? []).filter { $0.hasPrefix("config-") }
                .map { (packageRoot() + "/Tests/Fixtures/roots/\(r)/boot/" + $0, false) }
        }
        if FileRead.exists("/proc/config.gz") { paths.append(("/proc/config.gz", true)) }
        #expect(paths.count >= 8)
        for (path, gz) in paths {
            let text: String
            if gz {
                guard case .ok(let t) = FileRead.gunzip(path) else { Issue.record("\(path): unreadable"); continue }
                text = t
            } else {
                text = try #require(FileRead.string(path))
            }
            #expect(KernelConfig.parse(text).values == Self.reference(text), "\(path)")
            let keys = KernelConfigSource.keys
            #expect(
                KernelConfig.read(path, keys: keys, gzip: gz)?.values == Self.reference(text, only: keys), "\(path)")
        }
    }
}
