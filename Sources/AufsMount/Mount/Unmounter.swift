// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

public struct UnmountReport: Sendable, Codable, Equatable {
    public var schema = "aufsctl.umount/1"
    public var target: String
    /// The unmounted mount's fstype as mountinfo names it (with --force, any filesystem).
    public var filesystem: String
    public var attempts: Int
    /// The image layers released (their images), when the union had any.
    public var releasedLayers: [String] = []
    /// Layers that could not be released, one sentence each (they stay recorded).
    public var leftLayers: [String] = []
    /// The overlay workdir removed, only when one was.
    public var removedWorkdir: String?
    /// Why an overlay workdir was left (not the directory its mount made), when one was.
    public var leftWorkdir: String? = nil
}

/// `aufsctl umount`: umount2 with EBUSY retries; removes the overlay workdir aufsctl created.
public struct Unmounter {
    public var syscalls: any Syscalls
    public var root: HostRoot
    public var retries = 5
    public var retryDelayMicroseconds: UInt32 = 100_000
    /// aufs: flush pseudo-links before unmounting (aufs's manual); `--no-plink-flush` turns it off.
    public var flushPseudoLinks = true
    /// umount.aufs: a failed flush is reported here and the unmount goes on (shutdown must be able
    /// to unmount); `aufsctl umount` stops instead.
    public var flushFailureWarns: ((AufsError) -> Void)?
    /// More umount2 flags (umount.aufs -f: MNT_FORCE).
    public var extraFlags: Int32 = 0
    /// The identity of each overlay workdir aufsctl made.
    public var workdirRecords: WorkdirRecords
    /// How the union's sysfs entries are read and its lock is found.
    public var status: StatusReader
    /// How long an unmount waits for its union's lock (another unmount, a remount, a flush).
    public var lockTimeout: Double = 30
    /// How long to wait after umount2 for the kernel to drop the superblock (nearly always already
    /// done when umount2 returns: the last mntput runs as the call returns to user space).
    public var superblockWait: Double = 1
    /// Where each union's image layers are recorded; they are released after the union goes.
    public var layerRecords = LayerRecords()
    /// Leave the image layers mounted (an overlay remounted with a new stack keeps them).
    public var keepLayers = false

    public init(syscalls: any Syscalls = LinuxSyscalls(), root: HostRoot = HostRoot()) {
        self.syscalls = syscalls
        self.root = root
        workdirRecords = WorkdirRecords(root: root)
        status = StatusReader(root: root)
    }

