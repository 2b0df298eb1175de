// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `--copy`: an image another user could change is copied into root's private image directory
/// first (as Slax copies bundles), read through the descriptor that was checked, and the copy is
/// what gets probed and mounted. Copies live on disk so that a persisted union finds them at boot.
public enum ImageCopy {
    public static let directory = "/var/lib/aufsctl/images"

    /// The copy's name: the image's file name and its identity (device, inode, size, mtime), so the
    /// same unchanged image is copied once and a changed one gets a new copy.
    static func name(for image: ImageFile, mtime: Int) -> String {
        let base = LayerMount.safeName(String(image.path.split(separator: "/").last ?? "image"))
        let id = [image.device, image.inode, image.size, UInt64(bitPattern: Int64(mtime))]
            .map { String($0, radix: 16) }.joined(separator: "-")
        return "\(base)@\(id)"
    }

    /// Copies `image` (from its open descriptor) into `directory` unless an identical copy is there,
    /// and opens the copy. The copy is root's, 0600, written to a temporary name, fsynced and renamed.
    public static func copy(_ image: ImageFile, into directory: String = directory) throws -> ImageFile {
        try RuntimeDir.ensurePrivate(directory, what: "image copies")
        var st = stat()
        guard fstat(image.fd, &st) == 0 else {
            throw AufsError("image \(image.path): fstat failed: \(SysErrno(errno))")
        }
        let dest = directory + "/" + name(for: image, mtime: st.st_mtim.tv_sec)
        if FileRead.exists(dest) { return try ImageFile.open(dest) }
        let tmp = dest + ".tmp-\(getpid())"
        let out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw AufsError("cannot create \(tmp) for a copy of \(image.path): \(SysErrno(errno))") }
        var ok = false
        defer {
            close(out)
            if !ok { unlink(tmp) }
        }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buf.deallocate() }
        var offset: off_t = 0
        while true {
            let n = pread(image.fd, buf.baseAddress, buf.count, offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw AufsError("cannot read image \(image.path) to copy it: \(SysErrno(errno))")
            }
            if n == 0 { break }
            var done = 0
            while done < n {
                let w = write(out, buf.baseAddress! + done, n - done)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw AufsError("cannot write the copy of \(image.path) to \(tmp): \(SysErrno(errno))")
                }
                done += w
            }
            offset += off_t(n)
        }
        guard fsync(out) == 0 else { throw AufsError("cannot fsync \(tmp): \(SysErrno(errno))") }
        guard rename(tmp, dest) == 0 else { throw AufsError("cannot rename \(tmp) to \(dest): \(SysErrno(errno))") }
        ok = true
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
        return try ImageFile.open(dest)
    }
}
