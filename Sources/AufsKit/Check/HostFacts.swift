// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Everything `check` (and later `install`/`mount`) learns about a host, each with its evidence.
/// Encoded as the `facts` object of `aufsctl check --json` (schema in README).
public struct HostFacts: Sendable, Codable, Equatable {
    public struct Distro: Sendable, Codable, Equatable {
        public var id: String?
        public var idLike: [String]
        public var versionId: String?
        public var prettyName: String?
        /// `rhel-like 7`, `debian 12`, `ubuntu 20.04`, `other (arch)`, or nil when unknown.
        public var family: DistroFamily?
        public var evidence: [Evidence]
        public var problems: [String]
    }

    public struct Kernel: Sendable, Codable, Equatable {
        /// The kernel this run is about (`--kernel`, else the running one), folded once by the probe.
        public var release: KernelRelease
        public var major: Int
        public var minor: Int
        public var patch: Int?
        public var flavor: KernelRelease.Flavor
        /// Whether this is the kernel running in the root (so /proc describes it).
        public var running: Bool
        public var debianPointRelease: String?
        public var machine: String?
        public var evidence: [Evidence]
    }

    public struct Filesystems: Sendable, Codable, Equatable {
        /// nil: unknown (not the running kernel, or /proc/filesystems unreadable).
        public var aufs: Bool?
        public var overlay: Bool?
        public var evidence: [Evidence]
    }

    public struct Module: Sendable, Codable, Equatable {
        /// Loadable module support in the kernel (CONFIG_MODULES); nil when unknown.
        public var moduleSupport: Bool?
        public var moduleTree: String?
        public var found: Bool?
        public var path: String?
        public var builtin: Bool
        public var state: ModuleInfo.State?
        public var vermagic: String?
        public var signer: String?
        public var blacklistedBy: [String]
        /// `CONFIG_AUFS_FS`: `y`, `m`, `n`, or nil when no config was readable.
        public var configAufsFs: String?
        public var overlayModule: String?
        public var evidence: [Evidence]
    }

    public struct Build: Sendable, Codable, Equatable {
        public var headers: Bool
        public var headersPath: String
        public var symvers: String?
        /// `aufs6` for 6.x kernels.
        public var series: String
        /// The kernel's real sublevel (`140` of 5.10.140), when known.
        public var sublevel: Int?
        /// The aufs-standalone branch that would be built, and why; nil with `branchProblem`.
        public var branch: AufsBranch?
        /// The git ref `install` would build: `branch.name`, under the name of the option that
        /// overrides it (`--source-ref`); `branch` stays for existing readers.
        public var sourceRef: String?
        public var branchProblem: String?
        /// How many exports the branch needs on this kernel; `missing` nil: not checked.
        public var required: Int
        public var missing: [String]?
        public var notNeeded: [SymbolCheck.Excluded]
        public var undecided: [SymbolCheck.Excluded]
        /// Most of the branch's exports are missing: no aufs patches at all.
        public var lacksPatches: Bool?
        /// Where the kernel options the export conditions read came from.
        public var kernelConfig: String?
        public var evidence: [Evidence]
        /// How far the kernel's sublevel is past the branch's: stable point releases break aufs's
        /// branches often, so a build past the branch is untested until `check --build` runs.
        public var buildRisk: BuildRisk? = nil
        /// `check --build`: what compiling aufs against the headers in a scratch directory showed.
        public var trial: TrialBuildReport? = nil
        /// `check --build` could not compile (no headers, no git): why.
        public var trialProblem: String? = nil
        /// `check --skip-export-check`: the verdict leaves the export list out (experts, tests).
        public var exportCheckSkipped: Bool? = nil
    }

    /// The kernel's sublevel against the branch's (`aufs5.10.140` on 5.10.223: 83 past).
    public struct BuildRisk: Sendable, Codable, Equatable {
        public var branch: String
        public var branchSublevel: Int
        public var kernelSublevel: Int
        public var sublevelsPast: Int
        /// Whether a trial build has compiled it (`check --build`).
        public var tested: Bool

        /// `the kernel's sublevel 223 is 83 past aufs5.10.140's 140`; a series branch (aufs6.1) names
        /// no sublevel it was made for, so only its distance from .0 is known.
        public var text: String {
            branchSublevel == 0
                ? "\(branch) is the series branch and names no sublevel it was tested with (the kernel's is "
                    + "\(kernelSublevel))"
                : "the kernel's sublevel \(kernelSublevel) is \(sublevelsPast) past \(branch)'s \(branchSublevel)"
        }
    }

    public struct DKMS: Sendable, Codable, Equatable {
        public var installed: Bool
        public var path: String?
        public var entries: [DKMSStatusEntry]?
        /// What aufsctl's dkms installs were built from (state file; readable by root only).
        public var builtFrom: [String]? = nil
        /// Trees dkms builds aufs from (/usr/src/aufs-V of a registered version) with a file not
        /// root's, or writable by group or others: `PATH: why`. nil when there is none.
        public var unsafeTrees: [String]? = nil
        public var evidence: [Evidence]
    }

    public struct Xino: Sendable, Codable, Equatable {
        public var path: String
        public var filesystem: String?
        public var accepted: Bool?
        public var device: BackingDevice?
        public var evidence: [Evidence]
    }

    public struct User: Sendable, Codable, Equatable {
        public var euid: UInt32
        public var root: Bool
    }

    public var distro: Distro
    public var kernel: Kernel
    public var filesystems: Filesystems
    public var module: Module
    public var build: Build
    public var dkms: DKMS
    public var boot: BootMode
    /// What decides whether the kernel loads a module (Secure Boot, lockdown, enforcement, DKMS's
    /// key and its enrolment, the kernel's keyrings, aufs.ko's signer) and the /boot kernels' signers.
    public var signing: SigningFacts
    public var xino: Xino
    /// Other installed kernels whose config builds aufs in (`/boot/config-*`), e.g. an installed
    /// but not yet booted kernel-ml-aufs.
    public var otherAufsKernels: [String]
    /// The kernel the next boot starts (GRUB's default) and whether it has aufs.
    public var nextBoot: NextBoot
    public var user: User
    /// Every installed kernel, newest first (`check`'s per-kernel table).
    public var kernels: [KernelRow] = []
}
