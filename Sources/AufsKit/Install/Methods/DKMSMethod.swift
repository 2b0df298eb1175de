// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Method dkms: build aufs out of tree with DKMS for KVER (Debian; any distro with dkms).
public enum DKMSMethod {
    /// The branch to build: `--source-ref BRANCH`, else the one `check` chose from the committed list
    /// (highest point branch of the kernel's X.Y with a sublevel <= the kernel's), else `aufsX.Y`.
    static func branch(_ facts: HostFacts, _ o: InstallOptions, _ k: KernelRelease) -> (name: String, why: String) {
        if let b = o.sourceRef?.branch { return (b, "--source-ref") }
        if let b = facts.build.branch { return (b.name, b.reason) }
        if k.rc != nil { return ("aufs\(k.major).x-rcN", "release candidate") }
        return ("aufs\(k.series)", facts.build.branchProblem ?? "no known branch fits; the series name")
    }

    /// `AUFS_VERSION "6.1"` from include/uapi/linux/aufs_type.h.
    public static func aufsVersion(header: String) -> String? {
        for line in header.split(separator: "\n") where line.contains("AUFS_VERSION") && line.contains("#define") {
            let parts = line.split(separator: "\"")
            if parts.count >= 2 {
                let v = String(parts[1])
                // dkms.conf is sourced by bash with this value: ASCII letters, digits and ._-+ only.
                if !v.isEmpty && v.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-+".contains($0)) }) {
                    return v
                }
            }
        }
        return nil
    }

    static let cloneDir = "/var/lib/aufsctl/src/aufs-standalone"

    /// The aufs source tree (`--source DIR` or our clone) and its version; nil while not there yet.
    static func source(_ ctx: InstallContext) throws -> (dir: String, version: String)? {
        if let known = ctx.aufsSource { return known }
        let dir: String
        let inRoot: Bool
        if let s = ctx.options.source?.directory {
            dir = s
            inRoot = false
        } else {
            dir = cloneDir
            inRoot = true
        }
        let real = inRoot ? ctx.path(dir) : dir
        let header = real + "/include/uapi/linux/aufs_type.h"
        guard FileRead.exists(real) else {
            if !inRoot {
                throw AufsError.usage("--source \(dir): no such directory; expected an aufs-standalone checkout")
            }
            return nil
        }
        guard let text = FileRead.string(header) else {
            throw AufsError.usage(
                "\(dir): no include/uapi/linux/aufs_type.h; expected an aufs-standalone checkout (fs/, include/, "
                    + "Makefile)"
            )
        }
        guard let v = aufsVersion(header: text) else {
            throw AufsError.usage(
                "\(header): no #define AUFS_VERSION \"...\" line of ASCII letters, digits and ._-+ (dkms.conf, which "
                    + "bash sources, carries it)")
        }
        guard FileRead.isDirectory(real + "/fs/aufs") else {
            throw AufsError.usage("\(dir): no fs/aufs directory; expected an aufs-standalone checkout")
        }
        ctx.aufsSource = (real, v)
        return (real, v)
    }

    /// `dkms status -m aufs` for one version. The dkms script takes ~100 ms, so one answer serves
    /// every check of a run (starting with the probe's) until a dkms command changes it.
    static func status(_ ctx: InstallContext, version: String) async throws -> [DKMSStatusEntry] {
        if ctx.dkmsStatus == nil {
            // No dkms yet (a dry run on a fresh host): it knows nothing, so every dkms step would change.
            guard dkmsInstalled(ctx) else { return [] }
            let r = try await ctx.run(["dkms", "status", "-m", "aufs"])
            ctx.dkmsStatus = DKMSStatusEntry.parse(r.stdout)
        }
        return (ctx.dkmsStatus ?? []).filter { $0.module == "aufs" && $0.version == version }
    }

    static func dkmsInstalled(_ ctx: InstallContext) -> Bool {
        ctx.root.isHost
            ? ctx.runner.which("dkms") != nil
            : ["/usr/sbin/dkms", "/usr/bin/dkms", "/sbin/dkms"].contains { ctx.fs.exists(ctx.path($0)) }
    }

    /// The export preflight: the branch's exports (from the source's aufsN-standalone.patch when
    /// the source is here, else the committed list), decided against the kernel's config and
    /// aufs's config.mk. Throws (exit 4) when exports are missing or nothing can be decided.
    static func checkExports(
        _ ctx: InstallContext, k: KernelRelease, running: Bool, branch: String, symvers text: String,
        symversPath: String
    ) throws -> SymbolCheck {
        var exports: [String]?
        var listSource = "Kernel/exports/branches.txt (\(branch))"
        var aufsConfig = Set<String>()
        var aufsConfigSource = "\(branch)'s config.mk"
        var notes: [String] = []
        if let dir = try sourceDir(ctx) {
            let info = sourceExportInfo(dir)
            if let p = info.patch, let list = info.exports {
                exports = list
                listSource = ctx.root.isHost ? dir + "/" + p : p
            } else {
                notes.append(
                    "the source has no aufsN-standalone.patch, so its own export list is unknown; checked against the "
                        + "committed list for \(branch)"
                )
            }
            if let options = info.aufsOptions {
                aufsConfig = options
                aufsConfigSource = "the source's config.mk"
            }
        }
        guard let list = exports ?? SymbolCheck.exports(branch: branch) else {
            throw AufsError(
                "cannot check the exports \(branch) needs: the source has no aufsN-standalone.patch and "
                    + "Kernel/exports/branches.txt has no \(branch)",
                exitCode: .blocked,
                details: [
                    "way out: pass --source DIR with an aufs-standalone checkout (it carries the patch)",
                    "experts: --skip-export-check builds anyway; modpost then names any missing export",
                ])
        }
        let config = KernelConfigSource.read(root: ctx.root, k, running: running)
        let c = SymbolCheck.check(
            branch: branch, exports: list, listSource: listSource, moduleSymvers: text, source: symversPath,
            kernelConfig: config, aufsConfig: aufsConfig, aufsConfigSource: aufsConfigSource)
        ctx.notes.append(contentsOf: notes)
        if !c.undecided.isEmpty {
            ctx.notes.append(
                "export check: \(c.undecided.count) exports undecided "
                    + "(\(c.undecided.map(\.symbol).joined(separator: ", "))): \(c.undecided[0].why); modpost will "
                    + "tell if one is really missing"
            )
        }
        if !c.complete {
            let ways =
                c.lacksPatches
                ? ["way out: boot a kernel that carries the aufs base, mmap and standalone patches"]
                : ["way out: rebuild \(k) with \(branch)'s complete standalone patch"]
            throw AufsError(
                c.summary(kernel: k.string) + " (list: \(c.listSource); exports: \(symversPath))",
                exitCode: .blocked,
                details: ways + [
                    "way out: `aufsctl mount --fallback overlay ...`",
                    "experts: --skip-export-check builds anyway",
                ])
        }
        return c
    }

    /// What an aufs source tree says about its exports: the list its aufsN-standalone.patch adds
    /// (nil without one) and the aufs options its config.mk turns on (nil without one).
    static func sourceExportInfo(_ dir: String) -> (patch: String?, exports: [String]?, aufsOptions: Set<String>?) {
        let patch = (FileRead.list(dir) ?? []).filter { $0.hasPrefix("aufs") && $0.hasSuffix("-standalone.patch") }
            .sorted().first
        let exports = patch.flatMap { FileRead.string(dir + "/" + $0) }.map(SymbolCheck.exports(standalonePatch:))
        let options = FileRead.string(dir + "/config.mk").map(SymbolCheck.aufsOptions(configMk:))
        return (exports == nil ? nil : patch, exports, options)
    }

    /// The source directory as this process sees it (--source DIR, or the clone in the root), if present.
    static func sourceDir(_ ctx: InstallContext) throws -> String? {
        guard try source(ctx) != nil else { return nil }
        if let s = ctx.options.source?.directory { return s }
        return ctx.path(cloneDir)
    }

    /// `--source DIR`: the sha256 of every file the module is built from (fs/, include/,
    /// Makefile, config.mk; names and contents, in name order), and the git commit when DIR is a
    /// checkout (`+ local changes` when its work tree differs).
    static func treeProvenance(_ ctx: InstallContext, dir: String, named name: String) async throws -> String {
        var files: [String] = []
        func walk(_ rel: String) {
            var st = stat()
            guard lstat(dir + "/" + rel, &st) == 0 else { return }
            if st.st_mode & S_IFMT == S_IFDIR {
                for n in (FileRead.list(dir + "/" + rel) ?? []).sorted() { walk(rel + "/" + n) }
            } else if st.st_mode & S_IFMT == S_IFREG {
                files.append(rel)
            }
        }
        for top in ["Makefile", "config.mk", "fs", "include"] { walk(top) }
        files.sort()
        // sha256sum by argv (no shell): one digest per file, then one over that listing.
        let perFile = try await ctx.runner.run(["sha256sum", "--"] + files.map { dir + "/" + $0 })
        guard perFile.succeeded else { throw AufsError("sha256sum of \(dir) failed: \(perFile.stderr.trimmingBlanks)") }
        let listing =
            perFile.stdout.split(separator: "\n").map { line in
                line.replacingOccurrencesOfPrefix(dir + "/")
            }.joined(separator: "\n") + "\n"
        // mkstemp: a fresh name, created O_EXCL 0600 (in sticky /tmp nobody else can swap it).
        var template = Array("/tmp/aufsctl-digest-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw AufsError("cannot create a temporary file for the source digest: \(SysErrno(errno))")
        }
        let tmp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { unlink(tmp) }
        let bytes = Array(listing.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw AufsError("cannot write \(tmp) for the source digest") }
        let total = try await ctx.runner.run(["sha256sum", tmp])
        let digest = total.stdout.split(separator: " ").first.map(String.init) ?? "?"
        var out = "\(name) sha256:\(digest) (\(files.count) files)"
        let head = try? await ctx.runner.run(["git", "-C", name, "rev-parse", "HEAD"])
        if let head, head.succeeded {
            let dirty = try? await ctx.runner.run(["git", "-C", name, "status", "--porcelain", "--", "."])
            out +=
                ", git \(head.stdout.trimmingBlanks)"
                + ((dirty?.stdout.trimmingBlanks.isEmpty ?? true) ? "" : " + local changes")
        }
        return out
    }

    /// The flavour's headers meta package, so the next kernel's headers (and with them a DKMS
    /// autoinstall of aufs) arrive with the next kernel: `linux-headers-cloud-amd64` for
    /// `6.1.0-56-cloud-amd64`, `linux-headers-generic` for Ubuntu's `5.4.0-42-generic`.
    public static func headersMetaPackage(_ k: KernelRelease) -> String? {
        // Both name the flavour after the ABI number: -56-cloud-amd64, -42-generic, -45-generic-64k.
        let parts = k.suffix.split(separator: "-")
        guard k.flavor == .debian || k.flavor == .ubuntu, parts.count >= 2, Int(parts[0]) != nil else { return nil }
        return "linux-headers-" + parts.dropFirst().joined(separator: "-")
    }

    /// The export preflight as POSIX sh: the same list and conditions, read from the kernel config
    /// at run time (an unreadable config leaves conditional symbols undecided, as in Swift).
    static func exportShell(source: String?, k: KernelRelease, branch: String, build: String) -> [String] {
        let kq = ShellScript.quote(k.string)
        return exportShell(
            source: source, branch: branch, kernelWord: kq, buildWord: "\"$ROOT\"" + ShellScript.quote(build),
            configWord: "\"$ROOT/boot/config-\"\(kq)",
            onMissing:
                "echo \"kernel \"\(kq)\" lacks exports \"\(ShellScript.quote(branch))\" needs:$missing\" >&2; exit 4",
            onNoList: "exit 4")
    }

    /// The same over sh words (the kernel hook passes `"$KVER"`): `onMissing` runs with the missing
    /// names in `$missing`, `onNoList` when the branch has no known list.
    static func exportShell(
        source: String?, branch: String, kernelWord kq: String, buildWord: String, configWord: String,
        onMissing: String, onNoList: String
    ) -> [String] {
        var list = SymbolCheck.exports(branch: branch)
        var aufsOn = Set<String>()
        if let s = source {
            let info = sourceExportInfo(s)
            list = info.exports ?? list
            aufsOn = info.aufsOptions ?? aufsOn
        }
        guard let list else {
            return [
                "echo \(ShellScript.quote("no export list for \(branch); pass --skip-export-check to build anyway")) "
                    + ">&2; \(onNoList)"
            ]
        }
        let specs = list.compactMap { sym -> String? in
            let c = RequiredExportsData.conditions[sym]
            if let a = c?.aufs, !aufsOn.contains(a) { return nil }
            return ([sym] + (c?.kernel ?? [])).joined(separator: ":")
        }
        return [
            "CFG=\(configWord); [ -f \"$CFG\" ] || CFG=\(buildWord)/.config",
            "missing=",
            "for spec in \(specs.joined(separator: " ")); do",
            "    sym=${spec%%:*}; conds=${spec#\"$sym\"}",
            "    if [ -n \"$conds\" ]; then",
            "        [ -f \"$CFG\" ] || { echo \"note: $sym undecided: no kernel config\" >&2; continue; }",
            "        on=; for c in $(echo \"$conds\" | tr ':' ' '); do grep -Eq \"^$c=[ym]\" \"$CFG\" && on=1; done",
            "        [ -n \"$on\" ] || continue",
            "    fi",
            "    grep -Eq \"[[:space:]]${sym}[[:space:]]\" \(buildWord)/Module.symvers || missing=\"$missing $sym\"",
            "done",
            "[ -z \"$missing\" ] || { \(onMissing); }",
        ]
    }

    public static func plan(_ facts: HostFacts, options o: InstallOptions, root: HostRoot) throws -> Plan {
        let k = facts.kernel.release
        let d = DKMSSteps(facts: facts, o: o, k: k, root: root)
        let sb = d.secureBoot ? DKMSSigningSteps(facts: facts, o: o, kver: d.kver) : nil
        try sb.map { try $0.checkPasswordHash(root: root) }
        // The checks go first when they can run now (headers there; for --build, the tools too): a
        // kernel that cannot take aufs is then refused before any change.
        var steps = d.checksFirst ? [d.exportsStep(), d.packagesStep()] : [d.packagesStep(), d.exportsStep()]
        steps += sb.map { [$0.keyStep(root: root)] } ?? []
        steps += [
            d.sourceStep(), d.usrSrcStep(), d.dkmsStep(.add), d.dkmsStep(.build), d.dkmsStep(.install),
        ]
        steps += [sb?.signedStep(), sb?.enrolStep()].compactMap { $0 ?? nil }
        for other in d.otherKernels.build { steps += d.otherKernelSteps(other) }
        steps.append(d.hookStep())
        steps.append(CommonSteps.persist())
        if d.running && !o.noLoad && root.isHost && sb?.loadsNow != false { steps.append(CommonSteps.load()) }
        var afterwards = (sb?.afterwards ?? []) + d.otherKernels.skipped.map { "--all-kernels: not built for \($0)" }
        if !d.running {
            afterwards.append(
                "built for \(d.kver), which is not running: boot it, then `aufsctl load` (or let "
                    + "/etc/modules-load.d/aufs.conf load it)"
            )
        }
        return Plan(
            method: .dkms, target: .kernel(d.kver), steps: steps, rebootRequired: false, afterwards: afterwards,
            needsTerminal: sb?.needsTerminal)
    }

    static func wantedPackages(cloning: Bool, meta: String?) -> [String] {
        ["dkms", "build-essential"] + (cloning ? ["git"] : []) + (meta.map { [$0] } ?? [])
    }
}

