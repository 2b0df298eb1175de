// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials

/// `aufsctl check`'s whole answer: facts, verdict, and warnings about unreadable inputs.
public struct CheckReport: Sendable, Codable, Equatable {
    public var schema: String = "aufsctl.check/1"
    public var root: String
    public var verdict: Verdict
    /// Encoded as the number the process exits with.
    public var exitCode: AufsExitCode
    public var warnings: [String]
    public var facts: HostFacts

    /// With `strict`, a next boot without usable aufs makes an exit 0 an exit 3 (`check --strict`).
    public init(root: HostRoot, facts: HostFacts, strict: Bool = false) {
        self.root = root.path
        self.facts = facts
        self.verdict = Verdict.decide(facts)
        self.exitCode = verdict.exitCode
        self.warnings = facts.distro.problems
        for tree in facts.dkms.unsafeTrees ?? [] {
            warnings.append(
                "\(tree): root's dkms rebuilds aufs from this tree at every kernel upgrade, so its owner can "
                    + "change what root builds: `chown -R root:root` and `chmod -R go-w` it, or `aufsctl uninstall` "
                    + "and install again (the copy is root's now)")
        }
        if let w = CheckReport.nextBootWarning(facts) {
            warnings.append(w)
            if strict && exitCode == .success { exitCode = .installable }
        }
        warnings += CheckReport.signingWarnings(facts)
    }

    /// DKMS's pair unfit to sign with or enroll; a next-boot kernel Secure Boot will not start.
    static func signingWarnings(_ f: HostFacts) -> [String] {
        var out = f.signing.dkmsKey.problems.map { "DKMS's signing key: \($0)" }
        if f.boot.secureBoot == .enabled, let next = f.nextBoot.release,
            let image = f.signing.kernelImages.first(where: { $0.path == "/boot/vmlinuz-\(next)" }),
            image.signed == false
        {
            out.append(
                "the next boot starts \(next), whose \(image.path) has no signature: with Secure Boot on, shim will "
                    + "not boot it (sign it with a key shim trusts: `sbsign` or `pesign`)")
        }
        return out
    }

    /// Said when the next boot starts another kernel, one without usable aufs.
    static func nextBootWarning(_ f: HostFacts) -> String? {
        guard let next = f.nextBoot.release, f.nextBoot.aufs == false, next != f.kernel.release.string else {
            return nil
        }
        let row = f.kernels.first { $0.kernel == next }
        let why =
            row?.headers == false
            ? "it has no headers (linux-headers-\(next)) to build aufs with"
            : row?.built == true ? "DKMS built aufs for it but did not install it" : "aufs was not built for it"
        return
            "the next boot starts \(next), which has no aufs (\(why)): after a reboot aufs will be missing; `aufsctl "
            + "install --method dkms --kernel \(next)` (or `--all-kernels`) builds it there; aufsctl's kernel hook "
            + "builds it for kernels installed later when the checks pass"
    }

    public func json() throws -> String {
        try JSONText.encode(self)
    }

    /// One aligned line per fact, then the verdict.
    /// The report for a person. What the host said (values, evidence, the verdict's reason) is
    /// escaped here (TerminalText), before the style's own escape sequences go around it, so the
    /// text is written as it is: a terminal-wide escape would turn the colours into `\u001b[1m`.
    public func human(style: TextStyle) -> String {
        var rows = hostRows(facts) + buildRows(facts) + bootRows(facts)
        let afterBoot = (rows.firstIndex { $0.0 == "boot" } ?? rows.count - 1) + 1
        rows.insert(contentsOf: SigningRows(facts.signing, verdict).rows, at: afterBoot)
        let width = rows.map { $0.0.count }.max() ?? 0
        // What the host said is escaped here (TerminalText), before the style's own escape
        // sequences go around it: check writes the report raw, so its colours reach the terminal.
        let e = TerminalText.escape
        var out = ""
        for (name, value, evidence) in rows {
            out += style.bold(e(name.padding(width))) + "  " + e(value)
            if !evidence.isEmpty { out += "  " + style.dim("[\(e(evidence))]") }
            out += "\n"
        }
        out += "\n"
        out += kernelTable(style: style)
        if !facts.kernels.isEmpty { out += "\n" }
        let v = verdict
        let stateText: String
        switch v.state {
        case .usable: stateText = style.green("usable")
        case .loadable, .installable: stateText = style.yellow(v.state.rawValue)
        case .blocked: stateText = style.red("blocked")
        }
        out +=
            style.bold("verdict".padding(width)) + "  " + stateText
            + (v.method.map { " (method: \($0.rawValue))" } ?? "") + "\n"
        out += style.bold("why".padding(width)) + "  " + e(v.reason) + "\n"
        for (i, w) in v.waysOut.enumerated() {
            out += style.bold((i == 0 ? "ways out" : "").padding(width)) + "  - " + e(w) + "\n"
        }
        return out
    }

