// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// What mokutil (0.6.0, src/mokutil.c) prints, read as text: its exit codes do not say what they
/// seem to (`--test-key` exits 0 when the key is NOT enrolled, 1 when it is or is pending).
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

    public struct SecureBootState: Sendable, Equatable {
        public var secureBoot: BootMode.SecureBoot
        /// "SecureBoot validation is disabled in shim" (MokSBStateRT): Linux then runs as without Secure Boot.
        public var shimValidationDisabled: Bool
        public var setupMode: Bool
    }

    /// `mokutil --sb-state`: "SecureBoot enabled|disabled", "SecureBoot validation is disabled in
    /// shim", "Platform is in Setup Mode", "This system doesn't support Secure Boot".
    public static func parseSBState(_ output: String) -> SecureBootState {
        let l = output.lowercased()
        var sb = BootMode.parseMokutil(output)
        if l.contains("doesn't support secure boot") || l.contains("efi variables are not supported") {
            sb = .notApplicable
        }
        return SecureBootState(
            secureBoot: sb, shimValidationDisabled: l.contains("validation is disabled in shim"),
            setupMode: l.contains("setup mode"))
    }

    /// One key of `mokutil --list-new` (X509_print's Subject line and subject key identifier).
    public struct ListedKey: Sendable, Equatable, Codable {
        public var subject: String?
        public var subjectKeyID: String?
    }

    /// `MokNew is empty`, or `[key 1]` blocks of `SHA1 Fingerprint:` and openssl's X509_print.
    public static func parseList(_ output: String) -> [ListedKey] {
        var keys: [ListedKey] = []
        var skidNext = false
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
            } else if line.hasPrefix("Subject: ") {
                keys[keys.count - 1].subject = String(line.dropFirst("Subject: ".count))
            } else if line.hasPrefix("X509v3 Subject Key Identifier") {
                skidNext = true
            }
        }
        return keys
    }
}