extension Substring {
    /// The line with `prefix` removed wherever it starts a path (sha256sum prints `HASH  PATH`).
    func replacingOccurrencesOfPrefix(_ prefix: String) -> String {
        String(self).split(separator: prefix, omittingEmptySubsequences: false).joined()
    }
}

/// The steps of the dkms method, one function each, over the inputs they share.
struct DKMSSteps: Sendable {
    let facts: HostFacts
    let o: InstallOptions
    let k: KernelRelease
    let kver: String
    /// `--source DIR`; nil: a clone of `url`.
    let sourceDirectory: String?
    var cloning: Bool { sourceDirectory == nil }
    let url: String
    let branch: String
    let branchWhy: String
    /// The flavour's headers meta package (not on RHEL-like hosts).
    let meta: String?
    let running: Bool
    let build: String
    let secureBoot: Bool
    /// The version shows in step titles when the source is already here (--source DIR).
    let V: String

    /// The export (and trial) checks can run before the packages step.
    let checksFirst: Bool
    /// Where the kernel hook goes in this root.
    let hookPaths: [String]
    /// `--all-kernels`: the other installed kernels aufs is built for, and those left out with why.
    let otherKernels: (build: [KernelRelease], skipped: [String])

    init(facts: HostFacts, o: InstallOptions, k: KernelRelease, root: HostRoot) {
        self.facts = facts
        self.o = o
        self.k = k
        kver = k.string
        sourceDirectory = o.source?.directory
        if case .repository(let u)? = o.source { url = u } else { url = AufsBranch.repository(major: k.major) }
        (branch, branchWhy) = DKMSMethod.branch(facts, o, k)
        if case .rhel? = facts.distro.family { meta = nil } else { meta = DKMSMethod.headersMetaPackage(k) }
        running = facts.kernel.running
        build = "/lib/modules/\(k.string)/build"
        secureBoot = facts.boot.secureBoot == .enabled
        V =
            sourceDirectory.flatMap {
                DKMSMethod.aufsVersion(header: FileRead.string($0 + "/include/uapi/linux/aufs_type.h") ?? "")
            } ?? "VERSION"
        let tools =
            ["/usr/bin/make", "/usr/bin/gcc"] + (o.source?.directory == nil ? ["/usr/bin/git"] : [])
        checksFirst =
            FileRead.isDirectory(root.resolve(build))
            && (!o.build || tools.allSatisfy { FileRead.exists(root.resolve($0)) })
        hookPaths = KernelHook.paths(root: root)
        otherKernels = o.allKernels ? DKMSSteps.others(facts.kernels, besides: k) : ([], [])
    }

