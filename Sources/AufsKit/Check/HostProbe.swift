// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// Reads the host (or a root tree) into `HostFacts`. Reading only: nothing is changed.
public struct HostProbe: Sendable {
    public var root: HostRoot
    public var syscalls: any Syscalls
    public var runner: any CommandRunner

    public init(
        root: HostRoot, syscalls: any Syscalls = LinuxSyscalls(), runner: any CommandRunner = SubprocessRunner()
    ) {
        self.root = root
        self.syscalls = syscalls
        self.runner = runner
    }

    /// The kernel running in the root: `uname` for the host, `/proc/sys/kernel/*` in a root tree.
    /// nil only for a root tree without `/proc/sys/kernel/osrelease`.
    public func runningKernel() throws -> (
        release: KernelRelease, version: String, machine: String?, evidence: Evidence
    )? {
        if root.isHost {
            let u = syscalls.uname()
            guard let k = KernelRelease(u.release) else {
                throw AufsError("uname -r gave \"\(u.release)\", which is not a kernel release (expected N.N...)")
            }
            return (k, u.version, u.machine, Evidence("uname -r", u.release))
        }
        let p = "/proc/sys/kernel/osrelease"
        guard let text = FileRead.string(root.resolve(p)) else { return nil }
        guard let k = KernelRelease(text) else {
            throw AufsError("\(root.resolve(p)): \"\(text.trimmingBlanks)\" is not a kernel release (expected N.N...)")
        }
        let version = FileRead.string(root.resolve("/proc/sys/kernel/version"))?.trimmingBlanks ?? ""
        // /proc/sys/kernel/arch is recent; older trees tell the arch by the RPM release suffix.
        let machine =
            FileRead.string(root.resolve("/proc/sys/kernel/arch"))?.trimmingBlanks
            ?? ["x86_64", "aarch64", "ppc64le", "s390x", "i686"].first { k.string.hasSuffix("." + $0) }
        return (k, version, machine, Evidence(p, k.string))
    }

    public func probe(kernel requested: KernelRelease? = nil) async throws -> HostFacts {
        let found = try runningKernel()
        guard let running = found ?? requested.map({ ($0, "", nil, Evidence("/proc/sys/kernel/osrelease", "missing")) })
        else {
            throw AufsError.usage(
                "--root \(root.path): /proc/sys/kernel/osrelease is missing, so the running kernel is unknown; add it "
                    + "or pass --kernel KVER"
            )
        }
        let target = requested ?? running.0
        let isRunning = found != nil && target.string == running.0.string
        let config = kernelConfig(target, running: isRunning)
        let distro = probeDistro()
        var kernelEvidence = [running.3]
        if !isRunning { kernelEvidence.append(Evidence("--kernel", target.string)) }
        let point = isRunning ? KernelRelease.debianPointRelease(fromVersion: running.1) : nil
        if let point { kernelEvidence.append(Evidence("uname -v", "Debian \(point)")) }
        let kernel = HostFacts.Kernel(
            release: target, major: target.major, minor: target.minor, patch: target.patch,
            flavor: target.flavor, running: isRunning, debianPointRelease: point,
            machine: running.2, evidence: kernelEvidence)
        var dkmsFacts = await probeDKMS()
        dkmsFacts.builtFrom = recordedSources()
        dkmsFacts.unsafeTrees = DKMSTrees.unsafe(root: root)
        let (module, moduleInfo) = probeModule(target, running: isRunning, config: config)
        var signing = await SigningProbe(root: root, runner: runner).probe(
            kernel: target.string, running: isRunning, distro: .init(id: distro.id, idLike: distro.idLike),
            module: moduleInfo)
        signing.kernelImages = kernelImages()
        let next = await probeNextBoot(
            rhel: {
                if case .rhel? = distro.family { return true }; return false
            }())
        return HostFacts(
            distro: distro,
            kernel: kernel,
            filesystems: probeFilesystems(running: isRunning, kernel: target),
            module: module,
            build: probeBuild(target, running: isRunning, version: running.1, config: config),
            dkms: dkmsFacts,
            boot: signing.bootMode,
            signing: signing,
            xino: probeXino(),
            otherAufsKernels: otherAufsKernels(except: target.string),
            nextBoot: next,
            user: HostFacts.User(euid: syscalls.geteuid(), root: syscalls.geteuid() == 0),
            kernels: kernelRows(running: found.map { $0.release.string }, nextBoot: next.release))
    }