    func hostRows(_ f: HostFacts) -> [(String, String, String)] {
        var rows: [(String, String, String)] = []
        let d = f.distro
        rows.append(("distro", d.family.map { "\(d.prettyName ?? d.id ?? "?") [\($0)]" } ?? "unknown", ev(d.evidence)))
        var kdesc = f.kernel.release.string + (f.kernel.running ? " (running)" : " (not running)")
        if let p = f.kernel.debianPointRelease { kdesc += ", Debian \(p)" }
        rows.append(("kernel", kdesc, ev(f.kernel.evidence)))
        func yesNo(_ b: Bool?, _ y: String, _ n: String) -> String { b.map { $0 ? y : n } ?? "unknown" }
        rows.append(
            ("aufs registered", yesNo(f.filesystems.aufs, "yes", "no"), ev(f.filesystems.evidence.prefix(1).map { $0 }))
        )
        rows.append(
            (
                "overlay registered", yesNo(f.filesystems.overlay, "yes", "no"),
                ev(f.filesystems.evidence.dropFirst().map { $0 })
            ))
        rows.append(
            (
                "module support", yesNo(f.module.moduleSupport, "yes", "no (CONFIG_MODULES not set)"),
                ev(
                    f.module.evidence.filter {
                        $0.source.hasPrefix("/proc/modules") || $0.value.hasPrefix("CONFIG_MODULES")
                    })
            ))
        var mod: String
        switch f.module.found {
        case true? where f.module.path != nil:
            mod = f.module.path! + (f.module.state.map { " (\($0.rawValue))" } ?? "")
            if let v = f.module.vermagic { mod += ", vermagic \(v)" }
            if let s = f.module.signer { mod += ", signed by \(s)" }
            if !f.module.blacklistedBy.isEmpty {
                mod += ", BLACKLISTED in \(f.module.blacklistedBy.joined(separator: ", "))"
            }
        case true?: mod = "built into the kernel"
        case false?: mod = "not found"
        case nil: mod = "unknown"
        }
        rows.append(
            (
                "aufs module", mod,
                ev(
                    f.module.evidence.filter {
                        !$0.source.hasPrefix("/proc/modules") && !$0.value.hasPrefix("CONFIG_MODULES")
                    })
            ))
        return rows
    }