    /// The installed kernels besides `k` with headers and `k`'s X.Y (one aufs source serves one series).
    static func others(_ rows: [KernelRow], besides k: KernelRelease) -> (build: [KernelRelease], skipped: [String]) {
        var build: [KernelRelease] = []
        var skipped: [String] = []
        for row in rows where row.kernel != k.string {
            guard let r = KernelRelease(row.kernel) else { continue }
            if !row.headers {
                skipped.append("\(row.kernel) (no headers: install linux-headers-\(row.kernel), then run again)")
            } else if r.major != k.major || r.minor != k.minor {
                skipped.append("\(row.kernel) (another series: this aufs source serves \(k.major).\(k.minor) only)")
            } else {
                build.append(r)
            }
        }
        return (build, skipped)
    }

    /// `--all-kernels`: for another kernel, its export check (and trial build), then dkms build and install.
    func otherKernelSteps(_ other: KernelRelease) -> [Step] {
        let kv = other.string
        let exportsHere = ExportCheck(
            kernel: other, running: false, branch: branch, build: "/lib/modules/\(kv)/build",
            sourceDirectory: sourceDirectory, withoutSymvers: Verdict.decide(facts))
        var checks: [StepAction] = o.skipExportCheck ? [] : [.preflight(.init(.exports(exportsHere)))]
        if o.build {
            checks.append(
                .trialBuild(
                    TrialBuildAction(
                        kernel: kv, sourceDirectory: sourceDirectory, url: url, branches: [branch], jobs: o.jobs)))
        }
        let steps = [DKMSAction.Operation.build, .install].map { op in
            Step(
                id: "dkms-\(op.rawValue)-\(kv)", title: "dkms \(op.rawValue) aufs/\(V) -k \(kv) (--all-kernels)",
                actions: [
                    .dkms(DKMSAction(operation: op, kernel: kv, jobs: o.jobs, branch: branch))
                ])
        }
        guard !checks.isEmpty else { return steps }
        let what = [o.skipExportCheck ? nil : "exports the symbols \(branch) needs", o.build ? "compiles aufs" : nil]
        return [
            Step(
                id: "exports-\(kv)",
                title: "Check that \(kv) " + what.compactMap { $0 }.joined(separator: " and ") + " (--all-kernels)",
                actions: checks)
        ] + steps
    }