    public func unmount(_ target: String, lazy: Bool, force: Bool) throws -> UnmountReport {
        if syscalls.geteuid() != 0 {
            throw AufsError("unmounting needs root (umount2 requires CAP_SYS_ADMIN); run it with sudo")
        }
        let resolved = BranchEditor.resolved(target, syscalls)
        guard let table = MountTable.read(root.resolve("/proc/self/mountinfo")) else {
            throw AufsError("cannot read /proc/self/mountinfo")
        }
        guard let entry = table.mount(at: resolved) else {
            throw AufsError.usage("\(target): not a mount point")
        }
        let ours = entry.fstype == "aufs" || (entry.fstype == "overlay" && entry.source == OverlayMounter.source)
        if !ours && !force {
            throw AufsError.usage(
                "\(resolved) is a \(entry.fstype) mount from \(entry.source), neither aufs nor an overlay aufsctl "
                    + "made; add --any-filesystem to unmount it anyway"
            )
        }
        // An aufs union's lock, exclusively, from before anything of it is read until the kernel
        // has dropped its superblock: no aufsctl reads its sysfs entries while aufs tears it down.
        var lock: UnionLock?
        if entry.fstype == "aufs", let si = StatusReader.si(entry), UnionLocks.isValidID(si) {
            lock = try status.locks.exclusive(si, what: "unmounting \(resolved)", timeout: lockTimeout)
            guard let again = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: resolved),
                again.id == entry.id
            else {
                lock?.release()
                throw AufsError.usage(
                    "\(target): not a mount point any more (unmounted while this waited for its lock)")
            }
        }
        defer { lock?.release() }
        // By fd from here: the mount on the name in the parent is the one judged above (mount id).
        let live = try LiveMount.open(resolved, entry: entry, syscalls: syscalls)
        if entry.fstype == "aufs" && flushPseudoLinks, let union = status.aufsMount(entry, locking: .held, xino: false)
        {
            do {
                _ = try PseudoLinks(root: root, syscalls: syscalls).flush(union)
            } catch let e as AufsError where flushFailureWarns != nil {
                flushFailureWarns?(e)
            }
        }
        var attempts = 0
        while true {
            attempts += 1
            let result = syscalls.unmount(
                in: live.parent, live.name, flags: (lazy ? Int32(MNT_DETACH) : 0) | extraFlags)
            if let lock {
                Trace.event("umount2 si_\(lock.si) \(resolved): \((try? result.get()) == nil ? "failed" : "ok")")
            }
            switch result {
            case .success:
                if let lock { status.releaseAfterUnmount(lock, waiting: lazy ? 0 : superblockWait) }
                var report = UnmountReport(target: resolved, filesystem: entry.fstype, attempts: attempts)
                // After a lazy detach the overlay may still be in use: its workdir stays.
                if !lazy, entry.fstype == "overlay", entry.source == OverlayMounter.source,
                    let w = Unmounter.option("workdir", in: entry.fsOptions),
                    (w.split(separator: "/").last ?? "").hasPrefix(Mounter.workdirPrefix)
                {
                    (report.removedWorkdir, report.leftWorkdir) = removeWorkdir(w)
                }
                if !keepLayers { releaseLayers(of: resolved, lazy: lazy, into: &report) }
                return report
            case .failure(let e) where e.code == EBUSY && attempts <= retries:
                syscalls.pause(microseconds: retryDelayMicroseconds)
            case .failure(let e):
                let hint =
                    e.code == EBUSY
                    ? "; " + BusyHolders.sentence(BusyHolders().holders(of: resolved), target: resolved)
                        + "; --lazy detaches it now and unmounts when it is free" : ""
                throw AufsError(
                    "umount \(resolved) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(e)\(hint)",
                    errno: e.code)
            }
        }
    }

    /// Releases every image layer the union used (newest first); one that will not go stays
    /// recorded and is named in the report.
    func releaseLayers(of target: String, lazy: Bool, into report: inout UnmountReport) {
        let layers = layerRecords.load(target)
        if layers.isEmpty { return }
        var kept: [LayerMount] = []
        for l in layers.reversed() {
            switch LayerMount.release(directory: l.directory, device: l.device, lazy: lazy) {
            case .success: report.releasedLayers.append(l.copiedFrom ?? l.image)
            case .failure(let e):
                kept.insert(l, at: 0)
                let holders =
                    e.code == EBUSY
                    ? "; " + BusyHolders.sentence(BusyHolders().holders(of: l.directory), target: l.directory) : ""
                report.leftLayers.append("image layer \(l.directory) (\(l.image)) stays mounted: \(e)\(holders)")
            }
        }
        report.releasedLayers.reverse()
        if kept.isEmpty { layerRecords.remove(target) } else { try? layerRecords.save(target, kept) }
    }

    /// Removes the overlay workdir `w` after its union is gone: its parent by the no-follow walk
    /// (the path was canonical at mount time, so a symlink on it now was planted), then the
    /// directory by fd, only while its name holds the directory the mount made (the recorded
    /// identity; without a record, one of root's). Returns (removed, why left).
    func removeWorkdir(_ w: String) -> (String?, String?) {
        let recorded = workdirRecords.load(w)
        defer { workdirRecords.remove(w) }
        let parent: AnchoredDirectory
        switch syscalls.anchorDirectory(Paths.dirname(w)) {
        case .success(let p): parent = p
        case .failure(let f) where f.errno.code == ENOENT && !f.symlink: return (nil, nil)
        case .failure(let f): return (nil, "left overlay workdir \(w): \(f)")
        }
        switch syscalls.removeTree(in: parent, String(w.split(separator: "/").last ?? ""), identity: recorded) {
        case .removed: return (w, nil)
        case .missing: return (nil, nil)
        case .notOurs(let why): return (nil, "left \(w) alone: \(why)")
        }
    }

    /// A `key=value` from a comma-separated option string, honouring overlay's `\,` escapes.
    static func option(_ key: String, in options: String) -> String? {
        for part in splitEscaped(options, by: ",") where part.hasPrefix(key + "=") {
            return unescape(String(part.dropFirst(key.count + 1)))
        }
        return nil
    }

    /// Splits at unescaped `sep`, by Unicode scalar: a prepend mark (U+0600...) fuses with the
    /// comma after it into one Character, so a Character split would miss that comma.
    static func splitEscaped(_ s: String, by sep: Unicode.Scalar) -> [String] {
        var out: [String] = []
        var cur = String.UnicodeScalarView()
        var escaped = false
        for c in s.unicodeScalars {
            if escaped { cur.append(c); escaped = false; continue }
            if c == "\\" { cur.append(c); escaped = true; continue }
            if c == sep { out.append(String(cur)); cur = String.UnicodeScalarView(); continue }
            cur.append(c)
        }
        out.append(String(cur))
        return out
    }

    static func unescape(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var escaped = false
        for c in s.unicodeScalars {
            if escaped { out.append(c); escaped = false } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        return String(out)
    }
}
