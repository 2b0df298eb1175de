// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import FoundationEssentials
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Host state a layer command may leave: loop devices bound to these images, and mounts at or
/// below the layer root and the test directory.
private func leftovers(_ images: [String], _ d: String) -> [String] {
    let ids = images.compactMap { try? ImageFile.open($0) }
    let bound = ids.flatMap { loops(backing: $0) }.map { "loop\($0)" }
    // Only these images' layer directories: the other suites mount layers of their own meanwhile.
    let names = Set(ids.map { LayerMount.directoryName(for: $0) })
    return bound
        + mountPoints(under: LayerMount.root).filter { names.contains(String($0.split(separator: "/").last ?? "")) }
        + mountPoints(under: d) + (FileRead.list(LayerMount.root) ?? []).filter { names.contains($0) }
}

/// After a test (even a failed one): unmounts every layer whose loop device is backed by a file
/// under `d`, so a failure leaves nothing bound.
private func releaseLayers(backedBy d: String) {
    for line in mountinfo().split(separator: "\n") {
        let f = line.split(separator: " ")
        guard let dash = f.firstIndex(of: "-"), f.count > dash + 2, f[4].hasPrefix(LayerMount.root + "/") else {
            continue
        }
        let source = String(f[dash + 2])
        guard source.hasPrefix("/dev/loop"), let n = Int(source.dropFirst("/dev/loop".count)),
            LoopDevice.backingFile(of: n)?.hasPrefix(d + "/") == true
        else { continue }
        _ = LayerMount.release(directory: String(f[4]), device: source)
    }
    LayerRecords().remove(d + "/mnt")
}

private let layersUsable =
    isRoot && hasMksquashfs && hasMkfsErofs && hostHas.has("squashfs") && hostHas.has("erofs")
    && hostHas.has("overlay")

private func mountRequest(_ branches: String, _ target: String, fallback: Fallback = .overlay) throws -> MountRequest {
    var o = AufsOptions()
    o.branches = try AufsOptions.parseBranchList(branches)
    return MountRequest(options: o, target: target, fallback: fallback)
}

@Suite(.serialized, .enabled(if: layersUsable, "needs root, squashfs-tools, erofs-utils, squashfs/erofs/overlay"))
struct ImageBranchTests {
    /// A test directory with a rw branch, a mount point, a squashfs and an erofs image.
    func fixture(_ t: TempDir) async throws -> (d: String, sb: String, ero: String) {
        let d = canonical(t.path)
        makeDir(d + "/rw")
        makeDir(d + "/mnt")
        let sb = try await makeImage(d, type: "squashfs", name: "001-core.sb", files: ["core.txt": "core\n"])
        let ero = try await makeImage(d, type: "erofs", name: "002-xorg.erofs", files: ["xorg.txt": "xorg\n"])
        return (d, sb, ero)
    }

