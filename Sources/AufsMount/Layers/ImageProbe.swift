// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CBlkid
import Glibc

/// What libblkid finds on an image, probed through the descriptor aufsctl opened (never by name).
public struct ImageSignature: Sendable, Equatable, Codable {
    public var type: String
    public var uuid: String?
    public var label: String?
    /// Bytes libblkid probed (the file's or the device's size).
    public var size: UInt64
}

public enum ImageProbe {
    /// The filesystems an image layer may hold without being asked: compressed, read-only formats
    /// made for layers (Slax/Porteus bundles, Puppy SFS, erofs images).
    public static let defaultTypes = ["squashfs", "erofs"]
    /// The others aufsctl knows how to mount read-only, only with `--allow-fs TYPE`.
    public static let optionalTypes = ["ext4", "ext3", "ext2", "iso9660"]

    /// libblkid's safe probe of `image`: the superblock type, UUID, label and size.
    public static func probe(_ image: ImageFile) throws -> ImageSignature {
        guard let pr = blkid_new_probe() else {
            throw AufsError("image \(image.path): libblkid could not allocate a probe")
        }
        defer { blkid_free_probe(pr) }
        if blkid_probe_set_device(pr, image.fd, 0, 0) != 0 {
            throw AufsError("image \(image.path): libblkid cannot read it: \(SysErrno(errno))")
        }
        errno = 0
        let rc = blkid_do_safeprobe(pr)
        func value(_ key: String) -> String? {
            var data: UnsafePointer<CChar>? = nil
            var len = 0
            guard blkid_probe_lookup_value(pr, key, &data, &len) == 0, let data else { return nil }
            return String(cString: data)
        }
        switch rc {
        case 0:
            guard let type = value("TYPE") else {
                throw AufsError.usage(
                    "image \(image.path): libblkid found a signature but no filesystem type (a partition table?); "
                        + "give a filesystem image")
            }
            let size = blkid_probe_get_size(pr)
            return ImageSignature(
                type: type, uuid: value("UUID"), label: value("LABEL"), size: size > 0 ? UInt64(size) : image.size)
        case 1:
            throw AufsError.usage(
                "image \(image.path): libblkid finds no filesystem in it (\(image.size) bytes); an image layer is a "
                    + "squashfs or erofs file (mksquashfs DIR FILE, mkfs.erofs FILE DIR)")
        case -2:
            throw AufsError.usage(
                "image \(image.path): libblkid finds more than one filesystem signature in it; aufsctl will not guess "
                    + "which the kernel would mount (wipefs shows them)")
        default:
            throw AufsError(
                "image \(image.path): libblkid could not probe it" + (errno != 0 ? ": \(SysErrno(errno))" : ""))
        }
    }

    /// Why a probed type is refused as a layer, or nil when it is accepted.
    public static func refusal(_ sig: ImageSignature, path: String, allowed extra: [String]) -> String? {
        if defaultTypes.contains(sig.type) || extra.contains(sig.type) { return nil }
        if optionalTypes.contains(sig.type) {
            return "image \(path) holds \(sig.type), which is a layer only when asked: add --allow-fs \(sig.type)"
        }
        return "image \(path) holds \(sig.type); an image layer is squashfs or erofs (ext4, ext3, ext2 and "
            + "iso9660 with --allow-fs TYPE)"
    }
}
