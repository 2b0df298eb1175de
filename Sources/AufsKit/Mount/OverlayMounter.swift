import Glibc

/// The explicit fallback: the same union mounted with overlayfs, with its different semantics said
/// plainly. Mounts carry the source name `aufsctl` so `status` and `umount` know them as ours.
public struct OverlayMounter {
    public var syscalls: any Syscalls
    public var root: HostRoot
    public var lockPath: String

    public static let source = "aufsctl"
    public static let maxLayers = 500

    public func mount(branches: [Branch], target: String, readOnly: Bool, dryRun: Bool, reason: String) throws -> MountReport {
        let writable = branches.enumerated().filter { $0.element.permission.writable }
        if writable.count > 1 {
            throw AufsError.usage("overlay fallback: \(writable.count) rw branches (\(writable.map { $0.element.path }.joined(separator: ", "))); overlay has one upper layer: make all but the first ro")
        }
        if let w = writable.first, w.offset != 0 {
            throw AufsError.usage("overlay fallback: the rw branch \(w.element.path) is branch \(w.offset); overlay's upper layer is always on top, so make it the first branch")
        }
        let upper = writable.first?.element.path
        let lowers = (upper == nil ? branches : Array(branches.dropFirst())).map(\.path)
        if lowers.isEmpty {
            throw AufsError.usage("overlay fallback: needs at least one ro branch below the rw one")
        }
        if lowers.count > Self.maxLayers {
            throw AufsError.usage("overlay fallback: \(lowers.count) lower layers; overlayfs allows at most \(Self.maxLayers)")
        }
        var workdir: String?
        if let upper {
            guard upper != "/" else { throw AufsError.usage("overlay fallback: / cannot be the upper layer") }
            let parent = FilePath.dirname(upper)
            let w = FilePath.join(parent, Self.workdirName(for: upper))
            guard case .success(let upperDev) = syscalls.deviceID(upper), case .success(let parentDev) = syscalls.deviceID(parent),
                  upperDev == parentDev else {
                throw AufsError.usage("overlay fallback: \(upper) is a mount point of its own, so a workdir beside it (\(w)) would be on another filesystem; overlay needs workdir and upperdir on the same filesystem")
            }
            workdir = w
        }
        var warnings: [String] = []
        let wh = Self.countWhiteouts(lowers)
        if wh.count > 0 {
            warnings.append("\(wh.count) aufs whiteout\(wh.count == 1 ? "" : "s") (.wh.*) in the lower branches (first: \(wh.first ?? "")): overlay does not honour them, so the files they delete will show")
        }
        var strings: [(String, String)] = lowers.map { ("lowerdir+", $0) }
        if let upper, let workdir { strings += [("upperdir", upper), ("workdir", workdir)] }
        let legacyData = (["lowerdir=" + lowers.map(overlayEscape).joined(separator: ":")]
            + (upper.map { ["upperdir=" + overlayEscape($0), "workdir=" + overlayEscape(workdir!)] } ?? [])).joined(separator: ",")
        let legacy = MountCall(source: Self.source, target: target, fstype: "overlay", flags: readOnly ? UInt(MS_RDONLY) : 0, data: legacyData)
        var report = MountReport(
            filesystem: "overlay", target: target, branches: branches, xino: nil, calls: [], dryRun: dryRun,
            loadedModule: false, workdir: workdir,
            notes: ["overlay, not aufs: \(reason); mounting the same layers with overlayfs because --fallback overlay was given"],
            warnings: warnings)
        let newAPI = "fsopen(\"overlay\") + \(strings.count) fsconfig(FSCONFIG_SET_STRING, ...) + fsmount + move_mount(\"\(target)\")"
        if dryRun {
            report.calls = [newAPI + " where the kernel has lowerdir+ (>= 6.8), else " + legacy.description]
            return report
        }
        if !ProcFilesystems.parse(FileRead.string(root.resolve("/proc/filesystems")) ?? "").has("overlay") {
            try? loadOverlay()
        }
        let lock = try FileLock(path: lockPath, what: "mounts are serialised")
        defer { lock.release() }
        if let existing = MountTable.read(root.resolve("/proc/self/mountinfo"))?.mount(at: target) {
            throw AufsError.usage("\(target) is already a mount point (\(existing.fstype) from \(existing.source)); unmount it first (aufsctl umount \(target))")
        }
        if let workdir {
            if Glibc.mkdir(workdir, 0o700) != 0 {
                let e = Errno(errno)
                if e.code == EEXIST, let owner = (try? StatusReader(root: root).read())?.mounts.first(where: { $0.workdir == workdir }) {
                    throw AufsError.usage("overlay workdir \(workdir) belongs to the live overlay union on \(owner.target) "
                        + "(upper \(owner.branches.first.map(UnionGeometry.pathOf) ?? "?")); one upper directory cannot serve two unions: "
                        + "unmount that one (aufsctl umount \(owner.target)) or give this union its own writable branch")
                }
                throw AufsError(e.code == EEXIST
                    ? "overlay workdir \(workdir) already exists and no live union uses it (left by an earlier mount?); remove it"
                    : "cannot create overlay workdir \(workdir): \(e)")
            }
        }
        let log = KernelLog()
        switch syscalls.fsMount(fstype: "overlay", source: Self.source, strings: strings, readOnly: readOnly, target: target) {
        case .success:
            report.calls = [newAPI]
        case .failure(let f) where f.step.hasPrefix("fsconfig(FSCONFIG_SET_STRING, \"lowerdir+\"") || f.step.hasPrefix("fsopen")
            || (f.step == "fsconfig(FSCONFIG_CMD_CREATE)" && f.errno.code == EINVAL):
            // No lowerdir+ (kernel < 6.8) or no new mount API: one mount(2) within the page limit.
            // Kernels whose overlay still parses options the legacy way (< 6.5) accept every
            // fsconfig string and only refuse "lowerdir+" at FSCONFIG_CMD_CREATE, hence that case.
            if legacyData.utf8.count > AufsCallPlanner.maxDataBytes {
                removeWorkdir(workdir)
                throw AufsError("overlay fallback: this kernel lacks fsconfig lowerdir+ (\(f.errno.name)), and the \(lowers.count) layers need \(legacyData.utf8.count) bytes of mount data; mount(2) takes at most \(AufsCallPlanner.maxDataBytes); use shorter paths (symlinks) or fewer layers")
            }
            if case .failure(let e) = syscalls.mount(source: legacy.source, target: target, fstype: "overlay", flags: legacy.flags, data: legacy.data) {
                removeWorkdir(workdir)
                throw AufsError("overlay mount failed: \(e)", details: ["call: \(legacy)"] + (log?.newLines(containing: ["overlay"]) ?? []).map { "kernel: " + $0 })
            }
            report.calls = [legacy.description]
        case .failure(let f):
            removeWorkdir(workdir)
            throw AufsError("overlay mount failed at \(f.step): \(f.errno)",
                            details: (log?.newLines(containing: ["overlay"]) ?? []).map { "kernel: " + $0 })
        }
        return report
    }

