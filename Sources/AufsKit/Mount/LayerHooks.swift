// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem
import Glibc

/// After-work hooks (Puppy's "afterwork": ldconfig, depmod, menus): the executables in
/// /etc/aufsctl/layer.d/ run by argv, in name order, after an image layer is added or deleted.
/// Root runs only what only root can change: the file and every directory up to / root-owned and
/// not writable by group or others (the helper binary's rule). A failing hook is reported, not
/// rolled back: the union's change is done.
public struct LayerHooks: Sendable {
    public static let directory = "/etc/aufsctl/layer.d"
    public var directory: String
    public var runner: any CommandRunner

    public init(directory: String = LayerHooks.directory, runner: any CommandRunner = SubprocessRunner()) {
        self.directory = directory
        self.runner = runner
    }

    /// What one hook did, or why it did not run.
    public struct Outcome: Sendable, Equatable {
        public var hook: String
        public var status: Int32?
        /// Why it was skipped, or its error output when it failed.
        public var message: String?
        public var succeeded: Bool { status == 0 }
    }

    /// The hooks in name order; names with a dot (`*.example`, `*.dpkg-old`) are skipped, as
    /// run-parts does, so the shipped examples do nothing until copied without their suffix.
    public func hooks() -> [String] {
        (FileRead.list(directory) ?? []).filter { !$0.contains(".") && !$0.hasPrefix("~") }.sorted()
            .map { Paths.join(directory, $0) }
    }

    /// Why root must not run `path`, or nil.
    public static func unsafeReason(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return "cannot inspect it: \(SysErrno(errno))" }
        if st.st_mode & S_IFMT != S_IFREG { return "not a regular file" }
        if st.st_mode & 0o111 == 0 { return "not executable" }
        if st.st_uid != 0 { return "it belongs to uid \(st.st_uid), not root" }
        if st.st_mode & 0o022 != 0 {
            return "it is writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8)))"
        }
        var dir = Paths.dirname(path)
        while true {
            guard lstat(dir, &st) == 0 else { return "cannot inspect \(dir): \(SysErrno(errno))" }
            if st.st_mode & S_IFMT != S_IFDIR { return "\(dir) is not a directory" }
            if st.st_uid != 0 { return "the directory \(dir) belongs to uid \(st.st_uid), not root" }
            if st.st_mode & 0o022 != 0 {
                return "the directory \(dir) is writable by group or others (mode "
                    + "\(String(st.st_mode & 0o7777, radix: 8)))"
            }
            if dir == "/" { return nil }
            dir = Paths.dirname(dir)
        }
    }

    /// Runs every hook with AUFSCTL_ACTION (add or del), AUFSCTL_UNION, AUFSCTL_IMAGE,
    /// AUFSCTL_LAYER (the layer's directory) and AUFSCTL_LAYER_TYPE in the environment.
    public func run(action: String, union: String, layer: LayerMount) async -> [Outcome] {
        let env = [
            "AUFSCTL_ACTION": action, "AUFSCTL_UNION": union, "AUFSCTL_IMAGE": layer.copiedFrom ?? layer.image,
            "AUFSCTL_LAYER": layer.directory, "AUFSCTL_LAYER_TYPE": layer.type,
        ]
        var out: [Outcome] = []
        for h in hooks() {
            if let why = Self.unsafeReason(h) {
                out.append(Outcome(hook: h, status: nil, message: "skipped: \(why)"))
                continue
            }
            do {
                let r = try await runner.run([h], environment: env)
                let err = r.stderr.split(separator: "\n").suffix(3).joined(separator: "; ")
                out.append(Outcome(hook: h, status: r.status, message: r.status == 0 || err.isEmpty ? nil : err))
            } catch {
                out.append(Outcome(hook: h, status: nil, message: "could not run it: \(error)"))
            }
        }
        return out
    }
}