    func probeDistro() -> HostFacts.Distro {
        for p in ["/etc/os-release", "/usr/lib/os-release"] {
            switch FileRead.text(root.resolve(p)) {
            case .ok(let text):
                let os = OSRelease.parse(text)
                var ev = [
                    Evidence(
                        p,
                        ["ID", "ID_LIKE", "VERSION_ID"].compactMap { k in os.fields[k].map { "\(k)=\($0)" } }.joined(
                            separator: " "))
                ]
                if os.id == "centos", let rel = FileRead.string(root.resolve("/etc/centos-release"))?.trimmingBlanks {
                    ev.append(Evidence("/etc/centos-release", rel))
                }
                if os.id == "debian", let dv = FileRead.string(root.resolve("/etc/debian_version"))?.trimmingBlanks {
                    ev.append(Evidence("/etc/debian_version", dv))
                }
                return HostFacts.Distro(
                    id: os.id, idLike: os.idLike, versionId: os.versionID, prettyName: os.prettyName,
                    family: os.id == nil ? nil : DistroFamily.classify(os),
                    evidence: ev,
                    problems: os.problems.map { "\(p): \($0)" } + (os.id == nil ? ["\(p): no ID= line"] : []))
            case .missing:
                continue
            case .denied:
                return HostFacts.Distro(
                    id: nil, idLike: [], versionId: nil, prettyName: nil, family: nil,
                    evidence: [Evidence(p, "permission denied")], problems: ["\(p): permission denied"])
            case .failed(let why):
                return HostFacts.Distro(
                    id: nil, idLike: [], versionId: nil, prettyName: nil, family: nil,
                    evidence: [Evidence(p, why)], problems: ["\(p): \(why)"])
            }
        }
        return HostFacts.Distro(
            id: nil, idLike: [], versionId: nil, prettyName: nil, family: nil,
            evidence: [Evidence("/etc/os-release", "missing"), Evidence("/usr/lib/os-release", "missing")],
            problems: ["neither /etc/os-release nor /usr/lib/os-release exists; the distro is unknown"])
    }

    /// `/boot/config-KVER`, else `/proc/config.gz` for the running kernel, else the headers' `.config`.
    func kernelConfig(_ k: KernelRelease, running: Bool) -> (config: KernelConfig, source: String)? {
        KernelConfigSource.read(root: root, k, running: running)
    }

    func probeFilesystems(running: Bool, kernel: KernelRelease) -> HostFacts.Filesystems {
        let p = "/proc/filesystems"
        guard running else {
            return HostFacts.Filesystems(
                aufs: nil, overlay: nil,
                evidence: [Evidence(p, "describes the running kernel, not \(kernel.string)")])
        }
        switch FileRead.text(root.resolve(p)) {
        case .ok(let text):
            let fs = ProcFilesystems.parse(text)
            return HostFacts.Filesystems(
                aufs: fs.has("aufs"), overlay: fs.has("overlay"),
                evidence: [
                    Evidence(p, fs.evidenceLine("aufs", in: text) ?? "no aufs line"),
                    Evidence(p, fs.evidenceLine("overlay", in: text) ?? "no overlay line"),
                ])
        case .missing:
            return HostFacts.Filesystems(
                aufs: nil, overlay: nil, evidence: [Evidence(p, "missing (is /proc mounted?)")])
        case .denied:
            return HostFacts.Filesystems(aufs: nil, overlay: nil, evidence: [Evidence(p, "permission denied")])
        case .failed(let why):
            return HostFacts.Filesystems(aufs: nil, overlay: nil, evidence: [Evidence(p, why)])
        }
    }

