// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// Who keeps a mount busy, read from /proc/PID/{cwd,root,fd/*,maps} like aufs-util's aubusy:
/// a holder is a process whose working directory, root, an open file or a mapped file is on
/// the mount's device.
public struct BusyHolders {
    public struct Holder: Sendable, Equatable, Codable, CustomStringConvertible {
        public var pid: Int32
        public var command: String
        /// `cwd`, `root`, `fd N`, `mmap`, once each, in that order.
        public var uses: [String]
        public var description: String { "\(pid) (\(command)): \(uses.joined(separator: ", "))" }
    }

    /// The /proc to read (a fake tree in tests).
    public var proc: String
    public init(proc: String = "/proc") { self.proc = proc }

    /// Holders of the filesystem with device `device` (st_dev of the mount point), lowest pid
    /// first; `self` is left out.
    public func holders(device: UInt64, excluding: Int32 = getpid()) -> [Holder] {
        let pids = (FileRead.list(proc) ?? []).compactMap { Int32($0) }.filter { $0 != excluding }.sorted()
        var out: [Holder] = []
        for pid in pids {
            let dir = proc + "/" + String(pid)
            var uses: [String] = []
            if onDevice(dir + "/cwd", device) { uses.append("cwd") }
            if onDevice(dir + "/root", device) { uses.append("root") }
            for fd in (FileRead.list(dir + "/fd") ?? []).compactMap({ Int($0) }).sorted()
            where onDevice(dir + "/fd/" + String(fd), device) {
                uses.append("fd \(fd)")
            }
            if mapsDevice(dir + "/maps", device) { uses.append("mmap") }
            guard !uses.isEmpty else { continue }
            let comm = FileRead.string(dir + "/comm")?.trimmingBlanks ?? "?"
            out.append(Holder(pid: pid, command: comm.isEmpty ? "?" : comm, uses: uses))
        }
        return out
    }

    /// Holders of the mount at `target`.
    public func holders(of target: String) -> [Holder] {
        var st = stat()
        guard stat(target, &st) == 0 else { return [] }
        return holders(device: UInt64(st.st_dev))
    }

    func onDevice(_ link: String, _ device: UInt64) -> Bool {
        var st = stat()
        return stat(link, &st) == 0 && UInt64(st.st_dev) == device
    }

    /// A maps line: `start-end perms offset MAJ:MIN inode path`; MAJ and MIN in hex.
    func mapsDevice(_ path: String, _ device: UInt64) -> Bool {
        guard let text = FileRead.string(path) else { return false }
        let want = (UInt64(aufsctl_major(device)), UInt64(aufsctl_minor(device)))
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard f.count >= 5, f[4] != "0" else { continue }
            let mm = f[3].split(separator: ":")
            guard mm.count == 2, let maj = UInt64(mm[0], radix: 16), let min = UInt64(mm[1], radix: 16) else {
                continue
            }
            if (maj, min) == want { return true }
        }
        return false
    }

    /// The sentence umount prints on EBUSY.
    public static func sentence(_ holders: [Holder], target: String) -> String {
        if holders.isEmpty {
            return "no process has a working directory, root, open file or mapping on \(target) "
                + "(a mount below it, a loop device or a kernel user may hold it)"
        }
        let shown = holders.prefix(10).map(\.description).joined(separator: "; ")
        return "held by " + shown + (holders.count > 10 ? "; and \(holders.count - 10) more" : "")
    }
}
