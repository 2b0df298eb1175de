// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// What mokutil (0.6.0, src/mokutil.c) prints, read as text: its exit codes do not say what they
/// seem to (`--test-key` exits 0 when the key is NOT enrolled, 1 when it is or is pending). Here,
/// beside DKMSStatus, because uninstall reads it to revoke a pending import; check's Secure Boot
/// reading (`--sb-state`) is an extension in AufsKit/Signing.
public enum Mokutil {
    /// Where a certificate stands with shim and the firmware, from `mokutil --test-key CERT`.
    public enum KeyState: String, Sendable, Codable {
        case enrolled
        /// In the firmware's db: the kernel loads it into its .platform keyring.
        case inDB = "in-db"
        /// Staged by `mokutil --import`, waiting for MokManager at the next boot.
        case pending
        case notEnrolled = "not-enrolled"
        /// In dbx or MokListX: refused.
        case blocked
        /// Built into the kernel (.builtin_trusted_keys): mokutil refuses to test it.
        case builtin
        case unknown
    }

    /// `FILE is not enrolled`, `is already enrolled`, `is already in db`, `is already in the
    /// enrollment request`, `is blocked in dbx|MokListXRT`, `is already in the built-in trusted keyring`.
    public static func parseTestKey(_ output: String) -> KeyState {
        for line in output.split(separator: "\n") {
            if line.hasSuffix(" is not enrolled") { return .notEnrolled }
            if line.hasSuffix(" is already enrolled") { return .enrolled }
            if line.hasSuffix(" is already in db") { return .inDB }
            if line.hasSuffix(" is already in the enrollment request") { return .pending }
            if line.contains(" is blocked in ") { return .blocked }
            if line.hasSuffix(" is already in the built-in trusted keyring") { return .builtin }
        }
        return .unknown
    }

    /// One key of `mokutil --list-new` (X509_print's Serial Number, Subject and subject key identifier).
    public struct ListedKey: Sendable, Equatable, Codable {
        public var subject: String?
        public var subjectKeyID: String?
        /// The serial number as lower-case hex without leading zeros.
        public var serial: String? = nil

        /// Whether this is the certificate with that subject key id (else, without one, that serial).
        public func names(keyID: String?, serial other: String?) -> Bool {
            if let keyID, let mine = subjectKeyID { return mine == keyID.lowercased() }
            guard let other, let serial else { return false }
            return serial == Mokutil.normalizedSerial(other)
        }
    }

    /// `25:5E:A7`, `255ea7`, `00 8a 1b`, `35355 (0x8a1b)`: lower-case hex without separators or leading zeros.
    public static func normalizedSerial(_ s: String) -> String {
        var text = Substring(s)
        if let open = text.firstRange(of: "(0x"), let close = text[open.upperBound...].firstIndex(of: ")") {
            text = text[open.upperBound..<close]
        }
        let hex = text.lowercased().filter { $0.isHexDigit }
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// `MokNew is empty`, or `[key 1]` blocks of `SHA1 Fingerprint:` and openssl's X509_print.
    public static func parseList(_ output: String) -> [ListedKey] {
        var keys: [ListedKey] = []
        var skidNext = false
        var serialNext = false
        for raw in output.split(separator: "\n") {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("[key ") {
                keys.append(ListedKey(subject: nil, subjectKeyID: nil))
                continue
            }
            guard !keys.isEmpty else { continue }
            if skidNext {
                keys[keys.count - 1].subjectKeyID = String(line.filter { $0 != ":" }).lowercased()
                skidNext = false
            } else if serialNext {
                keys[keys.count - 1].serial = normalizedSerial(String(line))
                serialNext = false
            } else if line.hasPrefix("Serial Number:") {
                // Small serials on the line (`Serial Number: 35355 (0x8a1b)`), long ones on the next.
                let rest = line.dropFirst("Serial Number:".count).trimmingPrefix(" ")
                if rest.isEmpty {
                    serialNext = true
                } else {
                    keys[keys.count - 1].serial = normalizedSerial(String(rest))
                }
            } else if line.hasPrefix("Subject: ") {
                keys[keys.count - 1].subject = String(line.dropFirst("Subject: ".count))
            } else if line.hasPrefix("X509v3 Subject Key Identifier") {
                skidNext = true
            }
        }
        return keys
    }
}
