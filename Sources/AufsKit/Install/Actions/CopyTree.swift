// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// The aufs source laid out in `/usr/src/aufs-V` for DKMS, which rebuilds it as root on every
/// kernel upgrade: fs/, include/, Makefile and config.mk copied as root:root, without setuid,
/// setgid or sticky bits and without group/other write (mode & 0755), a symlink or special file
/// anywhere in them refused before anything is copied; then a dkms.conf from the template. The
/// digest of what was copied is the install's provenance (`--source DIR`).
public struct CopyTree: ActionKind {
    public static let items = TreeCopy.items
    /// `--source DIR` (nil: the clone in the root, known once it is there).
    public var sourceDirectory: String?

    func destination(_ version: String) -> String { "/usr/src/aufs-\(version)" }

    func dkmsConf(_ version: String) throws -> String {
        try Template.render("dkms.conf", ["version": version, "buildExclusive": ""])
    }

    func isDone(_ ctx: InstallContext) async throws -> Bool {
        guard let (_, v) = try DKMSMethod.source(ctx) else { return false }
        let dest = ctx.path(destination(v))
        return ctx.fs.string(dest + "/dkms.conf") == (try dkmsConf(v)) && ctx.fs.isDirectory(dest + "/fs/aufs")
    }

    func apply(_ ctx: InstallContext) async throws -> [UndoAction] {
        guard let (src, v) = try DKMSMethod.source(ctx) else { throw AufsError("the aufs source is not there") }
        let destAbs = destination(v)
        let dest = ctx.path(destAbs)
        let items = CopyTree.items.filter {
            FileRead.exists(src + "/" + $0) || FileRead.readLink(src + "/" + $0) != nil
        }
        for item in items { try TreeCopy.refuseLinks(src + "/" + item, shown: item) }
        let existed = ctx.fs.exists(dest)
        if !existed { try ctx.willChange([.removeTree(path: destAbs)]) }
        try ctx.fs.makeDirectories(Paths.dirname(dest))
        try TreeCopy.makeRootDirectory(dest)
        for item in items { try TreeCopy.copy(src + "/" + item, into: dest, name: item) }
        try ctx.fs.write(dest + "/dkms.conf", try dkmsConf(v))
        if let named = sourceDirectory {
            // The digest of the copy DKMS builds (the source may change after the copy).
            do { ctx.provenance = try await DKMSMethod.treeProvenance(ctx, dir: dest, named: named) } catch {
                ctx.provenance = "\(named) (no digest: \((error as? AufsError)?.message ?? "\(error)"))"
            }
        }
        return existed ? [] : [.removeTree(path: destAbs)]
    }

    var shellDoneTest: String? {
        "[ -f \"$ROOT/usr/src/aufs-$V/dkms.conf\" ] && [ -d \"$ROOT/usr/src/aufs-$V/fs/aufs\" ]"
    }

    var shellCommands: [String] {
        let conf = ((try? dkmsConf("@V@")) ?? "")
        return [
            "for i in \(CopyTree.items.joined(separator: " ")); do [ -e \"$SRC/$i\" ] || continue; "
                + "if [ -n \"$(find \"$SRC/$i\" ! -type f ! -type d | head -n 1)\" ]; then echo \"$SRC/$i holds a "
                + "symlink or special file; aufsctl copies regular files and directories only\" >&2; exit 4; fi; done",
            "mkdir -p \"$ROOT/usr/src/aufs-$V\"",
            "for i in \(CopyTree.items.joined(separator: " ")); do [ -e \"$SRC/$i\" ] && cp -R -p \"$SRC/$i\" "
                + "\"$ROOT/usr/src/aufs-$V/\"; done",
            "chown -R 0:0 \"$ROOT/usr/src/aufs-$V\" && chmod -R u-s,g-s,o-t,go-w \"$ROOT/usr/src/aufs-$V\" "
                + "&& chmod 755 \"$ROOT/usr/src/aufs-$V\"",
            "printf '%s' \(ShellScript.quote(conf)) | sed \"s/@V@/$V/g\" | "
                + "aufsctl_write \"$ROOT/usr/src/aufs-$V/dkms.conf\"",
        ]
    }

    func resources(_ ctx: InstallContext) throws -> [Resource] {
        try DKMSMethod.source(ctx).map { [.file(destination($0.version))] } ?? []
    }
}