    @Test func squashfsAndErofsLayersThroughTheOverlayFallbackAndUmountReleasesThem() async throws {
        let t = TempDir()
        let (d, sb, ero) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        let before = leftovers([sb, ero], d)
        let report = try Mounter().mount(try mountRequest("\(d)/rw:\(sb):\(ero)", d + "/mnt"))
        #expect(report.filesystem == .overlay)
        #expect(report.layers.map(\.image) == [sb, ero])
        #expect(report.layers.map(\.type) == ["squashfs", "erofs"])
        #expect(report.branches.dropFirst().allSatisfy { $0.permission.description == "rr" })
        #expect(readText(d + "/mnt/core.txt") == "core\n")
        #expect(readText(d + "/mnt/xorg.txt") == "xorg\n")
        // status names the image, type, loop device and size of each image branch.
        let st = try StatusReader().read(target: d + "/mnt")
        let images = try #require(st.mounts.first?.images)
        #expect(images.map(\.index) == [1, 2])
        #expect(images.map(\.image) == [sb, ero])
        #expect(images.allSatisfy { $0.device.hasPrefix("/dev/loop") && $0.size > 0 })
        // In JSON each is its branch's image (one shape for a branch), in mount/2 and status/2 alike.
        struct RawImage: Decodable {
            var file: String
            var type, device: String?
            var size: UInt64?
        }
        struct RawBranch: Decodable {
            var path, permission: String
            var image: RawImage?
        }
        struct RawUnion: Decodable {
            var branches: [RawBranch]
            var images, layers: [RawImage]?
        }
        struct RawStatus: Decodable { var mounts: [RawUnion] }
        let fromMount = try JSONDecoder().decode(RawUnion.self, from: Data(try JSONText.encode(report).utf8))
        let fromStatus = try JSONDecoder().decode(RawStatus.self, from: Data(try JSONText.encode(st).utf8)).mounts
        for union in [fromMount] + fromStatus {
            #expect(union.branches.map { $0.image?.file } == [nil, sb, ero])
            #expect(union.branches[1].image?.type == "squashfs")
            #expect(union.branches[1].image?.device?.hasPrefix("/dev/loop") == true)
            #expect((union.branches[1].image?.size ?? 0) > 0)
            #expect(union.images == nil && union.layers == nil, "no second list of the same branches")
        }
        let back = try JSONDecoder().decode(StatusReport.self, from: Data(try JSONText.encode(st).utf8))
        #expect(back.mounts.first?.images?.map(\.image) == [sb, ero])
        let u = try Unmounter().unmount(d + "/mnt", lazy: false, force: false)
        #expect(u.releasedLayers == [sb, ero])
        #expect(u.leftLayers.isEmpty)
        #expect(leftovers([sb, ero], d) == before)
        #expect(LayerRecords().load(d + "/mnt").isEmpty)
    }

