// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// What decides whether this kernel will load a module DKMS builds: Secure Boot, lockdown,
/// signature enforcement, the key DKMS signs with, whether shim has it (enrolled or pending),
/// whether the running kernel trusts it, and an existing module's signer. Each with its evidence;
/// nil fields are unknown (never guessed).
public struct SigningFacts: Sendable, Codable, Equatable {
    public struct SecureBoot: Sendable, Codable, Equatable {
        /// Booted through UEFI (/sys/firmware/efi).
        public var uefi: Bool
        public var state: BootMode.SecureBoot
        /// The firmware's SetupMode variable (1: no platform key, nothing is enforced).
        public var setupMode: Bool?
        /// false: `mokutil --disable-validation` (MokSBStateRT), and Linux runs as without Secure Boot.
        public var shimValidation: Bool?
        public var evidence: [Evidence]
    }

    public struct Lockdown: Sendable, Codable, Equatable {
        /// `none`, `integrity` or `confidentiality`; nil when unknown.
        public var mode: String?
        public var evidence: [Evidence]
    }

    public struct Enforcement: Sendable, Codable, Equatable {
        /// `/sys/module/module/parameters/sig_enforce` (module.sig_enforce=1 or CONFIG_MODULE_SIG_FORCE).
        public var sigEnforce: Bool?
        public var configModuleSig: Bool?
        public var configSigForce: Bool?
        /// CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT: Secure Boot turns lockdown=integrity on.
        public var lockdownUnderSecureBoot: Bool?
        /// CONFIG_INTEGRITY_MACHINE_KEYRING: enrolled MOK keys are trusted for modules (.machine).
        public var machineKeyring: Bool?
        public var evidence: [Evidence]
    }

    public struct DKMSKey: Sendable, Codable, Equatable {
        public var dkmsVersion: String?
        /// Whether dkms signs what it builds for this kernel; nil when unknown.
        public var signs: Bool?
        public var whyNot: String?
        public var signFile: String?
        /// nil with `origin` naming the line: the value is computed by the shell.
        public var key: String?
        public var certificate: String?
        /// Where the choice comes from: a framework.conf line, Ubuntu's shim-signed pair, dkms's default.
        public var origin: String
        /// The pair is absent: dkms (or update-secureboot-policy on Ubuntu) makes it at the first signed build.
        public var madeAtFirstBuild: Bool
        public var keyFile: KeyFile?
        public var certificateFile: KeyFile?
        public var subject: String?
        /// The subject key identifier: the id the kernel's keyrings list the key under.
        public var keyID: String?
        /// The serial number, as modinfo prints a module's sig_key.
        public var serial: String?
        /// The key's description in /proc/keys once the kernel has it.
        public var kernelDescription: String?
        public var notAfter: String?
        /// Why root should not sign with or enroll this pair (symlinks, writable by others, ...).
        public var problems: [String]
        public var evidence: [Evidence]
    }

    public struct Enrolment: Sendable, Codable, Equatable {
        public var state: Mokutil.KeyState
        /// The keys `mokutil --list-new` shows (any key, not only DKMS's).
        public var pendingKeys: [Mokutil.ListedKey]?
        public var evidence: [Evidence]
    }

    public struct KernelTrust: Sendable, Codable, Equatable {
        /// The trusted keyrings that hold DKMS's key; nil when unknown.
        public var keyrings: [String]?
        /// Held by a keyring module signatures are checked against.
        public var trustedForModules: Bool?
        public var evidence: [Evidence]
    }

    public struct ModuleSignature: Sendable, Codable, Equatable {
        public var path: String
        public var signed: Bool
        public var signer: String?
        /// libkmod's sig_key: the signing certificate's serial number.
        public var keyID: String?
        public var hashAlgorithm: String?
        /// Signed by DKMS's certificate (same serial); nil when that certificate is unknown.
        public var byDKMSKey: Bool?
        /// Keys in the kernel's trusted keyrings with the signer's name (the name is all a
        /// module's signature carries besides the serial, which /proc/keys does not show).
        public var signerKeysInKernel: [String]?
        public var evidence: [Evidence]
    }

    public var secureBoot: SecureBoot
    public var lockdown: Lockdown
    public var enforcement: Enforcement
    public var dkmsKey: DKMSKey
    public var enrolment: Enrolment
    public var kernelTrust: KernelTrust
    public var module: ModuleSignature?
    /// Each /boot/vmlinuz-*'s Authenticode signers (what shim and GRUB check before booting it),
    /// newest first; `check` lists them (HostProbe.kernelImages).
    public var kernelImages: [KernelImageSignature] = []

    /// The firmware side as `check` has always reported it (facts.boot): UEFI and Secure Boot.
    public var bootMode: BootMode {
        BootMode(uefi: secureBoot.uefi, secureBoot: secureBoot.state, evidence: secureBoot.evidence)
    }

    /// For `load`'s messages (AufsMount): the DKMS pair, when known.
    public var signingKeyHint: SigningKeyHint {
        SigningKeyHint(
            signFile: dkmsKey.signFile, key: dkmsKey.key, certificate: dkmsKey.certificate,
            certificateSerial: dkmsKey.serial)
    }
}
