// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

let hasMksquashfs = FileRead.exists("/usr/bin/mksquashfs")
let hasMkfsErofs = FileRead.exists("/usr/bin/mkfs.erofs")
let hostHas = ProcFilesystems.parse(FileRead.string("/proc/filesystems") ?? "")

/// Runs a tool by argv and requires exit 0.
func tool(_ argv: [String]) async throws {
    let r = try await SubprocessRunner().run(argv, environment: [:])
    try #require(r.status == 0, "\(argv.joined(separator: " ")) failed: \(r.stderr)")
}

/// A directory with a few files, and a squashfs or erofs image of it.
func makeImage(_ dir: String, type: String, name: String, files: [String: String]) async throws -> String {
    let src = dir + "/src-" + name
    makeDir(src)
    for (k, v) in files { writeFile(src + "/" + k, v) }
    let img = dir + "/" + name
    switch type {
    case "squashfs": try await tool(["mksquashfs", src, img, "-quiet", "-noappend", "-all-root"])
    case "erofs": try await tool(["mkfs.erofs", "--quiet", "--all-root", img, src])
    case "ext4":
        try await tool(["truncate", "-s", "8M", img])
        try await tool(["mkfs.ext4", "-q", "-F", "-d", src, img])
    default: Issue.record("no maker for \(type)")
    }
    return img
}

/// Loop devices bound right now to `image` (other processes on the host may bind their own meanwhile;
/// LOOP_CTL_GET_FREE may create unbound ones, which do not count).
func loops(backing image: ImageFile) -> [Int] {
    LoopDevice.bound().filter { n in
        LoopDevice.binding(of: n).map { $0.backingInode == image.inode && $0.backingDevice == image.device } ?? false
    }
}

@Suite(.serialized, .enabled(if: isRoot, "needs root: binds loop devices and mounts images"))
struct LayerMountTests {
    @Test(
        arguments: ["squashfs", "erofs"].filter { ($0 == "squashfs" ? hasMksquashfs : hasMkfsErofs) && hostHas.has($0) }
    )
    func imageMountsReadOnlyAndReleasesItsLoop(type: String) async throws {
        let t = TempDir()
        let d = canonical(t.path)
        let img = try await makeImage(d, type: type, name: "002-xorg.\(type)", files: ["a.txt": "from the image\n"])
        let image = try ImageFile.open(img)
        let layer = try LayerMount.mount(image)
        #expect(layer.type == type)
        #expect(layer.directory.hasPrefix(LayerMount.root + "/002-xorg.\(type)@"))
        #expect(readText(layer.directory + "/a.txt") == "from the image\n")
        #expect(mountinfo().contains(" \(layer.directory) "))
        // Read-only: a write fails with EROFS.
        #expect(open(layer.directory + "/new", O_WRONLY | O_CREAT, 0o644) < 0 && errno == EROFS)
        // The loop device is bound read-only and auto-clearing to this very file.
        let n = Int(layer.device.dropFirst("/dev/loop".count))!
        let b = try #require(LoopDevice.binding(of: n))
        #expect(b.readOnly && b.autoclear)
        #expect(b.backingInode == image.inode && b.backingDevice == image.device)
        #expect(LoopDevice.backingFile(of: n) == img)

        #expect(throws: Never.self) { try LayerMount.release(directory: layer.directory, device: layer.device).get() }
        #expect(!FileRead.exists(layer.directory))
        #expect(loops(backing: image).isEmpty, "the loop device must be released by auto-clear")
    }

    @Test func legacyLoopCallsWorkToo() async throws {
        guard hasMksquashfs && hostHas.has("squashfs") else { return }
        let t = TempDir()
        let d = canonical(t.path)
        let img = try await makeImage(d, type: "squashfs", name: "legacy.sb", files: ["x": "1\n"])
        let image = try ImageFile.open(img)
        let loop = try LoopDevice.attach(image, legacy: true)
        #expect(loop.method == "LOOP_SET_FD")
        let b = try #require(LoopDevice.binding(of: loop.number))
        #expect(b.readOnly, "LOOP_SET_FD of an O_RDONLY descriptor binds read-only")
        #expect(b.autoclear)
        loop.close()
        #expect(LoopDevice.waitUnbound(loop.number))
        #expect(loops(backing: image).isEmpty, "closing an unmounted auto-clear loop device unbinds it")
    }