    @Test func aufsMountThatFailsReleasesEveryLayer() async throws {
        guard !hostHas.has("aufs") else { return }
        let t = TempDir()
        let (d, sb, ero) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        let before = leftovers([sb, ero], d)
        let e = #expect(throws: AufsError.self) {
            try Mounter().mount(try mountRequest("\(d)/rw:\(sb):\(ero)", d + "/mnt", fallback: .none))
        }
        #expect(e?.message.contains("ENODEV") == true, "\(e?.message ?? "")")
        #expect(leftovers([sb, ero], d) == before)
        #expect(LayerRecords().load(d + "/mnt").isEmpty)
    }

    @Test(arguments: ["image-opened", "loop-bound", "layer-mounted", "recorded", "union-mounted"])
    func injectedFailureAtEachStepLeavesNothing(step: String) async throws {
        let t = TempDir()
        let (d, sb, ero) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        let before = leftovers([sb, ero], d)
        var m = Mounter()
        // The second image fails, so the first one's layer must be released too.
        let calls = Counter()
        m.images.fault = { s in s == step && (step == "recorded" || step == "union-mounted" || calls.next(s) == 2) }
        let e = #expect(throws: AufsError.self) { try m.mount(try mountRequest("\(d)/rw:\(sb):\(ero)", d + "/mnt")) }
        #expect(e?.message.contains("injected failure at step \(step)") == true, "\(e?.message ?? "")")
        #expect(leftovers([sb, ero], d) == before, "step \(step)")
        #expect(!isMountPoint(d + "/mnt"))
        #expect(LayerRecords().load(d + "/mnt").isEmpty)
    }

    @Test func injectedFailureThroughTheCLI() async throws {
        let t = TempDir()
        let (d, sb, _) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        let before = leftovers([sb], d)
        let r = try await aufsctl(
            ["mount", "--fallback", "overlay", "dirs=\(d)/rw:\(sb)", d + "/mnt"],
            env: ["AUFSCTL_TEST_FAIL_AT": "layer-mounted"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("injected failure at step layer-mounted"), "\(r.stderr)")
        #expect(leftovers([sb], d) == before)
    }

    @Test func corruptAndNonImageFilesAreRefusedAndTheGoodLayerReleased() async throws {
        let t = TempDir()
        let (d, sb, _) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        writeFile(d + "/notes.txt", String(repeating: "text\n", count: 400))
        var files: [String: String] = [:]
        // Contents that do not compress away: the image must be larger than what is kept.
        for i in 0..<200 { files["f\(i)"] = (0..<300).map { String(($0 * 7919 + i * 104_729) % 1_000_003) }.joined() }
        let bad = try await makeImage(d, type: "squashfs", name: "bad.sb", files: files)
        var st = stat()
        #expect(stat(bad, &st) == 0 && st.st_size > 16384, "the test image must be larger than what is kept")
        #expect(truncate(bad, 4096) == 0)
        let before = leftovers([sb, bad], d)
        var e = #expect(throws: AufsError.self) {
            try Mounter().mount(try mountRequest("\(d)/rw:\(sb):\(d)/notes.txt", d + "/mnt"))
        }
        #expect(e?.message.contains("finds no filesystem") == true, "\(e?.message ?? "")")
        e = #expect(throws: AufsError.self) {
            try Mounter().mount(try mountRequest("\(d)/rw:\(sb):\(bad)", d + "/mnt"))
        }
        #expect(e?.message.contains("does not mount") == true, "\(e?.message ?? "")")
        #expect(leftovers([sb, bad], d) == before)
    }

    @Test func userWritableImageNeedsCopy() async throws {
        let t = TempDir()
        let (d, sb, _) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        #expect(chown(sb, 65534, 65534) == 0)
        let e = #expect(throws: AufsError.self) { try Mounter().mount(try mountRequest("\(d)/rw:\(sb)", d + "/mnt")) }
        #expect(e?.message.contains("--copy") == true)
        var m = Mounter()
        m.images.copy = true
        let r = try m.mount(try mountRequest("\(d)/rw:\(sb)", d + "/mnt"))
        let copy = try #require(r.layers.first)
        #expect(copy.copiedFrom == sb && copy.image.hasPrefix(ImageCopy.directory + "/"))
        #expect(readText(d + "/mnt/core.txt") == "core\n")
        _ = try Unmounter().unmount(d + "/mnt", lazy: false, force: false)
        unlink(copy.image)
    }

    @Test func aHundredImageLayersInOneUnion() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        makeDir(d + "/rw")
        makeDir(d + "/mnt")
        var images: [String] = []
        for i in 0..<100 {
            let img = try await makeImage(
                d, type: "squashfs", name: "\(1000 + i).sb", files: ["l\(i)": "\(i)\n", "x": "\(i)\n"])
            images.append(img)
        }
        let before = leftovers(images, d)
        let r = try Mounter().mount(try mountRequest("\(d)/rw:" + images.joined(separator: ":"), d + "/mnt"))
        #expect(r.layers.count == 100)
        #expect(readText(d + "/mnt/l99") == "99\n")
        #expect(readText(d + "/mnt/x") == "0\n", "the first image layer is the top one")
        let u = try Unmounter().unmount(d + "/mnt", lazy: false, force: false)
        #expect(u.releasedLayers.count == 100)
        #expect(leftovers(images, d) == before)
    }

    @Test func overlayBranchAddAndDelNeedRemountThenRestack() async throws {
        let t = TempDir()
        let (d, sb, ero) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        let before = leftovers([sb, ero], d)
        _ = try Mounter().mount(try mountRequest("\(d)/rw:\(sb)", d + "/mnt"))
        var ed = BranchEditor()
        let e = #expect(throws: AufsError.self) {
            try ed.change(.add, target: d + "/mnt", branch: ero, index: nil, dryRun: false)
        }
        #expect(e?.message.contains("--remount") == true)
        ed.remountOverlay = true
        let c = try ed.change(.add, target: d + "/mnt", branch: ero, index: nil, dryRun: false)
        #expect(c.layer?.image == ero)
        #expect(readText(d + "/mnt/xorg.txt") == "xorg\n")
        let st = try #require(try StatusReader().read(target: d + "/mnt").mounts.first)
        #expect(st.images?.map(\.image) == [ero, sb], "an image goes right under the rw layer")
        // Busy: refused with the holders, nothing changed.
        let fd = open(d + "/mnt/core.txt", O_RDONLY)
        let busy = #expect(throws: AufsError.self) {
            try ed.change(.del, target: d + "/mnt", branch: sb, index: nil, dryRun: false)
        }
        // Another process is named as a holder; this one (excluded from the holders) makes umount2 fail.
        #expect(
            busy?.message.contains("in use") == true || busy?.message.contains("EBUSY") == true,
            "\(busy?.message ?? "")")
        #expect(readText(d + "/mnt/core.txt") == "core\n", "a refused del changes nothing")
        #expect(try StatusReader().read(target: d + "/mnt").mounts.first?.images?.count == 2)
        close(fd)
        // By image path, then by index.
        _ = try ed.change(.del, target: d + "/mnt", branch: sb, index: nil, dryRun: false)
        #expect(readText(d + "/mnt/core.txt") == nil)
        #expect(loops(backing: try ImageFile.open(sb)).isEmpty)
        let del = #expect(throws: AufsError.self) {
            try ed.change(.del, target: d + "/mnt", branch: "1", index: nil, dryRun: false)
        }
        #expect(del?.message.contains("only lower layer") == true, "\(del?.message ?? "")")
        _ = try ed.change(.add, target: d + "/mnt", branch: sb, index: 2, dryRun: false)
        _ = try ed.change(.del, target: d + "/mnt", branch: "1", index: nil, dryRun: false)
        #expect(readText(d + "/mnt/xorg.txt") == nil && readText(d + "/mnt/core.txt") == "core\n")
        _ = try Unmounter().unmount(d + "/mnt", lazy: false, force: false)
        #expect(leftovers([sb, ero], d) == before)
    }

    /// The last image layer of an overlay union deleted: its record goes too (before, it stayed,
    /// each add/del cycle added a stale copy, and umount warned about every one).
    @Test func overlayDelOfTheLastImageLayerDropsItsRecord() async throws {
        let t = TempDir()
        let (d, sb, _) = try await fixture(t)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        makeDir(d + "/lower")
        let before = leftovers([sb], d)
        _ = try Mounter().mount(try mountRequest("\(d)/rw:\(d)/lower=ro", d + "/mnt"))
        var ed = BranchEditor()
        ed.remountOverlay = true
        for _ in 0..<3 {
            _ = try ed.change(.add, target: d + "/mnt", branch: sb, index: nil, dryRun: false)
            #expect(LayerRecords().load(d + "/mnt").map(\.image) == [sb])
            _ = try ed.change(.del, target: d + "/mnt", branch: sb, index: nil, dryRun: false)
            #expect(LayerRecords().load(d + "/mnt").isEmpty)
        }
        let u = try Unmounter().unmount(d + "/mnt", lazy: false, force: false)
        #expect(u.leftLayers.isEmpty, "\(u.leftLayers)")
        #expect(leftovers([sb], d) == before)
    }

    @Test func afterWorkHooksRunOnlyWhenOnlyRootCanChangeThem() async throws {
        let dir = "/run/aufsctl-test-hooks-\(getpid())"
        #expect(mkdir(dir, 0o755) == 0)
        defer { _ = RecursiveRemove.remove(dir) }
        let out = dir + "/out"
        writeFile(dir + "/10-env", "#!/bin/sh\necho \"$AUFSCTL_ACTION $AUFSCTL_UNION $AUFSCTL_IMAGE\" >> \(out)\n")
        writeFile(dir + "/20-fails", "#!/bin/sh\necho broken >&2\nexit 3\n")
        writeFile(dir + "/30-open", "#!/bin/sh\necho ran >> \(out)\n")
        writeFile(dir + "/ldconfig.example", "#!/bin/sh\necho example >> \(out)\n")
        chmod(dir + "/10-env", 0o755)
        chmod(dir + "/20-fails", 0o755)
        chmod(dir + "/30-open", 0o777)
        chmod(dir + "/ldconfig.example", 0o755)
        let layer = LayerMount(
            image: "/img/003.sb", directory: LayerMount.root + "/x", device: "/dev/loop9", type: "squashfs", uuid: nil,
            size: 1, loop: nil)
        let o = await LayerHooks(directory: dir).run(action: "add", union: "/mnt/u", layer: layer)
        #expect(o.map(\.hook) == [dir + "/10-env", dir + "/20-fails", dir + "/30-open"])
        #expect(o[0].succeeded)
        #expect(o[1].status == 3 && o[1].message == "broken")
        #expect(o[2].status == nil && o[2].message?.contains("writable by group or others") == true)
        #expect(readText(out) == "add /mnt/u /img/003.sb\n")
    }
}

