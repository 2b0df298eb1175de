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
        guard !m.branches.isEmpty else { throw AufsError("\(m.target): the kernel shows no branches for this union") }
        let xino = m.xino.flatMap { $0.hasPrefix(RuntimeDir.xinoDir + "/") ? nil : $0 }
        var options: [String] = []
        for o in m.options.split(separator: ",").map(String.init) {
            let name = String(o.prefix { $0 != "=" })
            if ["si", "xino", "br", "dirs", "rw"].contains(name) || o.hasPrefix("br:") { continue }
            if o == "ro" || AufsOptions.flagOptions.contains(o) || AufsOptions.valueOptions[name] != nil {
                options.append(o)
            }
        }
        return PersistSpec(target: m.target, branches: m.branches, xino: xino, options: options)
    }

    /// The files the persistence consists of, for --dry-run and --emit-sh.
    public func preview(_ spec: PersistSpec, via: Via) throws -> [(path: String, text: String)] {
        let spec = try spec.validated()
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

    /// Writes the unit (enabled: the wants link) or the fstab line, and aufs.conf when missing;
    /// each change is recorded before it is made.
    public func apply(_ spec: PersistSpec, via: Via) async throws {
        let spec = try spec.validated()
        let records = UnionRecords(root: root, printer: printer)
        try await remove(target: spec.target, quiet: true)
        var undo: [UndoAction] = []
        var uses: [String] = []
        let viaText: String
        func note(_ u: UndoAction) throws {
            undo.append(u)
            try save()
        }
        /// A file about to be created, and the directories made for it (undone after it).
        func noteCreating(_ path: String) throws {
            for dir in UndoAction.missingDirectories(above: path, root: root) {
                try note(.removeEmptyDirectory(path: dir))
            }
            try note(.removeFile(path: path))
        }
        func save() throws {
            try records.update(UnionRecord(kind: .persist, target: spec.target, via: viaText, undo: undo, uses: uses)) {
                $0.kind == .persist && $0.target == spec.target
            }
        }
        switch via {
        case .systemd:
            let name = SystemdUnit.name(forPath: spec.target)
            viaText = "systemd-unit " + name
            _ = try records.record(UnionRecord(kind: .persist, target: spec.target, via: viaText, undo: []))
            let unit = Persister.unitDirectory + "/" + name
            let link = Persister.wantsDirectory + "/" + name
            if FileRead.exists(root.resolve(unit)) {
                try note(.restoreFile(path: unit, backup: try records.backup(unit)))
            } else {
                try noteCreating(unit)
            }
            try AtomicFile.makeDirectories(root.resolve(Persister.unitDirectory))
            try AtomicFile.write(root.resolve(unit), SystemdUnit.text(spec))
            printer("wrote \(unit)")
            let linkDirectories = UndoAction.missingDirectories(above: link, root: root)
            try AtomicFile.makeDirectories(root.resolve(Persister.wantsDirectory))
            let existing = FileRead.readLink(records.entry(link))
            if existing == nil,
                case .success(let st) = LinuxSyscalls().fileStatus(records.entry(link), followSymlinks: false),
                st.mode & UInt32(S_IFMT) != UInt32(S_IFLNK)
            {
                throw AufsError(
                    "\(link) exists and is not a symlink; persist does not replace what it did not make: "
                        + "look at it, remove it, and run again")
            }
            if existing == nil {
                for dir in linkDirectories { try note(.removeEmptyDirectory(path: dir)) }
                try note(.removeFile(path: link))
                if symlink("../" + name, records.entry(link)) != 0 && errno != EEXIST {
                    throw AufsError("cannot enable \(name): symlink \(link): \(SysErrno(errno))")
                }
                printer("enabled \(name) for local-fs.target (\(link))")
            }
        case .fstab:
            viaText = "fstab"
            _ = try records.record(UnionRecord(kind: .persist, target: spec.target, via: viaText, undo: []))
            let current = FileRead.string(root.resolve("/etc/fstab"))
            let text = try FstabLine.insert(spec, into: current ?? "")
            // Undone by removing this line only: a whole-file restore would also take away
            // other unions' lines and whatever the administrator changed since. The backup stays
            // for a manual rollback.
            if current != nil { _ = try records.backup("/etc/fstab") }
            try note(.removeFstabEntry(target: spec.target))
            try AtomicFile.write(root.resolve("/etc/fstab"), text)
            printer("added to /etc/fstab: \(FstabLine.line(spec))")
        }
        let conf = root.resolve(Persister.modulesLoad)
        uses.append("file:" + Persister.modulesLoad)
        if !(FileRead.string(conf) ?? "").split(separator: "\n").contains("aufs") {
            if FileRead.exists(conf) {
                try note(.restoreFile(path: Persister.modulesLoad, backup: try records.backup(Persister.modulesLoad)))
                try AtomicFile.write(conf, (FileRead.string(conf) ?? "") + "aufs\n")
            } else {
                try noteCreating(Persister.modulesLoad)
                try AtomicFile.makeDirectories(Paths.dirname(conf))
                try AtomicFile.write(conf, "aufs\n")
            }
            printer("aufs loads at boot: \(Persister.modulesLoad)")
        } else {
            try save()  // records `uses`
        }
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

    /// The same as a POSIX sh script, for an image provisioned from outside.
    public func shellScript(_ spec: PersistSpec, via: Via) throws -> String {
        let spec = try spec.validated()
        var s = "#!/bin/sh\n# aufsctl persist \(spec.target) (\(via.rawValue)), generated by aufsctl\n"
        s += "set -eu\nROOT=${ROOT:-}\n"
        switch via {
        case .systemd:
            let name = SystemdUnit.name(forPath: spec.target)
            let unit = Persister.unitDirectory + "/" + name
            s += "mkdir -p \"$ROOT\(Persister.unitDirectory)\" \"$ROOT\(Persister.wantsDirectory)\"\n"
            s += "cat > \"$ROOT\"\(ShellScript.quote(unit)) <<'AUFSCTL_EOF'\n\(SystemdUnit.text(spec))AUFSCTL_EOF\n"
            let link = ShellScript.quote(Persister.wantsDirectory + "/" + name)
            s += "ln -sfn \(ShellScript.quote("../" + name)) \"$ROOT\"\(link)\n"
        case .fstab:
            let line = FstabLine.line(spec)
            s +=
                "grep -qxF \(ShellScript.quote(line)) \"$ROOT/etc/fstab\" 2>/dev/null || "
                + "printf '%s\\n' \(ShellScript.quote(line)) >> \"$ROOT/etc/fstab\"\n"
        }
        s += "mkdir -p \"$ROOT/etc/modules-load.d\"\n"
        let conf = "\"$ROOT\(Persister.modulesLoad)\""
        s += "grep -qx aufs \(conf) 2>/dev/null || echo aufs >> \(conf)\n"
        return s
    }
}
