// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `/usr/sbin/mount.aufs` and `/usr/sbin/umount.aufs` (mount(8) looks in /sbin, which is /usr/sbin on a
/// merged-/usr host) as links to aufsctl-helper (the helper alone, without
/// the subcommand parser, Foundation or Dispatch: it starts faster), else to aufsctl itself, which is
/// the helper too when started under those names. A foreign helper (aufs-tools' binaries) is
/// replaced only with --force, moved aside so that undoing puts it back.
public struct HelperLinks {
    public static let names = ["mount.aufs", "umount.aufs"]
    public static let directory = "/usr/sbin"

    public enum State: Sendable, Equatable, CustomStringConvertible {
        case missing
        case ours(String)
        case foreign(String)
        public var description: String {
            switch self {
            case .missing: return "missing"
            case .ours(let t): return "aufsctl (-> \(t))"
            case .foreign(let what): return "foreign: \(what)"
            }
        }
    }

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

    public static func path(_ name: String) -> String { directory + "/" + name }

    func entry(_ abs: String) -> String { root.entry(abs) }

    /// The running binary (/proc/self/exe).
    public static func selfBinary() -> String {
        FileRead.readLink("/proc/self/exe") ?? "/usr/local/bin/aufsctl"
    }

    /// What the links should point to for the aufsctl at `aufsctl`: aufsctl-helper beside it (a
    /// build directory) or in ../libexec/aufsctl (make install, the Debian package), else aufsctl.
    public static func helperBinary(for aufsctl: String) -> String {
        let dir = Paths.dirname(aufsctl)
        for candidate in [dir + "/aufsctl-helper", Paths.normalize(dir + "/../libexec/aufsctl/aufsctl-helper")]
        where access(candidate, X_OK) == 0 {
            return candidate
        }
        return aufsctl
    }

    /// A link target that is aufsctl's (either binary).
    static func isOurs(_ target: String) -> Bool {
        let name = target.split(separator: "/").last
        return name == "aufsctl" || name == "aufsctl-helper"
    }

    public func state(_ name: String) -> State {
        let p = entry(HelperLinks.path(name))
        var st = stat()
        guard lstat(p, &st) == 0 else { return .missing }
        if st.st_mode & S_IFMT == S_IFLNK, let link = FileRead.readLink(p) {
            // The package's links are relative (../libexec/aufsctl/aufsctl-helper): named from /.
            let t = link.hasPrefix("/") ? link : Paths.normalize(HelperLinks.directory + "/" + link)
            return HelperLinks.isOurs(t) ? .ours(t) : .foreign("a link to \(t)")
        }
        return .foreign(st.st_mode & S_IFMT == S_IFREG ? "a regular file (aufs-tools' helper?)" : "not a link")
    }

    /// Why `binary` (a host path; under --root, inside the root) must not be what mount(8) runs as
    /// root, or nil: it must be absolute, an existing regular executable file of root's that group
    /// and others cannot write, in directories (from `/`, or the root's top) that are root's and
    /// not group- or other-writable; else another user could replace what runs as uid 0.
    public func unsafeReason(binary: String) -> String? {
        guard binary.hasPrefix("/") else { return "\(binary) is not an absolute path" }
        var st = stat()
        let entry = root.isHost ? binary : root.resolve(binary)
        guard let real = FileRead.realPath(entry) else {
            return "\(binary) does not exist (\(SysErrno(errno).name))"
        }
        guard lstat(real, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            return "\(binary) is not a regular file"
        }
        let top = root.isHost ? "/" : (FileRead.realPath(root.path) ?? root.path)
        let shown = root.isHost ? real : String(real.dropFirst(top.count))
        if st.st_uid != 0 { return "\(shown) belongs to uid \(st.st_uid), not root" }
        if st.st_mode & 0o022 != 0 {
            return "\(shown) is writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8)))"
        }
        if st.st_mode & 0o111 == 0 { return "\(shown) is not executable" }
        var dir = Paths.dirname(real)
        while true {
            guard lstat(dir, &st) == 0 else { return "cannot inspect \(dir): \(SysErrno(errno))" }
            let name = root.isHost ? dir : (dir == top ? "/" : String(dir.dropFirst(top.count)))
            if st.st_uid != 0 { return "the directory \(name) belongs to uid \(st.st_uid), not root" }
            if st.st_mode & 0o022 != 0 {
                return "the directory \(name) is writable by group or others (mode "
                    + "\(String(st.st_mode & 0o7777, radix: 8)))"
            }
            if dir == top || dir == "/" { return nil }
            dir = Paths.dirname(dir)
        }
    }