@Suite(.serialized, .enabled(if: layersUsable, "needs root, squashfs-tools, erofs-utils, squashfs/erofs/overlay"))
struct ImageBranchHelperPersistTests {
    /// mount.aufs (as mount(8) runs it at boot) attaches an image branch; with no aufs here the
    /// mount fails with ENODEV and every layer is released.
    @Test func mountHelperAttachesImagesAndRollsBackOnENODEV() async throws {
        guard !hostHas.has("aufs") else { return }
        let t = TempDir()
        let d = canonical(t.path)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        makeDir(d + "/rw")
        makeDir(d + "/mnt")
        let sb = try await makeImage(d, type: "squashfs", name: "001-core.sb", files: ["core.txt": "core\n"])
        let before = leftovers([sb], d)
        let bin = Paths.dirname(FileRead.readLink("/proc/self/exe") ?? "") + "/aufsctl-helper"
        symlink(bin, d + "/mount.aufs")
        let fake = try await SubprocessRunner().run(
            [d + "/mount.aufs", "none", d + "/mnt", "-f", "-v", "-o", "br=\(d)/rw=rw:\(sb)"], environment: [:])
        #expect(fake.status == 0, "\(fake.stderr)")
        #expect(fake.stdout.contains(LayerMount.root + "/001-core.sb@"), "\(fake.stdout)")
        let r = try await SubprocessRunner().run(
            [d + "/mount.aufs", "none", d + "/mnt", "-o", "br=\(d)/rw=rw:\(sb)"], environment: [:])
        #expect(r.status != 0)
        #expect(r.stderr.contains("ENODEV"), "\(r.stderr)")
        #expect(leftovers([sb], d) == before)
    }

