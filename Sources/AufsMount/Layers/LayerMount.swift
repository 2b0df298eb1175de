// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// An image mounted read-only under root's runtime directory, ready to be a union's branch.
public struct LayerMount: Sendable, Equatable, Codable {
    /// The image as given (absolute).
    public var image: String
    /// Where the image's filesystem is mounted: the branch path the union gets.
    public var directory: String
    /// `/dev/loopN`, or the block device itself.
    public var device: String
    public var type: String
    public var uuid: String?
    public var size: UInt64
    /// How the loop device was bound (LOOP_CONFIGURE / LOOP_SET_FD, direct I/O), when there is one.
    public var loop: String?
    /// With `--copy`: the image the user named, of which `image` is root's private copy.
    public var copiedFrom: String? = nil

    /// Where layers are mounted: root's private runtime directory, so no other user can reach a
    /// layer except through the union.
    public static let root = RuntimeDir.path + "/layers"

    /// The directory name for an image: its file name reduced to characters aufs takes in a branch
    /// path, then the image's device and inode (unique while the image exists).
    public static func directoryName(for image: ImageFile) -> String {
        let base = safeName(String(image.path.split(separator: "/").last ?? "image"))
        return "\(base)@\(String(image.device, radix: 16))-\(String(image.inode, radix: 16))"
    }

    /// A file name reduced to ASCII letters, digits and `._+-` (aufs has no escape for `:`, `,` and
    /// `=` in a branch path), at most 80 characters, never starting with a dot.
    static func safeName(_ base: String) -> String {
        var safe = String(
            base.unicodeScalars.map { c -> Character in
                (c.isASCII && (c.properties.isAlphabetic || c.properties.numericType != nil))
                    || c == "." || c == "-" || c == "_" || c == "+" ? Character(c) : "_"
            })
        if safe.hasPrefix(".") { safe = "_" + safe.dropFirst() }
        if safe.count > 80 { safe = String(safe.prefix(80)) }
        return safe.isEmpty ? "image" : safe
    }

    /// Probes, binds and mounts `image` read-only at `LayerMount.root/<name>`. Everything done is
    /// undone when a later step fails: the directory removed, the loop device released.
    /// - Parameters:
    ///   - allowFS: types accepted besides squashfs and erofs (`--allow-fs`).
    ///   - mountTable: the live mounts, to refuse a block device mounted writable elsewhere.
    public static func mount(
        _ image: ImageFile, allowFS: [String] = [], mountTable: MountTable? = nil, directIO: Bool = true,
        afterLoop: (() throws -> Void)? = nil
    ) throws -> LayerMount {
        if let why = image.writableByOthers() {
            throw AufsError.usage(
                "image \(image.path): \(why); root will not mount a filesystem another user can change while it "
                    + "is live: make it root's and not writable by others, or add --copy to mount a private copy")
        }
        let sig = try ImageProbe.probe(image)
        if let why = ImageProbe.refusal(sig, path: image.path, allowed: allowFS) { throw AufsError.usage(why) }
        if image.kind == .blockDevice, let table = mountTable,
            let rw = table.entries.first(where: { e in
                var st = stat()
                return e.source.hasPrefix("/dev/") && stat(e.source, &st) == 0 && UInt64(st.st_rdev) == image.rdev
                    && !e.vfsOptions.split(separator: ",").contains("ro")
            })
        {
            throw AufsError.usage(
                "image \(image.path) is mounted writable at \(rw.target); a layer must not change under the union: "
                    + "unmount it or remount it read-only first")
        }
        try RuntimeDir.ensurePrivate(RuntimeDir.path, what: "image layers")
        try RuntimeDir.ensurePrivate(root, what: "image layers")
        let dir = root + "/" + directoryName(for: image)
        // One mount per image: a second one stacked on the same directory would be released by
        // whichever union goes first.
        if let held = (mountTable ?? MountTable.read("/proc/self/mountinfo"))?.mount(at: dir) {
            throw AufsError.usage(
                "image \(image.path) is already mounted as a layer at \(dir) (\(held.fstype) from \(held.source)); "
                    + "a union uses it: `aufsctl status` names which")
        }
        if Glibc.mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw AufsError("cannot create \(dir) for image \(image.path): \(SysErrno(errno))")
        }
        var loop: LoopDevice?
        var device = image.path
        if image.kind == .file {
            do {
                loop = try LoopDevice.attach(image, directIO: directIO)
            } catch {
                rmdir(dir)
                throw error
            }
            device = loop!.path
            do { try afterLoop?() } catch {
                loop!.close()
                _ = LoopDevice.waitUnbound(loop!.number)
                rmdir(dir)
                throw error
            }
        }
        let log = KernelLog()
        let data = sig.type.hasPrefix("ext") ? "noload" : ""
        if Glibc.mount(device, dir, sig.type, UInt(MS_RDONLY), data) != 0 {
            let e = SysErrno(errno)
            let lines = log?.newLines() ?? []
            if let loop {
                loop.close()
                _ = LoopDevice.waitUnbound(loop.number)
            }
            rmdir(dir)
            throw AufsError(
                "image \(image.path) (\(sig.type)) does not mount: mount(\"\(device)\", \"\(dir)\", \"\(sig.type)\", "
                    + "MS_RDONLY) failed: \(e)"
                    + (lines.isEmpty ? "" : "; kernel: " + lines.suffix(3).joined(separator: "; ")),
                details: lines)
        }
        defer { loop?.close() }
        return LayerMount(
            image: image.path, directory: dir, device: device, type: sig.type, uuid: sig.uuid, size: sig.size,
            loop: loop.map { $0.method + ($0.directIO ? ", direct I/O" : "") })
    }

    /// Unmounts a layer, removes its directory and waits for the kernel to unbind its loop device
    /// (auto-clear). A lasting EBUSY is returned: the caller names the holders.
    public static func release(
        directory dir: String, device: String? = nil, lazy: Bool = false
    ) -> Result<Void, SysErrno> {
        // EBUSY can be transient (a descriptor of the layer copied into a child between its fork
        // and exec): a few tries 100 ms apart, as `aufsctl umount` makes, before it is reported.
        var tries = 0
        while umount2(dir, lazy ? Int32(MNT_DETACH) : 0) != 0 {
            let e = errno
            if e == EINVAL { break }
            tries += 1
            if e != EBUSY || tries > 5 { return .failure(SysErrno(e)) }
            usleep(100_000)
        }
        rmdir(dir)
        if !lazy, let device, device.hasPrefix("/dev/loop"), let n = Int(device.dropFirst("/dev/loop".count)),
            !LoopDevice.waitUnbound(n)
        {
            return .failure(SysErrno(EBUSY))
        }
        return .success(())
    }
}
