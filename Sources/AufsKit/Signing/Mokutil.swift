// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
extension Mokutil {
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

}