    @Test func persistWritesTheImageNotItsLayerDirectory() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/rw")
        makeDir(d + "/mnt")
        let sb = try await makeImage(d, type: "squashfs", name: "001-core.sb", files: ["core.txt": "core\n"])
        let r = try await aufsctl(["persist", "--dry-run", "--via", "fstab", "dirs=\(d)/rw:\(sb)", d + "/mnt"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("br=\(d)/rw=rw:\(sb)=rr"), "\(r.stdout)")
        writeFile(d + "/text", "not an image")
        let bad = try await aufsctl(["persist", "--dry-run", "--via", "fstab", "dirs=\(d)/rw:\(d)/text", d + "/mnt"])
        #expect(bad.status == 2 && bad.stderr.contains("finds no filesystem"), "\(bad.stderr)")
    }
}

/// mount.aufs -o remount,add:/append:/del: with an image: the same path as `aufsctl branch add|del`.
@Suite(.serialized, .enabled(if: layersUsable, "needs root, squashfs-tools, erofs-utils, squashfs/erofs/overlay"))
struct ImageBranchHelperRemountTests {
    /// A fixture aufs union (aufs is not in this kernel; recorded syscalls stand in for its
    /// remounts and keep its branch list) with real images: the loop devices and layer mounts are
    /// real, and so are their release after a del and the rollback after a refused remount.
    @Test func remountAddAndDelOfAnImageAttachAndReleaseIt() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        for n in ["rw", "ro1", "mnt", "src"] { makeDir(d + "/" + n) }
        let sb = try await makeImage(d, type: "squashfs", name: "003-apps.sb", files: ["apps.txt": "apps\n"])
        // A Slax bundle carries whiteouts: its default permission is rr+wh.
        let wh = try await makeImage(d, type: "squashfs", name: "004-wh.sb", files: [".wh.gone": "", "x": "x\n"])
        let before = leftovers([sb, wh], d)
        let root = fixtureRoot(t, mounts: [("aufs", "none", d + "/mnt", "rw,si=9,br:\(d)/rw=rw:\(d)/ro1=ro")])
        let sys = LiveFixtureSyscalls(root: root)
        var r = runHelper(["none", d + "/mnt", "-o", "remount,add:1:\(sb),append:\(wh)"], syscalls: sys, root: root)
        #expect(r.code == 0, "\(r.output.stderr)")
        let layers = LayerRecords().load(d + "/mnt")
        #expect(layers.map(\.image) == [sb, wh])
        let dirs = layers.map(\.directory)
        #expect(sys.mounts.map(\.data) == ["add=1:\(dirs[0])=rr", "add=3:\(dirs[1])=rr+wh"])
        #expect(readText(dirs[0] + "/apps.txt") == "apps\n", "the layer is really mounted")
        #expect(!loops(backing: try ImageFile.open(sb)).isEmpty)
        // del: by the image's path; the layer is unmounted and its loop device released.
        r = runHelper(["none", d + "/mnt", "-o", "remount,del:\(sb),del=\(wh)"], syscalls: sys, root: root)
        #expect(r.code == 0, "\(r.output.stderr)")
        #expect(Array(sys.mounts.map(\.data).suffix(2)) == ["del=\(dirs[0])", "del=\(dirs[1])"])
        #expect(leftovers([sb, wh], d) == before)
        #expect(LayerRecords().load(d + "/mnt").isEmpty)
        // The kernel refuses the remount: the image just attached is released again.
        sys.failing = sys.mounts.count + 1
        r = runHelper(["none", d + "/mnt", "-o", "remount,add:1:\(sb)"], syscalls: sys, root: root)
        #expect(r.code == 32)
        #expect(r.output.stderr.contains("EINVAL"), "\(r.output.stderr)")
        #expect(leftovers([sb, wh], d) == before)
        // A later operation fails: the image added before it is deleted and released again.
        r = runHelper(
            ["none", d + "/mnt", "-o", "remount,add:1:\(sb),del:\(d)/not-a-branch"], syscalls: sys, root: root)
        #expect(r.code == 32)
        #expect(r.output.stderr.contains("were undone"), "\(r.output.stderr)")
        #expect(leftovers([sb, wh], d) == before)
        #expect(LayerRecords().load(d + "/mnt").isEmpty)
        // Not an image aufsctl takes: refused by name before anything is bound.
        writeFile(d + "/notes.txt", String(repeating: "text\n", count: 400))
        r = runHelper(["none", d + "/mnt", "-o", "remount,add:1:\(d)/notes.txt"], syscalls: sys, root: root)
        #expect(r.code == 32)
        #expect(r.output.stderr.contains("finds no filesystem"), "\(r.output.stderr)")
        #expect(leftovers([sb, wh], d) == before)
    }

    /// The built helper, as mount(8) runs it, on this host's overlay fallback union: refused with
    /// the way out, nothing attached, the union's own layer untouched.
    @Test func helperBinaryRefusesAnOverlayUnionAndChangesNothing() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer {
            withExtendedLifetime(t) {
                unmountAll(under: d); releaseLayers(backedBy: d)
            }
        }
        for n in ["rw", "mnt"] { makeDir(d + "/" + n) }
        let sb = try await makeImage(d, type: "squashfs", name: "001-core.sb", files: ["core.txt": "core\n"])
        let ero = try await makeImage(d, type: "erofs", name: "002-xorg.erofs", files: ["xorg.txt": "xorg\n"])
        let untouched = leftovers([sb, ero], d)
        var o = AufsOptions()
        o.branches = try AufsOptions.parseBranchList("\(d)/rw:\(sb)")
        _ = try Mounter().mount(MountRequest(options: o, target: d + "/mnt", fallback: .overlay))
        let before = leftovers([ero], d)
        let bin = Paths.dirname(FileRead.readLink("/proc/self/exe") ?? "") + "/aufsctl-helper"
        symlink(bin, d + "/mount.aufs")
        // The other suites mount meanwhile: only this test's mounts and layers are compared.
        let mountsBefore =
            mountPoints(under: d) + mountPoints(under: LayerMount.root).filter { $0.contains("001-core.sb@") }
        for opt in ["remount,add:1:\(ero)", "remount,del:\(sb)", "remount,append:\(ero)"] {
            let r = try await SubprocessRunner().run(
                [d + "/mount.aufs", "none", d + "/mnt", "-o", opt], environment: [:])
            #expect(r.status == 32, "\(opt): \(r.stderr)")
            #expect(r.stderr.contains("overlay fallback union"), "\(r.stderr)")
            #expect(r.stderr.contains("aufsctl branch add|del --remount"), "\(r.stderr)")
        }
        #expect(
            mountPoints(under: d) + mountPoints(under: LayerMount.root).filter { $0.contains("001-core.sb@") }
                == mountsBefore)
        #expect(leftovers([ero], d) == before)
        #expect(readText(d + "/mnt/core.txt") == "core\n")
        // Malformed: named before anything is read; not a union: said so.
        var r = try await SubprocessRunner().run(
            [d + "/mount.aufs", "none", d + "/mnt", "-o", "remount,add:x:\(ero)"], environment: [:])
        #expect(r.status == 32 && r.stderr.contains("expected add:INDEX:BRANCH"), "\(r.stderr)")
        r = try await SubprocessRunner().run(
            [d + "/mount.aufs", "none", d + "/rw", "-o", "remount,add:1:\(ero)"], environment: [:])
        #expect(r.status == 32 && r.stderr.contains("not an aufs mount"), "\(r.stderr)")
        _ = try Unmounter().unmount(d + "/mnt", lazy: false, force: false)
        #expect(leftovers([sb, ero], d) == untouched)
    }
}