    static func workdirName(for upper: String) -> String {
        Mounter.workdirPrefix + (upper.split(separator: "/").last.map(String.init) ?? "root")
    }

    func loadOverlay() throws {
        let kver = syscalls.uname().release
        guard FileRead.isDirectory(root.resolve("/lib/modules/\(kver)")) else { return }
        let index = try ModuleIndex(root: root, kernel: kver)
        _ = index.load("overlay", options: nil)
    }

    func removeWorkdir(_ w: String?) {
        if let w { RecursiveRemove.remove(w) }
    }

    /// aufs whiteouts (`.wh.NAME`, `.wh..wh..opq`) below the given directories, not aufs's own
    /// `.wh..wh.plnk`/`.wh..wh.orph` bookkeeping.
    static func countWhiteouts(_ dirs: [String], limit: Int = 100_000) -> (count: Int, first: String?) {
        var count = 0
        var first: String?
        var stack = dirs
        var visited = 0
        while let d = stack.popLast(), visited < limit {
            visited += 1
            for name in FileRead.list(d) ?? [] {
                let full = FilePath.join(d, name)
                if name.hasPrefix(".wh.") && !(name.hasPrefix(".wh..wh.") && name != ".wh..wh..opq") {
                    count += 1
                    if first == nil { first = full }
                    continue
                }
                var st = stat()
                if lstat(full, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { stack.append(full) }
            }
        }
        return (count, first)
    }
}

/// Removes a directory tree without following symlinks (overlay's workdir holds a mode-000 `work`).
/// rm -rf that never follows a symlink and never re-resolves a path: each directory is opened
/// relative to its parent's fd with O_NOFOLLOW and its entries are removed relative to it, so a
/// name another user swaps for a symlink (in a directory they can write) loses only that symlink.
enum RecursiveRemove {
    /// With `strictParents`, every component of the parent path is opened with O_NOFOLLOW from
    /// `/` too: for a path recorded earlier as canonical (the overlay workdir in mountinfo), a
    /// component that is a symlink now was swapped, and nothing is removed. Returns whether it ran.
    @discardableResult
    static func remove(_ path: String, strictParents: Bool = false) -> Bool {
        let normalized = FilePath.normalize(path)
        guard normalized != "/", let name = normalized.split(separator: "/").last.map(String.init) else { return false }
        let parent = strictParents ? openNoFollow(FilePath.dirname(normalized)) : open(FilePath.dirname(normalized), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { return false }
        defer { close(parent) }
        remove(at: parent, name)
        return true
    }

    /// Opens a directory walking from `/` with O_NOFOLLOW at every component; -1 if one is a symlink.
    static func openNoFollow(_ dir: String) -> Int32 {
        var fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        for c in FilePath.normalize(dir).split(separator: "/").map(String.init) where fd >= 0 {
            let next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(fd)
            fd = next
        }
        return fd
    }

    static func remove(at dirfd: Int32, _ name: String) {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            unlinkat(dirfd, name, 0)
            return
        }
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            fchmod(fd, 0o700)
            for entry in entries(fd) { remove(at: fd, entry) }
            close(fd)
        }
        // A directory swapped for a symlink meanwhile fails here (ENOTDIR) and stays: never followed.
        unlinkat(dirfd, name, AT_REMOVEDIR)
    }

    /// The names in an open directory (not . and ..), read through a duplicate of its fd.
    static func entries(_ fd: Int32) -> [String] {
        let d = dup(fd)
        guard d >= 0, let dir = fdopendir(d) else { if d >= 0 { close(d) }; return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
