// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Writes (or removes) what brings a union back at boot; see `PersistSpec`.
public struct Persister {
    public enum Via: String, Sendable, CaseIterable { case systemd, fstab }
    public static let unitDirectory = "/etc/systemd/system"
    public static let wantsDirectory = "/etc/systemd/system/local-fs.target.wants"
    public static let modulesLoad = "/etc/modules-load.d/aufs.conf"

    public var root: HostRoot
    public var runner: any CommandRunner
    public var printer: @Sendable (String) -> Void

    public init(
        root: HostRoot = HostRoot(), runner: any CommandRunner = SubprocessRunner(),
        printer: @escaping @Sendable (String) -> Void = { print($0) }
    ) {
        self.root = root
        self.runner = runner
        self.printer = printer
    }

    /// systemd when it runs the host (`/run/systemd/system`), or, under `--root`, when the tree
    /// has systemd; fstab otherwise.
    public func detectVia() -> Via {
        if root.isHost { return FileRead.isDirectory("/run/systemd/system") ? .systemd : .fstab }
        for p in ["/usr/lib/systemd/systemd", "/lib/systemd/systemd"] where FileRead.exists(root.resolve(p)) {
            return .systemd
        }
        return .fstab
    }

    /// The spec of a live union (`aufsctl status`'s view): its branches, a xino the user chose
    /// (the default per-union one under /run is chosen again at boot) and its aufs options.
    public static func spec(live m: UnionMount, fallback: Fallback = .none) throws -> PersistSpec {
        guard m.filesystem == .aufs || fallback == .overlay else {
            throw AufsError.usage(
                "\(m.target) is an overlay fallback mount; persist writes aufs unions (the unit mounts aufs at "
                    + "boot): add --fallback overlay to write it with x-aufsctl.fallback=overlay (overlay where aufs "
                    + "is missing), or install aufs first (aufsctl check)")
        }
        guard !m.branches.isEmpty else {
            throw AufsError(
                "\(m.target): "
                    + (m.branchesNote.map { "its branches could not be read (\($0)); try again" }
                        ?? "the kernel shows no branches for this union"))
        }
        let xino = m.xino.flatMap { $0.hasPrefix(RuntimeDir.xinoDir + "/") ? nil : $0 }
        var options: [String] = []
        for o in m.options.split(separator: ",").map(String.init) {
            let name = String(o.prefix { $0 != "=" })
            if ["si", "xino", "br", "dirs", "rw"].contains(name) || o.hasPrefix("br:") { continue }
            if o == "ro" || AufsOptions.flagOptions.contains(o) || AufsOptions.valueOptions[name] != nil {
                options.append(o)
            }
        }
        var branches: [BranchSpec] = []
        // Image layers are persisted as their images (mount.aufs attaches them at boot).
        let layers = LayerRecords().load(m.target)
        for listed in m.branches {
            guard let b = BranchSpec.parse(listed: listed) else {
                throw AufsError("\(m.target): the kernel lists a branch as \"\(listed)\", which is not PATH=PERM")
            }
            branches.append(ImageBranches.persisted(b, layers: layers))
        }
        return PersistSpec(target: m.target, branches: branches, xino: xino, options: options)
    }

    /// The files the persistence consists of, for --dry-run and --emit-sh.
    public func preview(_ spec: PersistSpec, via: Via) throws -> [(path: String, text: String)] {
        let spec = try spec.validated(forUnit: via == .systemd)
        switch via {
        case .systemd:
            return [
                (Persister.unitDirectory + "/" + SystemdUnit.name(forPath: spec.target), SystemdUnit.text(spec)),
                (Persister.modulesLoad, "aufs\n"),
            ]
        case .fstab:
            let current = FileRead.string(root.resolve("/etc/fstab")) ?? ""
            return [("/etc/fstab", try FstabLine.insert(spec, into: current)), (Persister.modulesLoad, "aufs\n")]
        }
    }

