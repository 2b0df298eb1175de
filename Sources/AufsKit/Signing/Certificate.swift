// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import SwiftASN1

/// The fields of an X.509 certificate that module signing turns on: the names the kernel builds a
/// key's description from, the serial number a module's PKCS#7 signature names its signer by, and
/// the subject key identifier the kernel's keyrings list the key under.
///
/// DER comes from swift-asn1; the walk over the handful of X.509 fields is ours. swift-certificates
/// would parse all of X.509, but it brings swift-crypto's BoringSSL (minutes of C to build and a few
/// MB of binary) for what is six fields of one structure; running openssl would tie `check` to a
/// program that may be absent and cost a process per certificate.
public struct CertificateInfo: Sendable, Equatable, Codable {
    public var subject: DistinguishedName
    public var issuer: DistinguishedName
    /// The INTEGER's content bytes as hex, as they are in the certificate (a leading 00 kept).
    public var serial: String
    /// The subjectKeyIdentifier extension's key identifier, lower-case hex; nil when absent.
    public var subjectKeyID: String?
    public var notAfter: String?

    public struct DistinguishedName: Sendable, Equatable, Codable {
        public var commonName: String?
        public var organization: String?
        public var email: String?

        /// x509_fabricate_name() in crypto/asymmetric_keys/x509_cert_parser.c: the CN alone when it
        /// starts with the O (or with its first 7 bytes), else "O: CN"; then CN, O, email alone.
        public var kernelName: String {
            let cn = commonName.map { Array($0.utf8) }
            let o = organization.map { Array($0.utf8) }
            if let cn, let o {
                if cn.count >= o.count && cn.starts(with: o) { return commonName! }
                if cn.count >= 7 && o.count >= 7 && cn.prefix(7) == o.prefix(7) { return commonName! }
                return organization! + ": " + commonName!
            }
            return commonName ?? organization ?? email ?? ""
        }

        public var text: String {
            [commonName.map { "CN=\($0)" }, organization.map { "O=\($0)" }, email.map { "emailAddress=\($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
        }
    }

    /// The key's description in the kernel's keyrings (/proc/keys): "NAME: SKID" (the serial when
    /// the certificate has no subject key identifier), as x509_key_preparse() writes it.
    public var kernelDescription: String { subject.kernelName + ": " + (subjectKeyID ?? serial) }

    /// The serial number as libkmod prints a module's `sig_key` (`25:5E:A7:...`, no leading 00).
    public var serialForModinfo: String {
        var bytes = stride(from: 0, to: serial.count, by: 2).map {
            let i = serial.index(serial.startIndex, offsetBy: $0)
            return String(serial[i..<serial.index(i, offsetBy: 2)]).uppercased()
        }
        while bytes.count > 1 && bytes.first == "00" { bytes.removeFirst() }
        return bytes.joined(separator: ":")
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A DER certificate, or a PEM file holding one (`-----BEGIN CERTIFICATE-----`).
    public static func parse(_ bytes: [UInt8]) throws -> CertificateInfo {
        var der = bytes
        if bytes.starts(with: Array("-----BEGIN".utf8)) {
            do {
                der = try PEMDocument(pemString: String(decoding: bytes, as: UTF8.self)).derBytes
            } catch {
                throw ParseError(description: "PEM that holds no certificate (\(error))")
            }
        }
        do {
            return try parse(der: der)
        } catch let e as ParseError {
            throw e
        } catch {
            throw ParseError(description: "not an X.509 certificate in DER or PEM (\(error))")
        }
    }

    static func parse(der: [UInt8]) throws -> CertificateInfo {
        let root = try DER.parse(der)
        let top = try children(root, "Certificate")
        guard let tbsNode = top.first else { throw ParseError(description: "empty Certificate") }
        var tbs = try children(tbsNode, "TBSCertificate")[...]
        // version [0] EXPLICIT, absent for v1
        if tbs.first?.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) { tbs.removeFirst() }
        guard tbs.count >= 6 else { throw ParseError(description: "TBSCertificate has \(tbs.count) fields") }
        let fields = Array(tbs)
        guard fields[0].identifier == .integer, case .primitive(let serial) = fields[0].content else {
            throw ParseError(description: "no serialNumber INTEGER")
        }
        let issuer = try name(fields[2])
        let notAfter = try? children(fields[3], "Validity").last.flatMap(timeText)
        let subject = try name(fields[4])
        var skid: String?
        let extTag = ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific)
        if let ext = fields.dropFirst(6).first(where: { $0.identifier == extTag }),
            let list = try children(ext, "extensions").first
        {
            for e in try children(list, "Extensions") {
                let parts = try children(e, "Extension")
                guard let oid = parts.first, try ASN1ObjectIdentifier(derEncoded: oid) == [2, 5, 29, 14],
                    case .primitive(let value)? = parts.last?.content
                else { continue }
                // extnValue is an OCTET STRING holding the DER of the KeyIdentifier OCTET STRING.
                if case .primitive(let id) = try DER.parse(value).content { skid = hex(id) }
            }
        }
        return CertificateInfo(
            subject: subject, issuer: issuer, serial: hex(serial), subjectKeyID: skid, notAfter: notAfter)
    }

    static func children(_ node: ASN1Node, _ what: String) throws -> [ASN1Node] {
        guard case .constructed(let nodes) = node.content else {
            throw ParseError(description: "\(what) is not a constructed DER value")
        }
        return Array(nodes)
    }

    /// Name ::= SEQUENCE OF SET OF { type OID, value DirectoryString }; the last CN/O/email wins,
    /// as in the kernel's parser.
    static func name(_ node: ASN1Node) throws -> DistinguishedName {
        var dn = DistinguishedName()
        for rdn in try children(node, "Name") {
            for attr in try children(rdn, "RelativeDistinguishedName") {
                let tv = try children(attr, "AttributeTypeAndValue")
                guard tv.count == 2, case .primitive(let v) = tv[1].content else { continue }
                let value = String(decoding: v, as: UTF8.self)
                switch try ASN1ObjectIdentifier(derEncoded: tv[0]) {
                case [2, 5, 4, 3]: dn.commonName = value
                case [2, 5, 4, 10]: dn.organization = value
                case [1, 2, 840, 113549, 1, 9, 1]: dn.email = value
                default: break
                }
            }
        }
        return dn
    }

    /// UTCTime (YYMMDDhhmmssZ) or GeneralizedTime as `YYYY-MM-DD`.
    static func timeText(_ node: ASN1Node) -> String? {
        guard case .primitive(let b) = node.content else { return nil }
        let s = String(decoding: b, as: UTF8.self)
        let digits = s.prefix { $0.isNumber }
        if node.identifier == .utcTime, digits.count >= 6 {
            let yy = Int(digits.prefix(2)) ?? 0
            let year = yy < 50 ? 2000 + yy : 1900 + yy
            return "\(year)-\(digits.dropFirst(2).prefix(2))-\(digits.dropFirst(4).prefix(2))"
        }
        if node.identifier == .generalizedTime, digits.count >= 8 {
            return "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.dropFirst(6).prefix(2))"
        }
        return nil
    }

    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
