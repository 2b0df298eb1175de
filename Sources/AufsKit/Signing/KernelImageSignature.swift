// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import SwiftASN1

/// Who signed a kernel image for Secure Boot: an EFI-stub kernel is a PE/COFF file whose
/// certificate table (data directory 4) holds Authenticode WIN_CERTIFICATEs, each a PKCS#7
/// SignedData. shim and GRUB boot only a signed one (what signs it, and whether shim trusts that,
/// is theirs to check; an image with no signature at all will not boot under Secure Boot).
///
/// The PE fields are read by hand (a few fixed offsets, pread of the header and of the table at
/// the file's end, never the whole image); the PKCS#7 through swift-asn1, as CertificateInfo does.
public struct KernelImageSignature: Sendable, Codable, Equatable {
    public var path: String
    /// nil when the file is no PE image (then `problem` says why).
    public var signed: Bool?
    /// The signing certificate's subject of each signature (`CN=Debian Secure Boot Signer 2022 - linux`).
    public var signers: [String]
    public var issuers: [String]
    public var problem: String?

    public static func read(_ path: String, root: HostRoot) -> KernelImageSignature {
        var out = KernelImageSignature(path: path, signed: nil, signers: [], issuers: [], problem: nil)
        let fd = open(root.resolve(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            out.problem = "\(path): \(SysErrno(errno).description)"
            return out
        }
        defer { close(fd) }
        func bytes(_ offset: Int, _ count: Int) -> [UInt8]? {
            var b = [UInt8](repeating: 0, count: count)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? b : nil
        }
        do {
            let table = try certificateTable(header: bytes(0, 4096) ?? [])
            guard let table else {
                out.signed = false
                return out
            }
            guard table.size <= 1 << 20, let raw = bytes(table.offset, table.size) else {
                out.problem = "\(path): the certificate table (\(table.size) bytes at \(table.offset)) is cut short"
                return out
            }
            for (subject, issuer) in try signatures(raw) {
                out.signers.append(subject)
                out.issuers.append(issuer)
            }
            out.signed = !out.signers.isEmpty
        } catch {
            out.problem = "\(path): \(error)"
        }
        return out
    }

    public struct FormatError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    static func u16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    static func u32(_ b: [UInt8], _ o: Int) -> Int { u16(b, o) | u16(b, o + 2) << 16 }

    /// The certificate table's file offset and size from the PE headers, nil when it is empty.
    static func certificateTable(header b: [UInt8]) throws -> (offset: Int, size: Int)? {
        guard b.count >= 0x40, b[0] == 0x4d, b[1] == 0x5a else {
            throw FormatError(description: "not a PE/COFF image (no MZ header): not an EFI-stub kernel")
        }
        let pe = u32(b, 0x3c)
        guard pe + 24 <= b.count, b[pe..<pe + 4] == [0x50, 0x45, 0, 0] else {
            throw FormatError(description: "not a PE/COFF image (no PE signature): not an EFI-stub kernel")
        }
        let optional = pe + 24
        guard optional + 2 <= b.count else { throw FormatError(description: "PE optional header cut short") }
        let magic = u16(b, optional)
        let dirCountAt = optional + (magic == 0x20b ? 108 : magic == 0x10b ? 92 : -1)
        guard dirCountAt > optional, dirCountAt + 4 <= b.count else {
            throw FormatError(description: "unknown PE optional header magic \(String(magic, radix: 16))")
        }
        // Data directory 4: the certificate table (a file offset, not an RVA).
        guard u32(b, dirCountAt) > 4, dirCountAt + 4 + 5 * 8 <= b.count else { return nil }
        let entry = dirCountAt + 4 + 4 * 8
        let (offset, size) = (u32(b, entry), u32(b, entry + 4))
        return size == 0 ? nil : (offset, size)
    }

    /// Each WIN_CERTIFICATE (dwLength, wRevision, wCertificateType 2 = PKCS#7, 8-byte aligned):
    /// the subject and issuer of the certificate its SignerInfo names.
    static func signatures(_ table: [UInt8]) throws -> [(String, String)] {
        var out: [(String, String)] = []
        var at = 0
        while at + 8 <= table.count {
            let length = u32(table, at)
            let type = u16(table, at + 6)
            guard length >= 8, at + length <= table.count else {
                throw FormatError(description: "a WIN_CERTIFICATE of \(length) bytes overruns the table")
            }
            if type == 2 { out.append(try signer(Array(table[(at + 8)..<(at + length)]))) }
            at += (length + 7) & ~7
        }
        return out
    }

    /// ContentInfo { signedData, [0] SignedData { version, digests, content, [0] certificates,
    /// [1] crls?, signerInfos } }: the certificate whose serial the first SignerInfo names.
    static func signer(_ der: [UInt8]) throws -> (String, String) {
        let info = try CertificateInfo.children(try DER.parse(der), "ContentInfo")
        guard info.count == 2, let wrapped = try CertificateInfo.children(info[1], "[0]").first else {
            throw FormatError(description: "a signature that is not PKCS#7 SignedData")
        }
        let signed = try CertificateInfo.children(wrapped, "SignedData")
        let certTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        let certs =
            try signed.first { $0.identifier == certTag }.map { try CertificateInfo.children($0, "certificates") } ?? []
        guard let signerInfos = signed.last, let first = try CertificateInfo.children(signerInfos, "signerInfos").first
        else { throw FormatError(description: "a signature without a SignerInfo") }
        let sid = try CertificateInfo.children(first, "SignerInfo")
        guard sid.count > 1, sid[1].identifier == .sequence,
            case .primitive(let serial)? = try CertificateInfo.children(sid[1], "IssuerAndSerialNumber").last?.content
        else {
            throw FormatError(description: "a SignerInfo that names its certificate other than by issuer and serial")
        }
        let want = CertificateInfo.hex(serial)
        for c in certs {
            if let parsed = try? CertificateInfo.parse(der: Array(c.encodedBytes)), parsed.serial == want {
                return (parsed.subject.text, parsed.issuer.text)
            }
        }
        throw FormatError(description: "the signing certificate (serial \(want)) is not in the signature")
    }
}