final class Counter: @unchecked Sendable {
    var counts: [String: Int] = [:]
    func next(_ k: String) -> Int {
        counts[k, default: 0] += 1
        return counts[k]!
    }
}

struct LayerRecordTests {
    @Test func recordsRoundTripOddNames() throws {
        let t = TempDir()
        let r = LayerRecords(directory: canonical(t.path) + "/unions")
        var l = LayerMount(
            image: "/img/a\tb\\c\n.sb", directory: "/run/aufsctl/layers/a_b@1-2", device: "/dev/loop3",
            type: "squashfs", uuid: nil, size: 4096, loop: "LOOP_CONFIGURE, direct I/O")
        l.copiedFrom = "/home/u/a.sb"
        try r.save("/mnt/x", [l])
        #expect(r.load("/mnt/x") == [l])
        #expect(r.load("/mnt/y").isEmpty)
        try r.save("/mnt/x", [])
        #expect(r.load("/mnt/x").isEmpty)
    }

    @Test func whiteoutAuditFindsWhatWouldHideTheLayer() {
        let t = TempDir()
        let d = canonical(t.path)
        for p in ["layer", "layer/usr", "layer/usr/bin", "layer/etc", "rw", "rw/usr", "rw/usr/bin", "rw/etc"] {
            makeDir(d + "/" + p)
        }
        writeFile(d + "/layer/usr/bin/app", "1")
        writeFile(d + "/layer/etc/app.conf", "1")
        writeFile(d + "/rw/usr/bin/.wh.app", "")
        writeFile(d + "/rw/etc/.wh..wh..opq", "")
        writeFile(d + "/rw/.wh.other", "")
        let f = WhiteoutAudit.find(layer: d + "/layer", branches: [d + "/rw"])
        #expect(Set(f.map(\.hides)) == ["usr/bin/app", "etc/*"])
        #expect(f.contains { $0.path == d + "/rw/usr/bin/.wh.app" })
    }
}