    @Test func notAnImageIsRefusedByName() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        writeFile(d + "/notes.txt", String(repeating: "just text\n", count: 500))
        let image = try ImageFile.open(d + "/notes.txt")
        let e = #expect(throws: AufsError.self) { try LayerMount.mount(image) }
        #expect(e?.exitCode == .usage)
        #expect(e?.message.contains("finds no filesystem") == true)
        #expect(loops(backing: image).isEmpty)
    }

    @Test func ext4NeedsAllowFS() async throws {
        guard FileRead.exists("/usr/sbin/mkfs.ext4") || FileRead.exists("/sbin/mkfs.ext4") else { return }
        let t = TempDir()
        let d = canonical(t.path)
        let img = try await makeImage(d, type: "ext4", name: "data.img", files: ["e": "ext\n"])
        let image = try ImageFile.open(img)
        let e = #expect(throws: AufsError.self) { try LayerMount.mount(image) }
        #expect(e?.message.contains("--allow-fs ext4") == true)
        let layer = try LayerMount.mount(image, allowFS: ["ext4"])
        #expect(readText(layer.directory + "/e") == "ext\n")
        #expect(throws: Never.self) { try LayerMount.release(directory: layer.directory, device: layer.device).get() }
        #expect(loops(backing: image).isEmpty)
    }

    @Test func corruptImageIsRefusedWithTheKernelsReason() async throws {
        guard hasMksquashfs && hostHas.has("squashfs") else { return }
        let t = TempDir()
        let d = canonical(t.path)
        var files: [String: String] = [:]
        for i in 0..<200 { files["f\(i)"] = String(repeating: "\(i)", count: 3000) }
        let img = try await makeImage(d, type: "squashfs", name: "broken.sb", files: files)
        // Keep the superblock (libblkid still says squashfs), cut the tables the kernel reads.
        #expect(truncate(img, 4096) == 0)
        let image = try ImageFile.open(img)
        let e = #expect(throws: AufsError.self) { try LayerMount.mount(image) }
        #expect(e?.message.contains("does not mount") == true, "\(e?.message ?? "")")
        #expect(loops(backing: image).isEmpty, "the loop device is released after the failed mount")
        #expect((FileRead.list(LayerMount.root) ?? []).allSatisfy { !$0.hasPrefix("broken.sb@") })
    }

    @Test func imageAnotherUserCanWriteIsRefused() async throws {
        guard hasMksquashfs else { return }
        let t = TempDir()
        let d = canonical(t.path)
        let img = try await makeImage(d, type: "squashfs", name: "user.sb", files: ["u": "1\n"])
        #expect(chown(img, 65534, 65534) == 0)
        var e = #expect(throws: AufsError.self) { try LayerMount.mount(try ImageFile.open(img)) }
        #expect(e?.message.contains("belongs to uid 65534") == true)
        #expect(e?.message.contains("--copy") == true)
        #expect(chown(img, 0, 0) == 0 && chmod(img, 0o666) == 0)
        e = #expect(throws: AufsError.self) { try LayerMount.mount(try ImageFile.open(img)) }
        #expect(e?.message.contains("writable by every user") == true)
        #expect(chmod(img, 0o664) == 0 && chown(img, 0, 65534) == 0)
        e = #expect(throws: AufsError.self) { try LayerMount.mount(try ImageFile.open(img)) }
        #expect(e?.message.contains("writable by group 65534") == true)
    }

    @Test func fifoIsNotAnImageAndDoesNotHang() throws {
        let t = TempDir()
        let d = canonical(t.path)
        #expect(mkfifo(d + "/pipe", 0o600) == 0)
        let e = #expect(throws: AufsError.self) { try ImageFile.open(d + "/pipe") }
        #expect(e?.message.contains("not a regular file or block device") == true)
    }
}

struct PosixACLTests {
    /// version 2, then (tag, perm, id) entries as the kernel stores them (little endian).
    func acl(_ entries: [(UInt16, UInt16, UInt32)]) -> [UInt8] {
        var b: [UInt8] = [2, 0, 0, 0]
        for (tag, perm, id) in entries {
            b += [UInt8(tag & 0xff), UInt8(tag >> 8), UInt8(perm & 0xff), UInt8(perm >> 8)]
            b += [UInt8(id & 0xff), UInt8((id >> 8) & 0xff), UInt8((id >> 16) & 0xff), UInt8(id >> 24)]
        }
        return b
    }

    @Test func namedWriterWithinTheMaskIsFound() {
        let a = acl([
            (0x01, 6, 0xffff_ffff), (0x02, 6, 1000), (0x04, 4, 0xffff_ffff), (0x10, 6, 0xffff_ffff),
            (0x20, 4, 0xffff_ffff),
        ])
        #expect(PosixACL.writers(a) == "its ACL lets uid 1000 write it")
    }

    @Test func maskWithoutWriteOrReadOnlyNamedEntriesAreFine() {
        let masked = acl([(0x01, 6, 0xffff_ffff), (0x08, 6, 50), (0x10, 4, 0xffff_ffff), (0x20, 4, 0xffff_ffff)])
        #expect(PosixACL.writers(masked) == nil)
        let reader = acl([(0x01, 6, 0xffff_ffff), (0x02, 4, 1000), (0x10, 6, 0xffff_ffff)])
        #expect(PosixACL.writers(reader) == nil)
        #expect(PosixACL.writers([2, 0, 0]) == nil)
    }
}

@Suite(.serialized, .enabled(if: isRoot, "needs root: copies into a root-only directory and mounts"))
struct ImageCopyTests {
    @Test func userImageIsCopiedOnceAndTheCopyMounts() async throws {
        guard hasMksquashfs && hostHas.has("squashfs") else { return }
        let t = TempDir()
        let d = canonical(t.path)
        let store = d + "/store"
        let img = try await makeImage(d, type: "squashfs", name: "003 apps:v2.sb", files: ["app": "1\n"])
        #expect(chown(img, 65534, 65534) == 0)
        let original = try ImageFile.open(img)
        let copy = try ImageCopy.copy(original, into: store)
        #expect(copy.uid == 0 && copy.mode & 0o777 == 0o600)
        #expect(copy.path.hasPrefix(store + "/003_apps_v2.sb@"))
        #expect(copy.writableByOthers() == nil)
        // The same unchanged image is not copied again.
        #expect(try ImageCopy.copy(try ImageFile.open(img), into: store).path == copy.path)
        #expect(FileRead.list(store)?.count == 1)
        let layer = try LayerMount.mount(copy)
        #expect(readText(layer.directory + "/app") == "1\n")
        #expect(throws: Never.self) { try LayerMount.release(directory: layer.directory, device: layer.device).get() }
    }
}