    /// The module's facts, and libkmod's view of aufs.ko for the signing probe (nil without one).
    func probeModule(
        _ k: KernelRelease, running: Bool, config: (config: KernelConfig, source: String)?
    ) -> (HostFacts.Module, ModuleInfo?) {
        var ev: [Evidence] = []
        var support: Bool?
        if running, FileRead.exists(root.resolve("/proc/modules")) {
            support = true
            ev.append(Evidence("/proc/modules", "present"))
        } else if let c = config?.config["CONFIG_MODULES"] {
            support = c == "y"
            ev.append(Evidence(config!.source, "CONFIG_MODULES=\(c)"))
        } else if running {
            support = false
            ev.append(Evidence("/proc/modules", "absent"))
        }
        let aufsConfig = config?.config["CONFIG_AUFS_FS"]
        if let config {
            ev.append(Evidence(config.source, aufsConfig.map { "CONFIG_AUFS_FS=\($0)" } ?? "no CONFIG_AUFS_FS"))
        }
        let tree = "/lib/modules/\(k.string)"
        var module = HostFacts.Module(
            moduleSupport: support, moduleTree: nil, found: nil, path: nil, builtin: aufsConfig == "y",
            state: nil, vermagic: nil, signer: nil, blacklistedBy: [], configAufsFs: aufsConfig,
            overlayModule: nil, evidence: ev)
        guard FileRead.isDirectory(root.resolve(tree)) else {
            module.found = aufsConfig == "y"
            module.evidence.append(Evidence(tree, "absent"))
            return (module, nil)
        }
        module.moduleTree = tree
        guard let index = try? ModuleIndex(root: root, kernel: k.string) else {
            module.evidence.append(Evidence(tree, "libkmod could not open it"))
            return (module, nil)
        }
        // libkmod answers with resolved paths (/usr/lib/modules on merged-/usr roots); show the tree's name.
        let unroot = { (p: String) -> String in
            p.hasPrefix(index.moduleDir + "/") ? tree + p.dropFirst(index.moduleDir.count) : self.unroot(p)
        }
        let info = index.lookup("aufs")
        if let info {
            module.found = true
            module.path = info.path.map(unroot)
            module.builtin = info.builtin || aufsConfig == "y"
            module.state = running ? info.state : nil
            module.vermagic = info.vermagic
            module.signer = info.signer
            module.blacklistedBy = info.blacklistedBy
            module.evidence.append(
                Evidence("libkmod lookup aufs", info.path.map(unroot) ?? "builtin (modules.builtin)"))
        } else {
            module.found = aufsConfig == "y"
            module.evidence.append(Evidence("libkmod lookup aufs", "not in \(tree)"))
        }
        if let ov = index.lookup("overlay") {
            module.overlayModule = ov.path.map(unroot) ?? "builtin"
        }
        // The signing facts name the module as the report does (the tree's path, not libkmod's).
        var named = info
        named?.path = info?.path.map(unroot)
        return (module, named?.builtin == true ? nil : named)
    }

    func unroot(_ p: String) -> String {
        root.isHost || !p.hasPrefix(root.path + "/") ? p : String(p.dropFirst(root.path.count))
    }

    /// The kernel's real sublevel (Debian and Ubuntu ABI names say `.0`): the headers' Makefile,
    /// else `uname -v` (Debian) or /proc/version_signature (Ubuntu) for the running kernel, else the
    /// release itself where it is not an ABI name.
    func kernelSublevel(_ k: KernelRelease, running: Bool, version: String) -> (value: Int, source: String)? {
        var makefile = "/lib/modules/\(k.string)/build/Makefile"
        for _ in 0..<3 {
            guard let text = FileRead.string(root.resolve(makefile)) else { break }
            if let n = AufsBranch.sublevel(makefile: text) { return (n, "SUBLEVEL in \(makefile)") }
            guard let next = AufsBranch.includes(makefile: text).first else { break }
            makefile = unroot(next)  // an include already spelled inside the root tree
        }
        if running, let point = KernelRelease.debianPointRelease(fromVersion: version),
            let p = KernelRelease(point), p.major == k.major, p.minor == k.minor, let n = p.patch
        {
            return (n, "uname -v: Debian \(point)")
        }
        if running, let sig = FileRead.string(root.resolve("/proc/version_signature"))?.trimmingBlanks,
            let last = sig.split(separator: " ").last, let p = KernelRelease(String(last)),
            p.major == k.major, p.minor == k.minor, let n = p.patch
        {
            return (n, "/proc/version_signature: \(sig)")
        }
        if k.flavor != .debian && k.flavor != .ubuntu, let n = k.patch {
            return (n, "the release \(k.string)")
        }
        return nil
    }