    var wantedPackages: [String] {
        DKMSMethod.wantedPackages(cloning: cloning, meta: meta)
            + (secureBoot ? DKMSSigningSteps(facts: facts, o: o, kver: kver).packages : [])
    }
    var exports: ExportCheck {
        ExportCheck(
            kernel: k, running: running, branch: branch, build: build, sourceDirectory: sourceDirectory,
            withoutSymvers: Verdict.decide(facts))
    }

    func packagesStep() -> Step {
        Step(
            id: "packages",
            title:
                "Install dkms, build tools and linux-headers-\(kver)"
                + (meta.map { " (and \($0), so later kernels get headers and aufs)" } ?? "") + " where missing",
            actions: [.aptInstallMissing(.init(packages: wantedPackages, kernel: kver))])
    }

    func exportsStep() -> Step {
        // --skip-export-check alone turns this step's check off: it is named, and said skipped.
        let skipped = o.skipExportCheck && !o.build
        let checks = o.skipExportCheck && !skipped ? [] : ["exports the symbols \(branch) needs"]
        let trial = o.build ? ["compiles aufs (a trial build in a scratch directory)"] : []
        return Step(
            id: "exports",
            title: "Check that \(kver) " + (checks + trial).joined(separator: " and "),
            actions: [
                .preflight(.init(.moduleSupport(kernel: kver, absent: facts.module.moduleSupport == false && running)))
            ]
                + (o.skipExportCheck ? [] : [.preflight(.init(.exports(exports)))])
                + (o.build ? [.trialBuild(trialAction)] : []),
            skippedBy: skipped ? "--skip-export-check" : nil)
    }