    /// The steps persisting `spec` consists of, as typed actions: the unit and its wants link, or
    /// the fstab line; then aufs in modules-load.d. apply, --dry-run's files and --emit-sh read them.
    func steps(_ spec: PersistSpec, via: Via, adoptUnmarked: Bool = false) -> [Step] {
        var steps: [Step]
        switch via {
        case .systemd:
            let name = SystemdUnit.name(forPath: spec.target)
            steps = [
                Step(
                    id: "unit", title: "Write \(Persister.unitDirectory)/\(name)",
                    actions: [
                        .writeFile(.init(path: Persister.unitDirectory + "/" + name, content: SystemdUnit.text(spec)))
                    ]
                ),
                Step(
                    id: "enable", title: "Enable \(name) for local-fs.target",
                    actions: [.symlink(.init(link: Persister.wantsDirectory + "/" + name, target: "../" + name))]),
            ]
        case .fstab:
            steps = [
                Step(
                    id: "fstab", title: "Add \(spec.target) to /etc/fstab",
                    actions: [.fstabLine(.init(spec: spec, adoptUnmarked: adoptUnmarked))])
            ]
        }
        steps.append(
            Step(
                id: "modules-load", title: "Load aufs at boot (\(Persister.modulesLoad))",
                actions: [.ensureLine(.init(path: Persister.modulesLoad, line: "aufs"))]))
        return steps
    }

    /// `systemd-unit NAME` or `fstab`: what status and the record say.
    static func viaText(_ spec: PersistSpec, _ via: Via) -> String {
        via == .systemd ? "systemd-unit " + SystemdUnit.name(forPath: spec.target) : "fstab"
    }

    /// Writes the unit (enabled: the wants link) or the fstab line, and aufs.conf when it lacks
    /// aufs; each change is journaled before it is made. A persist that fails part way undoes what
    /// it did and leaves no record.
    public func apply(_ spec: PersistSpec, via: Via) async throws {
        let spec = try spec.validated(forUnit: via == .systemd)
        // A record of schema 1 with the old fstab undo: that line is aufsctl's though unmarked.
        let legacy = try UnionRecords(root: root).records().contains {
            $0.kind == .persist && $0.target == spec.target && $0.undo.contains(.removeFstabEntry(target: spec.target))
        }
        try await remove(target: spec.target, quiet: true)
        let journal = StateJournal(
            state: try InstallState.load(root: root), root: root,
            key: .persist(target: spec.target, via: Persister.viaText(spec, via)))
        let ctx = InstallContext(root: root, runner: runner, syscalls: LinuxSyscalls())
        let executor = Executor(printer: printer)
        executor.tidy(root)
        let outcome = try await executor.apply(
            steps(spec, via: via, adoptUnmarked: legacy), context: ctx, journal: journal, dryRun: false)
        if let stop = outcome.stop {
            // Nothing half-persisted: what the steps did is undone and the record goes.
            if journal.hasRecord { try await remove(target: spec.target, quiet: true) }
            throw outcome.error ?? AufsError(stop.message)
        }
        executor.prune(root, journal.state)
        if via == .systemd && root.isHost && FileRead.isDirectory("/run/systemd/system") {
            try await reload()
        }
    }

    /// Takes a union's persistence away (what `persist` recorded for it); false when none.
    @discardableResult
    public func remove(target: String, quiet: Bool = false) async throws -> Bool {
        let silent: @Sendable (String) -> Void = { _ in }
        let records = UnionRecords(root: root, printer: quiet ? silent : printer)
        let select: (UnionRecord) -> Bool = { r in r.kind == UnionRecord.Kind.persist && r.target == target }
        let n = try await records.undo(where: select, dryRun: false, runner: runner)
        if n > 0 && !quiet && root.isHost && FileRead.isDirectory("/run/systemd/system") { try await reload() }
        return n > 0
    }

    func reload() async throws {
        let r = try await runner.run(["systemctl", "daemon-reload"])
        if !r.succeeded { printer("warning: systemctl daemon-reload exited \(r.status)") }
    }

    /// The same as a POSIX sh script, for an image provisioned from outside: the same steps,
    /// rendered by the renderer install's --emit-sh uses.
    public func shellScript(_ spec: PersistSpec, via: Via) throws -> String {
        let spec = try spec.validated(forUnit: via == .systemd)
        return ShellScript.header([
            "aufsctl persist \(spec.target) (\(via.rawValue)), generated by aufsctl",
            "ROOT (default empty) prefixes every file it writes; files it changes are backed up to",
            "$ROOT/var/lib/aufsctl/backups as aufsctl does.",
        ]) + ShellScript.steps(steps(spec, via: via))
    }
}