    func probeBuild(
        _ k: KernelRelease, running: Bool, version: String,
        config: (config: KernelConfig, source: String)?
    ) -> HostFacts.Build {
        let build = "/lib/modules/\(k.string)/build"
        let series = SymbolCheck.series(for: k)
        var ev: [Evidence] = []
        let headers = FileRead.isDirectory(root.resolve(build))
        ev.append(Evidence(build, headers ? "present" : "absent"))
        let sub = kernelSublevel(k, running: running, version: version)
        if let sub { ev.append(Evidence(sub.source, "sublevel \(sub.value)")) }
        let (branch, problem) = AufsBranch.choose(for: k, sublevel: sub?.value, sublevelSource: sub?.source)
        ev.append(Evidence("aufs branch", branch.map { "\($0.name): \($0.reason)" } ?? problem))
        var out = HostFacts.Build(
            headers: headers, headersPath: build, symvers: nil, series: series,
            sublevel: sub?.value, branch: branch, sourceRef: branch?.name, branchProblem: branch == nil ? problem : nil,
            required: 0, missing: nil, notNeeded: [], undecided: [], lacksPatches: nil,
            kernelConfig: config?.source, evidence: ev)
        if let branch, let p = AufsBranch.sublevelsPast(branch: branch.name, kernelSublevel: sub?.value) {
            out.buildRisk = HostFacts.BuildRisk(
                branch: branch.name, branchSublevel: p.branch, kernelSublevel: sub!.value, sublevelsPast: p.past,
                tested: false)
        }
        guard let branch, let exports = SymbolCheck.exports(branch: branch.name) else {
            out.evidence.append(
                Evidence(
                    "Kernel/exports/branches.txt",
                    "no export list for \(branch?.name ?? "kernel \(k.series)"); not checked"))
            return out
        }
        let candidates = [
            (build + "/Module.symvers", false), ("/usr/src/kernels/\(k.string)/Module.symvers", false),
            ("/boot/symvers-\(k.string).gz", true),
        ]
        for (path, gz) in candidates {
            let r = gz ? FileRead.gunzip(root.resolve(path)) : FileRead.text(root.resolve(path))
            switch r {
            case .ok(let text):
                let c = SymbolCheck.check(
                    branch: branch.name, exports: exports, listSource: "Kernel/exports/branches.txt",
                    moduleSymvers: text, source: path, kernelConfig: config,
                    aufsConfig: [], aufsConfigSource: "\(branch.name)'s config.mk")
                out.evidence.append(
                    Evidence(
                        path,
                        "\(c.present) of \(c.required.count) exports \(branch.name) needs present"
                            + (c.notNeeded.isEmpty ? "" : "; \(c.notNeeded.count) not needed here")
                            + (c.undecided.isEmpty ? "" : "; \(c.undecided.count) undecided")))
                out.symvers = path
                out.required = c.required.count
                out.missing = c.missing
                out.notNeeded = c.notNeeded
                out.undecided = c.undecided
                out.lacksPatches = c.lacksPatches
                return out
            case .denied:
                out.evidence.append(Evidence(path, "permission denied"))
            case .failed(let why):
                out.evidence.append(Evidence(path, why))
            case .missing:
                continue
            }
        }
        out.evidence.append(Evidence("Module.symvers", "not found for \(k.string)"))
        return out
    }

    /// `kernel: source` of every dkms install record (nil when the state file cannot be read).
    func recordedSources() -> [String]? {
        guard let state = try? InstallState.load(root: root) else { return nil }
        let dkms = state.installs.filter { $0.method == .dkms }
        return dkms.isEmpty ? nil : dkms.map { "\($0.kernel): \($0.source ?? "source not recorded")" }
    }