    /// The trial build of what install builds: `--source DIR`, or the candidate branches.
    var trialAction: TrialBuildAction {
        let branches: [String]
        if let ref = o.sourceRef {
            branches = [ref.branch ?? ref.commit!]
        } else {
            let c = AufsBranch.candidates(for: k, sublevel: facts.build.sublevel)
            branches = c.isEmpty ? [branch] : c
        }
        return TrialBuildAction(
            kernel: kver, sourceDirectory: sourceDirectory, url: url, branches: branches, jobs: o.jobs)
    }

    /// aufsctl's kernel hook (dkms.conf's AUTOINSTALL stays empty): later kernels get aufs when
    /// the checks pass, and a kernel that fails them never fails the package manager.
    func hookStep() -> Step {
        let content =
            (try? KernelHook.content(
                branch: branch, source: sourceDirectory, skipExports: o.skipExportCheck, trial: o.build)) ?? ""
        return Step(
            id: "kernel-hook",
            title: "Build aufs for kernels installed later when the checks pass (\(hookPaths.joined(separator: ", ")))",
            actions: hookPaths.map { .writeFile(.init(path: $0, content: content, mode: 0o755)) })
    }

    func sourceStep() -> Step {
        guard let dir = sourceDirectory else {
            let ref = o.sourceRef ?? .branch(branch)
            return Step(
                id: "source",
                title: "Clone \(url) \(ref.commit.map { "commit \($0)" } ?? "branch \(branch)") (\(branchWhy))",
                actions: [
                    .gitClone(
                        GitClone(
                            url: url, ref: ref, discoverBranch: o.sourceRef == nil, kernel: k,
                            sublevel: facts.build.sublevel, dir: DKMSMethod.cloneDir,
                            exports: o.skipExportCheck ? nil : exports, afterTrial: o.build))
                ])
        }
        return Step(
            id: "source", title: "Use the aufs source in \(dir)", actions: [.preflight(.init(.aufsSource(dir: dir)))])
    }

