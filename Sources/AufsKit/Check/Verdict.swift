// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `check`'s answer: can aufs be used here, and if not, what would make it usable.
public struct Verdict: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case usable, loadable, installable, blocked
    }
    public var state: State
    public var method: InstallMethod?
    public var reason: String
    public var waysOut: [String]

    public var exitCode: AufsExitCode {
        switch state {
        case .usable: return .success
        case .loadable, .installable: return .installable
        case .blocked: return .blocked
        }
    }

    /// The load the signing facts predict for the module on disk or the one DKMS would build
    /// (loadable and dkms verdicts only: it says nothing about a usable or blocked host).
    public var signing: SigningVerdict?

    public static func decide(_ f: HostFacts) -> Verdict {
        var v = decideIgnoringSecureBoot(f)
        guard v.state == .loadable || v.method == .dkms else { return v }
        let s = SigningVerdict.predict(f.signing)
        v.signing = s
        return v.state == .loadable ? loadable(v, s, f) : buildable(v, s, secureBoot: f.boot.secureBoot == .enabled)
    }

    /// A module on disk: whether this kernel will take it decides what `loadable` means.
    static func loadable(_ v: Verdict, _ s: SigningVerdict, _ f: HostFacts) -> Verdict {
        var out = v
        switch s.outcome {
        case .loads, .trusted:
            return out
        case .afterEnrolment:
            // Like a kernel that is installed but not running: a reboot (and a person) finishes it.
            out.state = .installable
            out.reason = "the aufs module is at \(f.module.path ?? "?"), \(s.reason)"
            out.waysOut = s.wayOut.map { [$0] } ?? []
        case .refused:
            out.state = .blocked
            out.reason = "the aufs module is at \(f.module.path ?? "?") but will be refused: \(s.reason)"
            out.waysOut =
                (s.wayOut.map { [$0] } ?? [])
                + [
                    "use overlayfs instead: `aufsctl mount --fallback overlay ...` mounts the same layers with "
                        + "overlay semantics"
                ]
        case .unknown:
            // Said in verdict.signing and the report's "module load" row; no way out to offer.
            break
        }
        return out
    }

    /// DKMS would build it: install signs it and stages the key's enrolment, so say what remains.
    static func buildable(_ v: Verdict, _ s: SigningVerdict, secureBoot: Bool) -> Verdict {
        var out = v
        switch s.outcome {
        case .loads, .trusted:
            break
        case .unknown where !secureBoot:
            break
        case .afterEnrolment, .refused, .unknown:
            out.waysOut.append(
                "module signatures: \(s.reason)" + (s.wayOut.map { "; \($0)" } ?? "")
                    + (secureBoot ? " (`aufsctl install` makes DKMS's key if needed and stages its enrolment)" : ""))
        }
        return out
    }

    static func decideIgnoringSecureBoot(_ f: HostFacts) -> Verdict {
        let overlayWay =
            f.filesystems.overlay == false
            ? "use overlayfs instead: `aufsctl mount --fallback overlay ...` (the overlay module must be available)"
            : "use overlayfs instead: `aufsctl mount --fallback overlay ...` mounts the same layers with overlay "
                + "semantics"
        for rule in [present, byDistro, withoutModuleSupport, fromExports] {
            if let v = rule(f, overlayWay) { return v }
        }
        return withoutHeaders(f, overlayWay: overlayWay)
    }

    static let patchedKernel =
        "boot a kernel that carries the aufs base, mmap and standalone patches, then `aufsctl install --method "
        + "dkms`"

    /// aufs is there: registered, a module to load, or built into a kernel that is not running.
    static func present(_ f: HostFacts, overlayWay: String) -> Verdict? {
        let k = f.kernel.release
        let m = f.module
        if f.filesystems.aufs == true {
            return Verdict(
                state: .usable, method: nil,
                reason: "aufs is registered in /proc/filesystems" + (m.builtin ? " (built into \(k))" : ""),
                waysOut: [])
        }
        if m.found == true, !m.builtin, m.path != nil {
            if !m.blacklistedBy.isEmpty {
                return Verdict(
                    state: .blocked, method: nil,
                    reason:
                        "the aufs module is at \(m.path!) but blacklisted by "
                        + "\(m.blacklistedBy.joined(separator: ", "))",
                    waysOut: ["remove the `blacklist aufs` line(s), then `aufsctl load`", overlayWay])
            }
            if m.moduleSupport == false {
                return Verdict(
                    state: .blocked, method: nil,
                    reason:
                        "the aufs module is at \(m.path!) but kernel \(k) cannot load modules (CONFIG_MODULES is not "
                        + "set)",
                    waysOut: ["boot a kernel with module support or with aufs built in", overlayWay])
            }
            let when = f.kernel.running ? "" : " once \(k) is running"
            return Verdict(
                state: .loadable, method: nil,
                reason: "the aufs module is at \(m.path!), not loaded\(when); `aufsctl load` loads it",
                waysOut: [])
        }
        if m.builtin && !f.kernel.running {
            return Verdict(
                state: .installable, method: nil,
                reason: "aufs is built into \(k), which is installed but not running; reboot into it",
                waysOut: [])
        }
        return nil
    }

    /// The distros with their own way: CentOS 7 (kernel-ml-aufs), Ubuntu <= 20.10 (extra modules).
    static func byDistro(_ f: HostFacts, overlayWay: String) -> Verdict? {
        let k = f.kernel.release
        let family = f.distro.family
        if case .rhel(7)? = family {
            if let machine = f.kernel.machine, machine != "x86_64" {
                return Verdict(
                    state: .blocked, method: nil,
                    reason: "kernel-ml-aufs is built for x86_64 only; this machine is \(machine)",
                    waysOut: [overlayWay])
            }
            if let other = f.otherAufsKernels.first {
                return Verdict(
                    state: .installable, method: .kernelMLAufs,
                    reason:
                        "kernel \(other) with aufs is installed but not running; `aufsctl install` makes it the GRUB "
                        + "default, then reboot",
                    waysOut: [])
            }
            return Verdict(
                state: .installable, method: .kernelMLAufs,
                reason:
                    "CentOS/RHEL 7: the kernel-ml-aufs package (a mainline kernel with aufs built in) replaces \(k); "
                    + "needs a reboot",
                waysOut: [
                    "note: CentOS 7 is end of life; yum needs the vault repos and the kernel-ml-aufs repo may be gone"
                ])
        }
        if case .ubuntu(let major, let minor)? = family, (major, minor) <= (20, 10), f.kernel.flavor == .ubuntu {
            return Verdict(
                state: .installable, method: .ubuntuExtra,
                reason: "Ubuntu \(major).\(minor < 10 ? "0" : "")\(minor) ships aufs in linux-modules-extra-\(k)",
                waysOut: [])
        }
        return nil
    }

    static func withoutModuleSupport(_ f: HostFacts, overlayWay: String) -> Verdict? {
        let k = f.kernel.release
        let m = f.module
        if m.moduleSupport == false {
            return Verdict(
                state: .blocked, method: nil,
                reason:
                    "kernel \(k) has no loadable module support (CONFIG_MODULES is not set), so aufs would have to be "
                    + "built in",
                waysOut: ["boot a kernel with aufs built in", overlayWay])
        }
        return nil
    }

    /// What `check --build` compiled: no branch builds is blocked; one that builds is the
    /// evidence "installable" rests on (with the exports present, or the export check skipped).
    static func fromTrial(_ f: HostFacts, overlayWay: String) -> Verdict? {
        guard let t = f.build.trial else { return nil }
        let skipped = f.build.exportCheckSkipped == true
        // Missing exports speak first: the trial then fails at modpost, or built a tree that needs none.
        if let missing = f.build.missing, !missing.isEmpty, !skipped { return nil }
        let k = f.kernel.release
        guard let built = t.built, let a = t.attempts.first(where: { $0.built }) else {
            return Verdict(
                state: .blocked, method: nil,
                reason: "no aufs branch compiles for kernel \(k) (check --build, \(t.ranIn)): \(t.summary)",
                waysOut: [
                    "boot a kernel whose sublevel an aufs branch supports (stable point releases change the "
                        + "functions aufs calls), or wait for a newer branch",
                    "try another branch or commit: `aufsctl check --build --source-ref BRANCH|COMMIT`",
                    overlayWay,
                ])
        }
        let what = built == "--source" ? "the --source tree" : built
        return Verdict(
            state: .installable, method: .dkms,
            reason: (skipped
                ? "the export check was skipped (--skip-export-check); "
                : "kernel \(k) exports all \(f.build.required) symbols aufs needs; ")
                + "a trial build of \(what) compiled for \(k) in \(a.seconds) s (\(a.source)); DKMS can build it",
            waysOut: [])
    }

    /// What Module.symvers says about the exports the branch needs.
    static func fromExports(_ f: HostFacts, overlayWay: String) -> Verdict? {
        let k = f.kernel.release
        let b = f.build
        let branchName = b.branch?.name ?? b.series
        if let v = fromTrial(f, overlayWay: overlayWay) { return v }
        if let missing = b.missing {
            if missing.isEmpty {
                var reason =
                    "kernel \(k) exports all \(b.required) symbols \(branchName) needs; DKMS can build the module "
                    + "from branch \(branchName)"
                if let why = b.branch?.reason { reason += " (\(why))" }
                if !b.undecided.isEmpty {
                    reason +=
                        "; \(b.undecided.count) more exports could not be decided "
                        + "(\(b.undecided.map(\.symbol).joined(separator: ", "))): the kernel config is unreadable"
                }
                if let r = b.buildRisk, r.sublevelsPast > 0, !r.tested {
                    reason +=
                        "; \(r.text): the build is untested (`aufsctl check --build` compiles it)"
                }
                return Verdict(state: .installable, method: .dkms, reason: reason, waysOut: [])
            }
            if b.lacksPatches == true {
                return Verdict(
                    state: .blocked, method: nil,
                    reason:
                        "kernel \(k) does not carry aufs's patches: it exports \(b.required - missing.count) of the "
                        + "\(b.required) symbols \(branchName) needs (missing: \(missing.joined(separator: ", ")))",
                    waysOut: [Verdict.patchedKernel, overlayWay])
            }
            return Verdict(
                state: .blocked, method: nil,
                reason:
                    "kernel \(k) carries aufs's patches but lacks \(missing.count) of the \(b.required) symbols "
                    + "\(branchName) needs: \(missing.joined(separator: ", "))",
                waysOut: [
                    "rebuild \(k) with the complete aufs standalone patch of \(branchName) (these exports are missing "
                        + "from its Module.symvers)",
                    "experts: `aufsctl install --method dkms --skip-export-check` builds anyway; modpost names what "
                        + "is really missing",
                    overlayWay,
                ])
        }
        if let problem = b.branchProblem, b.headers {
            return Verdict(
                state: .blocked, method: nil, reason: problem,
                waysOut: ["name a branch: `aufsctl install --method dkms --source-ref aufsX.Y`", overlayWay])
        }
        return nil
    }

    /// No headers, so no Module.symvers to read: what is known of the distro's kernels.
    static func withoutHeaders(_ f: HostFacts, overlayWay: String) -> Verdict {
        let k = f.kernel.release
        let family = f.distro.family
        let headersWay = "install the headers (`linux-headers-\(k)`) and run `aufsctl check` again to test the exports"
        switch family {
        case .debian(let major)? where major <= 10:
            return Verdict(
                state: .installable, method: .dkms,
                reason:
                    "Debian \(major) kernels export the symbols aufs needs; DKMS can build it once linux-headers-\(k) "
                    + "is installed",
                waysOut: [])
        case .debian?, .debianTesting?:
            let release =
                family.map { $0 == .debianTesting ? "testing" : String($0.description.dropFirst("debian ".count)) }
                ?? ""
            return Verdict(
                state: .blocked, method: nil,
                reason:
                    "Debian \(release) kernels do not export the symbols aufs needs (their aufs patches are "
                    + "disabled); headers for \(k) are not installed, so Module.symvers was not read",
                waysOut: [Verdict.patchedKernel, headersWay, overlayWay])
        case .ubuntu?:
            return Verdict(
                state: .blocked, method: nil,
                reason:
                    "Ubuntu dropped aufs in 21.04 and its kernels do not export the symbols aufs needs; headers for "
                    + "\(k) are not installed",
                waysOut: [Verdict.patchedKernel, headersWay, overlayWay])
        default:
            return Verdict(
                state: .blocked, method: nil,
                reason: "no aufs for kernel \(k) and no headers to test whether DKMS could build it",
                waysOut: [headersWay, Verdict.patchedKernel, overlayWay])
        }
    }
}