/// The parts that need no mount: argument resolution, persist's specs, the hooks' rule.
struct ImageBranchUnitTests {
    let layers = [
        LayerMount(
            image: "/m/001-core.sb", directory: "/run/aufsctl/layers/001-core.sb@1-2", device: "/dev/loop3",
            type: "squashfs", uuid: nil, size: 1, loop: nil),
        {
            var l = LayerMount(
                image: "/var/lib/aufsctl/images/u.sb@1-2-3-4", directory: "/run/aufsctl/layers/u.sb@5-6",
                device: "/dev/loop4", type: "squashfs", uuid: nil, size: 1, loop: nil)
            l.copiedFrom = "/home/u/u.sb"
            return l
        }(),
    ]

    @Test func delNamesALayerByImageCopyDirectoryOrIndex() {
        let existing = ["/w/rw", layers[0].directory, layers[1].directory]
        func named(_ a: String, cwd: String = "/nonexistent-cwd") -> String? {
            BranchEditor.layer(named: a, in: layers, existing: existing, cwd: cwd)?.directory
        }
        #expect(named("/m/001-core.sb") == layers[0].directory)
        #expect(named("001-core.sb", cwd: "/m") == layers[0].directory)
        #expect(named("/home/u/u.sb") == layers[1].directory)
        #expect(named(layers[1].image) == layers[1].directory)
        #expect(named(layers[0].directory) == layers[0].directory)
        #expect(named("2") == layers[1].directory)
        #expect(named("0") == nil, "branch 0 is a directory, not a layer")
        #expect(named("7") == nil)
        #expect(named("/m/other.sb") == nil)
    }

