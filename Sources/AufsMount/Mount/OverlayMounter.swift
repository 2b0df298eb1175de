// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The explicit fallback's names and limits: the same union mounted with overlayfs (planned by
/// `MountPlanner.overlay`, made by `MountExecutor`). Mounts carry the source name `aufsctl` so
/// `status` and `umount` know them as ours.
public enum OverlayMounter {
    public static let source = "aufsctl"
    public static let maxLayers = 500

    static func workdirName(for upper: String) -> String {
        Mounter.workdirPrefix + (upper.split(separator: "/").last.map(String.init) ?? "root")
    }

    static func newAPIDescription(_ strings: Int, target: String, byFD: Bool = false) -> String {
        "fsopen(\"overlay\") + \(strings) fsconfig(\(byFD ? "FSCONFIG_SET_FD" : "FSCONFIG_SET_STRING"), ...) + fsmount "
            + "+ move_mount(\"\(target)\")"
    }
}

/// The identity (st_dev, st_ino) of each overlay workdir aufsctl made, one file per workdir path in
/// root's private runtime directory: `umount` removes a workdir only while its name still holds
/// that directory, so one another user renamed into its place (in an upper dir's parent they can
/// write) is left alone. Gone at reboot with /run, as the mounts are.
public struct WorkdirRecords: Sendable {
    public var directory: String
    public init(directory: String) { self.directory = directory }
    /// The records of the host `root` describes (its /run/aufsctl/workdir).
    public init(root: HostRoot) { directory = root.resolve(RuntimeDir.workdirRecords, keepingLast: 2) }

    func file(_ workdir: String) -> String {
        Paths.join(directory, "workdir-" + Mounter.runtimeName(workdir, suffix: ".id"))
    }

    public func save(_ workdir: String, _ id: FileIdentity) throws {
        try RuntimeDir.ensurePrivate(directory, what: "the overlay workdir records")
        try AtomicFile.write(file(workdir), "\(id.device) \(id.inode)\n\(workdir)\n", mode: 0o600)
    }

    /// The recorded identity, nil when there is none (a mount by an older aufsctl, a reboot).
    public func load(_ workdir: String) -> FileIdentity? {
        let p = file(workdir)
        var st = stat()
        guard lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(),
            let text = FileRead.string(p)
        else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let f = lines.first?.split(separator: " ") ?? []
        guard lines.count >= 2, String(lines[1]) == workdir, f.count == 2, let d = UInt64(f[0]), let i = UInt64(f[1])
        else { return nil }
        return FileIdentity(device: d, inode: i)
    }

    public func remove(_ workdir: String) { unlink(file(workdir)) }
}
