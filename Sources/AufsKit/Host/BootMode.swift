// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Firmware boot mode and Secure Boot state.
public struct BootMode: Sendable, Equatable, Codable {
    public enum SecureBoot: String, Sendable, Codable {
        case enabled, disabled, unknown, notApplicable = "not-applicable"
    }
    public var uefi: Bool
    public var secureBoot: SecureBoot
    public var evidence: [Evidence]

    public static let secureBootVar = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

    /// Reads `/sys/firmware/efi` and the SecureBoot efivar (4 attribute bytes, then the value).
    public static func probe(root: HostRoot) -> BootMode {
        let efi = root.resolve("/sys/firmware/efi")
        guard FileRead.isDirectory(efi) else {
            return BootMode(
                uefi: false, secureBoot: .notApplicable,
                evidence: [Evidence("/sys/firmware/efi", "absent (BIOS boot)")])
        }
        var ev = [Evidence("/sys/firmware/efi", "present (UEFI boot)")]
        switch FileRead.bytes(root.resolve(secureBootVar)) {
        case .success(let b) where b.count >= 5:
            ev.append(Evidence(secureBootVar, "value byte \(b[4])"))
            return BootMode(uefi: true, secureBoot: b[4] == 1 ? .enabled : .disabled, evidence: ev)
        case .success:
            ev.append(Evidence(secureBootVar, "too short"))
        case .failure(let e):
            ev.append(Evidence(secureBootVar, e.name))
        }
        return BootMode(uefi: true, secureBoot: .unknown, evidence: ev)
    }

    /// `mokutil --sb-state` output: "SecureBoot enabled" / "SecureBoot disabled".
    public static func parseMokutil(_ out: String) -> SecureBoot {
        let l = out.lowercased()
        if l.contains("secureboot enabled") { return .enabled }
        if l.contains("secureboot disabled") { return .disabled }
        return .unknown
    }
}

/// Where a fact came from: a path (or command) and the value seen there.
public struct Evidence: Sendable, Equatable, Codable {
    public var source: String
    public var value: String
    public init(_ source: String, _ value: String) {
        self.source = source
        self.value = value
    }
}
