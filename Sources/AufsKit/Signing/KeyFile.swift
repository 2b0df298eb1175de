// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// A signing key or certificate file as root would use it: where it really is, who owns it, who
/// else could write it. dkms signs with whatever the path leads to, and enrolling a certificate
/// another user can replace hands that user the kernel's trust.
public struct KeyFile: Sendable, Equatable, Codable {
    public var path: String
    public var exists: Bool
    /// The link's target when `path` itself is a symlink.
    public var symlinkTo: String?
    public var uid: UInt32?
    /// Permission bits in octal (`0600`).
    public var mode: String?
    /// Why root should not sign with it or enroll it; empty when nothing is wrong.
    public var problems: [String]

    /// lstat of the path's last component inside the root, then stat of what it leads to.
    /// `isPrivateKey`: also say when others can read it.
    public static func inspect(_ path: String, root: HostRoot, isPrivateKey: Bool) -> KeyFile {
        var file = KeyFile(path: path, exists: false, symlinkTo: nil, uid: nil, mode: nil, problems: [])
        let dir = Paths.dirname(path)
        let own = root.resolve(dir) + "/" + (path.split(separator: "/").last.map(String.init) ?? path)
        var st = stat()
        guard lstat(own, &st) == 0 else {
            if errno != ENOENT { file.problems.append("\(path): \(SysErrno(errno).description)") }
            return file
        }
        if st.st_mode & S_IFMT == S_IFLNK {
            let target = FileRead.readLink(own) ?? "?"
            file.symlinkTo = target
            file.problems.append(
                "\(path) is a symlink to \(target): dkms follows it, so the key is whatever that path holds")
            guard stat(root.resolve(path), &st) == 0 else {
                file.problems.append("\(path) leads nowhere (\(SysErrno(errno).name))")
                return file
            }
        }
        file.exists = true
        file.uid = st.st_uid
        let perm = UInt32(st.st_mode) & 0o7777
        file.mode = "0" + String(perm, radix: 8)
        if st.st_mode & S_IFMT != S_IFREG {
            file.problems.append("\(path) is not a regular file")
        }
        if st.st_uid != 0 {
            file.problems.append("\(path) is owned by uid \(st.st_uid), not root: that user can replace it")
        }
        if perm & 0o022 != 0 {
            file.problems.append(
                "\(path) is writable by \(perm & 0o002 != 0 ? "every user" : "its group") (mode \(file.mode!)): "
                    + "another user can replace it")
        }
        if isPrivateKey && perm & 0o044 != 0 {
            file.problems.append(
                "\(path) is readable by \(perm & 0o004 != 0 ? "every user" : "its group") (mode \(file.mode!)): "
                    + "anyone who reads it can sign modules this kernel will trust once the key is enrolled")
        }
        // The directory holding it: a writable, non-sticky directory lets others swap the file.
        var dst = stat()
        let realDir = Paths.dirname(file.symlinkTo == nil ? own : root.resolve(path))
        if stat(realDir, &dst) == 0, dst.st_mode & 0o002 != 0, dst.st_mode & S_ISVTX == 0 {
            file.problems.append("\(Paths.dirname(path)) is writable by every user: the file can be swapped")
        }
        return file
    }
}