    func usrSrcStep() -> Step {
        Step(
            id: "usr-src", title: "Lay out /usr/src/aufs-\(V) with fs/, include/, Makefile, config.mk and dkms.conf",
            actions: [.copyTree(CopyTree(sourceDirectory: sourceDirectory))],
            prelude: [
                "SRC=" + (sourceDirectory.map(ShellScript.quote) ?? ShellScript.rooted(DKMSMethod.cloneDir)),
                "V=$(sed -n 's/^#define AUFS_VERSION[[:space:]]*\"\\(.*\\)\"/\\1/p' "
                    + "\"$SRC/include/uapi/linux/aufs_type.h\")",
                "case \"$V\" in ''|*[!A-Za-z0-9._+-]*) echo \"$SRC/include/uapi/linux/aufs_type.h: AUFS_VERSION is not "
                    + "a version of ASCII letters, digits and ._-+ (dkms.conf, which bash sources, carries it)\" >&2; "
                    + "exit 2;; esac",
            ])
    }

    func dkmsStep(_ op: DKMSAction.Operation) -> Step {
        let action = DKMSAction(operation: op, kernel: kver, jobs: o.jobs, branch: branch)
        return Step(
            id: "dkms-" + op.rawValue, title: "dkms \(op.rawValue) aufs/\(V)" + (op == .add ? "" : " -k \(kver)"),
            actions: [.dkms(action)])
    }
}