    /// What is wrong with an existing helper (a link, or a file where the link goes), one sentence
    /// per name: `helper status`, `persist` and `check` say it.
    public func unsafeHelpers() -> [String] {
        HelperLinks.names.compactMap { name in
            let p = HelperLinks.path(name)
            var st = stat()
            guard lstat(entry(p), &st) == 0 else { return nil }
            let target = st.st_mode & S_IFMT == S_IFLNK ? FileRead.readLink(entry(p)) ?? p : p
            let resolved = target.hasPrefix("/") ? target : Paths.join(HelperLinks.directory, target)
            return unsafeReason(binary: resolved).map {
                "\(p) is not safe for mount(8) to run as root: \($0); run `aufsctl helper install` with a root-owned "
                    + "binary (e.g. the package's /usr/libexec/aufsctl/aufsctl-helper)"
            }
        }
    }

    /// Links both names to `binary`; refuses a foreign one unless `force`, and a binary another
    /// user could replace always (no flag overrides that).
    public func install(binary: String, force: Bool) throws {
        if let why = unsafeReason(binary: binary) {
            throw AufsError.usage(
                "helper install: \(why); mount(8) runs /sbin/mount.aufs as root, so it links only to a root-owned "
                    + "executable no other user can replace (e.g. `make install` or the Debian package's "
                    + "/usr/libexec/aufsctl/aufsctl-helper)")
        }
        for name in HelperLinks.names {
            if case .foreign(let what) = state(name), !force {
                throw AufsError.usage(
                    "\(HelperLinks.path(name)) exists and is \(what), not aufsctl; "
                        + "`aufsctl helper install --force` moves it aside (helper remove puts it back)")
            }
        }
        let records = UnionRecords(root: root, printer: printer)
        var undo: [UndoAction] = []
        var index: Int?
        func note(_ u: UndoAction) throws {
            undo.append(u)
            if index == nil {
                index = try records.record(UnionRecord(kind: .helper, undo: undo))
            } else {
                try records.update(UnionRecord(kind: .helper, undo: undo)) { $0.kind == .helper }
            }
        }
        try AtomicFile.makeDirectories(root.resolve(HelperLinks.directory))
        for name in HelperLinks.names {
            let p = HelperLinks.path(name)
            switch state(name) {
            case .ours(let t) where t == binary:
                printer("\(p) -> \(binary): already there")
                continue
            case .ours:
                try note(.relink(path: p, target: FileRead.readLink(entry(p)) ?? binary))
            case .foreign:
                let saved = p + ".aufsctl-saved"
                try note(.moveBack(saved: saved, path: p))
                if rename(entry(p), entry(saved)) != 0 {
                    throw AufsError("cannot move \(p) aside: \(SysErrno(errno))")
                }
                printer("moved the foreign \(p) to \(saved)")
            case .missing:
                break
            }
            try note(.removeFile(path: p))
            unlink(entry(p))
            if symlink(binary, entry(p)) != 0 {
                throw AufsError("cannot link \(p) -> \(binary): \(SysErrno(errno))")
            }
            printer("\(p) -> \(binary)")
        }
    }

    /// Undoes what `install` recorded; links made otherwise (make install) that are aufsctl's
    /// are removed too.
    /// Whether the aufsctl package ships `path` (dpkg-query -S, dpkg's interface to its database).
    func ownedByPackage(_ path: String) async -> Bool {
        guard let r = try? await runner.run(root.command(["dpkg-query", "-S", path])), r.succeeded else { return false }
        return r.stdout.split(separator: "\n").contains { $0.hasPrefix("aufsctl: ") || $0.hasPrefix("aufsctl:amd64: ") }
    }

    public func remove() async throws {
        let n = try await UnionRecords(root: root, printer: printer)
            .undo(where: { $0.kind == .helper }, dryRun: false, runner: runner)
        for name in HelperLinks.names {
            if case .ours = state(name) {
                // Links the aufsctl package ships are dpkg's: `apt-get remove aufsctl` takes them.
                if await ownedByPackage(HelperLinks.path(name)) {
                    printer("kept \(HelperLinks.path(name)) (installed by the aufsctl package)")
                    continue
                }
                unlink(entry(HelperLinks.path(name)))
                printer("removed \(HelperLinks.path(name))")
            }
        }
        if n == 0 && HelperLinks.names.allSatisfy({ state($0) == .missing }) { printer("no aufsctl helper links") }
    }
}