    @Test func persistTakesImagesWithRrAndKeepsTheDirectoriesDefaults() async throws {
        guard hasMksquashfs else { return }
        let t = TempDir()
        let d = canonical(t.path)
        makeDir(d + "/rw")
        makeDir(d + "/ro")
        let sb = try await makeImage(d, type: "squashfs", name: "001.sb", files: ["a": "1\n"])
        var specs = try ImageBranches.persistSpecs(
            [
                RawBranch(path: d + "/rw", permission: nil), RawBranch(path: sb, permission: nil),
                RawBranch(path: d + "/ro", permission: nil),
            ], readOnlyMount: false)
        #expect(specs.map(\.description) == ["\(d)/rw=rw", "\(sb)=rr", "\(d)/ro=ro"])
        specs = try ImageBranches.persistSpecs(
            [RawBranch(path: sb, permission: "rr+wh"), RawBranch(path: d + "/ro", permission: nil)],
            readOnlyMount: false)
        #expect(specs.map(\.description) == ["\(sb)=rr+wh", "\(d)/ro=ro"])
        let e = #expect(throws: AufsError.self) {
            try ImageBranches.persistSpecs([RawBranch(path: sb, permission: "rw")], readOnlyMount: false)
        }
        #expect(e?.message.contains("read-only") == true)
        // A live union's layer directory is persisted as its image.
        let l = LayerMount(
            image: sb, directory: "/run/aufsctl/layers/x", device: "/dev/loop1", type: "squashfs", uuid: nil, size: 1,
            loop: nil)
        let b = ImageBranches.persisted(
            BranchSpec(path: "/run/aufsctl/layers/x", permission: BranchPermission(base: .rr)), layers: [l])
        #expect(b.description == "\(sb)=rr")
    }

    @Test func hooksInADirectoryOthersCanWriteAreNotRun() {
        let t = TempDir()
        let d = canonical(t.path)
        writeFile(d + "/10-x", "#!/bin/sh\n")
        chmod(d + "/10-x", 0o755)
        // The temporary directory sits in /tmp, which every user can write.
        #expect(LayerHooks.unsafeReason(d + "/10-x")?.contains("writable by group or others") == true)
        writeFile(d + "/20-y", "#!/bin/sh\n")
        #expect(LayerHooks.unsafeReason(d + "/20-y") == "not executable")
        #expect(LayerHooks(directory: d).hooks() == [d + "/10-x", d + "/20-y"])
    }
}