    func buildRows(_ f: HostFacts) -> [(String, String, String)] {
        var rows: [(String, String, String)] = []
        let b = f.build
        let build: String
        let bname = b.branch?.name ?? b.series
        if let missing = b.missing {
            var t =
                missing.isEmpty
                ? "all \(b.required) exports \(bname) needs present"
                : "\(missing.count) of \(b.required) exports \(bname) needs missing: \(missing.joined(separator: " "))"
            if !b.notNeeded.isEmpty { t += "; not needed here: \(b.notNeeded.map(\.symbol).joined(separator: " "))" }
            if !b.undecided.isEmpty {
                t += "; undecided (no kernel config): \(b.undecided.map(\.symbol).joined(separator: " "))"
            }
            build = t
        } else if b.branch != nil && !(b.branch!.known) {
            build = "no export list for \(bname)"
        } else {
            build = b.headers ? "headers present, no Module.symvers" : "no headers for \(f.kernel.release)"
        }
        rows.append(("aufs branch", b.branch.map { "\($0.name): \($0.reason)" } ?? (b.branchProblem ?? "unknown"), ""))
        if let t = b.trial {
            rows.append(("trial build", t.summary, "make -C SCRATCH KDIR=\(t.headers) aufs.ko, \(t.ranIn)"))
        } else if let p = b.trialProblem {
            rows.append(("trial build", p, ""))
        } else if let r = b.buildRisk, r.sublevelsPast > 0 {
            rows.append(
                (
                    "trial build",
                    "untested: \(r.text); `aufsctl check --build` compiles it", ""
                ))
        }
        rows.append(
            (
                "out-of-tree build", build,
                ev(b.evidence.filter { $0.source != "aufs branch" && !$0.value.hasPrefix("sublevel ") })
            ))
        return rows
    }

    func bootRows(_ f: HostFacts) -> [(String, String, String)] {
        var rows: [(String, String, String)] = []
        var dk = f.dkms.installed ? "installed" : "not installed"
        if let e = f.dkms.entries {
            dk +=
                e.isEmpty
                ? ", no aufs"
                : ", " + e.map { "aufs/\($0.version) \($0.kernel ?? "") \($0.state)" }.joined(separator: "; ")
        }
        rows.append(("dkms", dk, ev(f.dkms.evidence)))
        rows.append(
            ("boot", f.boot.uefi ? "UEFI" : "BIOS", ev(f.boot.evidence.filter { $0.source == "/sys/firmware/efi" })))
        var x = "\(f.xino.path) on \(f.xino.filesystem ?? "unknown")"
        if let a = f.xino.accepted {
            x += a ? ": accepted" : ": REFUSED by aufs, mounts use the first writable branch's .aufs.xino"
        }
        if let dev = f.xino.device?.device { x += " (\(dev)\(f.xino.device?.type.map { " " + $0 } ?? ""))" }
        rows.append(("default xino", x, ev(f.xino.evidence)))
        if let next = f.nextBoot.release {
            rows.append(
                (
                    "next boot",
                    next + (next == f.kernel.release.string ? " (this kernel)" : "")
                        + (f.nextBoot.aufs.map { $0 ? ", has aufs" : ", NO aufs" } ?? ""), ev(f.nextBoot.evidence)
                ))
        } else {
            rows.append(("next boot", "unknown", ev(f.nextBoot.evidence)))
        }
        if !f.otherAufsKernels.isEmpty {
            rows.append(
                ("other aufs kernels", f.otherAufsKernels.joined(separator: ", "), "/boot/config-*: CONFIG_AUFS_FS"))
        }
        rows.append(
            ("user", f.user.root ? "root" : "uid \(f.user.euid) (not root: some facts may be unknown)", "geteuid()"))

        return rows
    }

    func ev(_ e: [Evidence]) -> String { e.map { "\($0.source): \($0.value)" }.joined(separator: "; ") }
    func yesNo(_ b: Bool?, _ y: String, _ n: String) -> String { b.map { $0 ? y : n } ?? "unknown" }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// ANSI styling, only on a terminal and never with NO_COLOR.
public struct TextStyle: Sendable {
    public var color: Bool
    public init(color: Bool) { self.color = color }

    /// Whether to colour a stream: only a terminal, not with `NO_COLOR` set to a non-empty value
    /// (no-color.org: an empty one is as if unset), not on a `TERM=dumb` terminal.
    public static func wanted(noColor: String?, term: String?, isTerminal: Bool) -> Bool {
        isTerminal && (noColor ?? "").isEmpty && term != "dumb"
    }
    func wrap(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { wrap(s, "1") }
    func dim(_ s: String) -> String { wrap(s, "2") }
    func red(_ s: String) -> String { wrap(s, "31") }
    func green(_ s: String) -> String { wrap(s, "32") }
    func yellow(_ s: String) -> String { wrap(s, "33") }
}