    func probeDKMS() async -> HostFacts.DKMS {
        guard root.isHost else {
            let path = ["/usr/sbin/dkms", "/usr/bin/dkms", "/sbin/dkms"].first { FileRead.exists(root.resolve($0)) }
            return HostFacts.DKMS(
                installed: path != nil, path: path, entries: nil,
                evidence: [
                    Evidence(
                        path ?? "/usr/sbin/dkms",
                        path == nil ? "absent" : "present; dkms status runs only for the host root")
                ])
        }
        guard let path = runner.which("dkms") else {
            return HostFacts.DKMS(installed: false, path: nil, entries: nil, evidence: [Evidence("PATH", "no dkms")])
        }
        // dkms status lists what is under its tree; without an aufs entry there it prints nothing,
        // so skip the ~30 ms the dkms shell script takes to say so.
        let tree = "/var/lib/dkms/aufs"
        if !FileRead.exists(tree) {
            return HostFacts.DKMS(
                installed: true, path: path, entries: [], evidence: [Evidence(tree, "absent: dkms knows no aufs")])
        }
        do {
            let r = try await runner.run([path, "status", "-m", "aufs"])
            let entries = DKMSStatusEntry.parse(r.stdout).filter { $0.module == "aufs" }
            return HostFacts.DKMS(
                installed: true, path: path, entries: r.succeeded ? entries : nil,
                evidence: [
                    Evidence(
                        "dkms status -m aufs",
                        r.succeeded
                            ? (r.stdout.trimmingBlanks.isEmpty ? "(nothing)" : r.stdout.trimmingBlanks)
                            : "exit \(r.status): \(r.stderr.trimmingBlanks)")
                ])
        } catch {
            return HostFacts.DKMS(
                installed: true, path: path, entries: nil, evidence: [Evidence("dkms status -m aufs", "\(error)")])
        }
    }

    /// Where `aufsctl mount` puts xino by default (a per-union file in /run/aufsctl/xino) and
    /// whether aufs accepts that filesystem.
    func probeXino() -> HostFacts.Xino {
        let xino = RuntimeDir.xinoDir + "/<union>.xino"
        let dir = "/run"
        if root.isHost {
            switch syscalls.statfs(dir) {
            case .success(let st):
                let kind = FilesystemKind(magic: st.magic)
                var ev = [Evidence("statfs(\(dir))", "f_type \(String(format16: st.magic)) (\(kind.name))")]
                var device: BackingDevice?
                if case .success(let dev) = syscalls.deviceID(dir) {
                    device = FilesystemProbe.backingDevice(dev: dev)
                    if let d = device {
                        ev.append(
                            Evidence("libblkid", [d.device, d.type, d.note].compactMap { $0 }.joined(separator: " ")))
                    }
                }
                if let why = kind.refusedForXino { ev.append(Evidence("aufs", why)) }
                return HostFacts.Xino(
                    path: xino, filesystem: kind.name, accepted: kind.refusedForXino == nil,
                    device: device, evidence: ev)
            case .failure(let e):
                return HostFacts.Xino(
                    path: xino, filesystem: nil, accepted: nil, device: nil,
                    evidence: [Evidence("statfs(\(dir))", e.description)])
            }
        }
        // A root tree: its recorded mount table names the filesystem under /tmp.
        guard let (table, source) = MountTable.read(root: root), let m = table.containing(dir) else {
            return HostFacts.Xino(
                path: xino, filesystem: nil, accepted: nil, device: nil,
                evidence: [Evidence("/proc/self/mountinfo", "missing in the root tree")])
        }
        let refused = FilesystemKind.xinoRefusal(typeName: m.fstype)
        return HostFacts.Xino(
            path: xino, filesystem: m.fstype, accepted: refused == nil,
            device: BackingDevice(device: m.source, type: m.fstype, note: "from \(source)"),
            evidence: [Evidence(source, "\(m.target) \(m.fstype) \(m.source)")])
    }

    /// Every /boot/vmlinuz-* (not its links), newest first, with its Authenticode signers.
    func kernelImages() -> [KernelImageSignature] {
        let releases = (FileRead.list(root.resolve("/boot")) ?? []).compactMap { name -> String? in
            guard name.hasPrefix("vmlinuz-"),
                case .success(let st) = syscalls.fileStatus(root.resolve("/boot/" + name), followSymlinks: false),
                st.isRegular
            else { return nil }
            return String(name.dropFirst("vmlinuz-".count))
        }
        return NextBoot.newestFirst(releases).map { KernelImageSignature.read("/boot/vmlinuz-" + $0, root: root) }
    }

    func otherAufsKernels(except k: String) -> [String] {
        (FileRead.list(root.resolve("/boot")) ?? []).compactMap { name in
            guard name.hasPrefix("config-") else { return nil }
            let kver = String(name.dropFirst("config-".count))
            guard kver != k, let c = KernelConfig.read(root.resolve("/boot/" + name), keys: ["CONFIG_AUFS_FS"]) else {
                return nil
            }
            let v = c["CONFIG_AUFS_FS"]
            return v == "y" || v == "m" ? kver : nil
        }
    }
}
