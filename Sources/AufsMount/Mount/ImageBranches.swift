// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// How image branches are taken: `--allow-fs`, `--copy`, and (tests only) an injected failure.
public struct ImageOptions: Sendable {
    public var allowFS: [String] = []
    public var copy = false
    public var directIO = true
    /// Test-only: returns true for the step at which a failure is injected (rollback tests; the
    /// CLI sets it from AUFSCTL_TEST_FAIL_AT). Steps: image-opened, loop-bound, layer-mounted,
    /// recorded, union-mounted.
    public var fault: (@Sendable (String) -> Bool)? = nil

    public init(allowFS: [String] = [], copy: Bool = false) {
        self.allowFS = allowFS
        self.copy = copy
    }

    public func check(_ step: String) throws {
        if fault?(step) == true { throw AufsError("injected failure at step \(step) (test-only)") }
    }
}

/// The image layers aufsctl mounted for one union, kept in root's runtime directory
/// (/run/aufsctl/unions/NAME.layers, 0600) so that `umount` releases them, `status` names them and
/// `branch del` finds a layer by its image. One line per layer, fields tab-separated and escaped.
public struct LayerRecords: Sendable {
    public var directory: String
    public init(directory: String = RuntimeDir.path + "/unions") { self.directory = directory }
    public init(root: HostRoot) { directory = root.resolve(RuntimeDir.path + "/unions", keepingLast: 2) }

    func file(_ target: String) -> String { Paths.join(directory, Mounter.runtimeName(target, suffix: ".layers")) }

    /// The layers recorded for the union at `target`, top first; none when there is no record.
    public func load(_ target: String) -> [LayerMount] {
        let p = file(target)
        var st = stat()
        guard lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(),
            let text = FileRead.string(p)
        else { return [] }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.first == "aufsctl.layers/1\t" + Self.escape(target) else { return [] }
        return lines.dropFirst().compactMap(Self.decode)
    }

    /// Writes the record (atomically); an empty list removes it.
    public func save(_ target: String, _ layers: [LayerMount]) throws {
        if layers.isEmpty { return remove(target) }
        try RuntimeDir.ensurePrivate(directory, what: "the image layer records")
        let text =
            (["aufsctl.layers/1\t" + Self.escape(target)] + layers.map(Self.encode)).joined(separator: "\n") + "\n"
        try AtomicFile.write(file(target), text, mode: 0o600)
    }

    public func remove(_ target: String) { unlink(file(target)) }

    static func encode(_ l: LayerMount) -> String {
        [l.image, l.directory, l.device, l.type, l.uuid ?? "", String(l.size), l.loop ?? "", l.copiedFrom ?? ""]
            .map(escape).joined(separator: "\t")
    }

    static func decode(_ line: String) -> LayerMount? {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { unescape(String($0)) }
        guard f.count == 8, let size = UInt64(f[5]) else { return nil }
        var l = LayerMount(
            image: f[0], directory: f[1], device: f[2], type: f[3], uuid: f[4].isEmpty ? nil : f[4], size: size,
            loop: f[6].isEmpty ? nil : f[6])
        l.copiedFrom = f[7].isEmpty ? nil : f[7]
        return l
    }

    static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "\\": o += "\\\\"
            case "\t": o += "\\t"
            case "\n": o += "\\n"
            default: o.append(c)
            }
        }
        return o
    }

    static func unescape(_ s: String) -> String {
        var o = ""
        var esc = false
        for c in s {
            if esc {
                o.append(c == "t" ? "\t" : c == "n" ? "\n" : c)
                esc = false
            } else if c == "\\" {
                esc = true
            } else {
                o.append(c)
            }
        }
        return o
    }
}

/// Image layers attached during one command, released together when a later step fails.
public final class AttachedLayers: @unchecked Sendable {
    public private(set) var layers: [LayerMount] = []
    public init() {}

    func append(_ l: LayerMount) { layers.append(l) }

    /// Unmounts every layer attached (newest first) and waits for its loop device to unbind;
    /// returns what could not be released, one sentence each.
    @discardableResult
    public func releaseAll() -> [String] {
        var left: [String] = []
        for l in layers.reversed() {
            if case .failure(let e) = LayerMount.release(directory: l.directory, device: l.device) {
                left.append("layer \(l.directory) (image \(l.image)) was not released: \(e)")
            }
        }
        layers = []
        return left
    }
}

/// Image files (and block devices) given where a branch directory is expected.
public enum ImageBranches {
    /// Whether `path` (relative to `cwd`) names an image rather than a directory.
    public static func isImage(_ path: String, cwd: String? = nil) -> Bool {
        let abs = path.hasPrefix("/") ? path : Paths.join(cwd ?? Paths.absolute("."), path)
        return ImageFile.looksLikeImage(abs)
    }

    /// Replaces each image branch in `raw` by its layer's mount directory (attached into `held`);
    /// directories pass through. With `dryRun` the images are opened and probed only, and the
    /// directory each would get stands in for it.
    public static func attach(
        _ raw: [RawBranch], options: ImageOptions, dryRun: Bool, held: AttachedLayers, cwd: String? = nil
    ) throws -> [RawBranch] {
        var out: [RawBranch] = []
        for r in raw {
            guard isImage(r.path, cwd: cwd) else {
                out.append(r)
                continue
            }
            let abs = r.path.hasPrefix("/") ? r.path : Paths.join(cwd ?? Paths.absolute("."), r.path)
            let (branch, layer) = try attachOne(abs, permission: r.permission, options: options, dryRun: dryRun)
            if let layer { held.append(layer) }
            out.append(branch)
        }
        return out
    }

    /// One image: opened once, checked, probed, bound to a read-only loop device and mounted under
    /// /run/aufsctl/layers. Its branch permission is the one given, else `rr`, or `rr+wh` when the
    /// image carries aufs whiteouts (as Slax bundles do).
    public static func attachOne(
        _ path: String, permission: String?, options: ImageOptions, dryRun: Bool
    ) throws -> (RawBranch, LayerMount?) {
        let given = try ImageFile.open(path)
        try options.check("image-opened")
        var image = given
        var copiedFrom: String?
        if let why = given.writableByOthers() {
            guard options.copy else {
                throw AufsError.usage(
                    "image \(given.path): \(why); root will not mount a filesystem another user can change while it "
                        + "is live: make it root's and not writable by others, or add --copy to mount a private copy")
            }
            if !dryRun {
                image = try ImageCopy.copy(given)
                copiedFrom = given.path
            }
        }
        if dryRun {
            let sig = try ImageProbe.probe(image)
            if let why = ImageProbe.refusal(sig, path: image.path, allowed: options.allowFS) {
                throw AufsError.usage(why)
            }
            return (
                RawBranch(
                    path: LayerMount.root + "/" + LayerMount.directoryName(for: image), permission: permission ?? "rr"),
                nil
            )
        }
        var layer = try LayerMount.mount(
            image, allowFS: options.allowFS, mountTable: MountTable.read("/proc/self/mountinfo"),
            directIO: options.directIO, afterLoop: { try options.check("loop-bound") })
        layer.copiedFrom = copiedFrom
        do { try options.check("layer-mounted") } catch {
            _ = LayerMount.release(directory: layer.directory, device: layer.device)
            throw error
        }
        var perm = permission
        if perm == nil {
            perm = MountFacts.countWhiteouts([layer.directory], limit: 10_000).count > 0 ? "rr+wh" : "rr"
        }
        return (RawBranch(path: layer.directory, permission: perm), layer)
    }
}

/// Whiteouts in the branches above a new layer that would hide what the layer provides: a
/// `.wh.NAME` beside where the layer has NAME, or a `.wh..wh..opq` in a directory the layer has.
public enum WhiteoutAudit {
    public struct Finding: Sendable, Equatable {
        /// The whiteout's path in its branch.
        public var path: String
        /// The branch it is in.
        public var branch: String
        /// What it hides, relative to the union's root.
        public var hides: String
    }

    /// Walks the layer (at most `limit` directories) and looks for whiteouts of each entry in
    /// `branches` (the branch directories above it).
    public static func find(layer: String, branches: [String], limit: Int = 100_000) -> [Finding] {
        var out: [Finding] = []
        var stack = [""]
        var visited = 0
        while let rel = stack.popLast(), visited < limit {
            visited += 1
            guard let names = FileRead.list(rel.isEmpty ? layer : layer + "/" + rel) else { continue }
            for b in branches {
                let d = rel.isEmpty ? b : b + "/" + rel
                if !rel.isEmpty && FileRead.exists(d + "/.wh..wh..opq") {
                    out.append(Finding(path: d + "/.wh..wh..opq", branch: b, hides: rel + "/*"))
                }
            }
            for name in names.sorted() where !name.hasPrefix(".wh.") {
                let r = rel.isEmpty ? name : rel + "/" + name
                for b in branches {
                    let wh = (rel.isEmpty ? b : b + "/" + rel) + "/.wh." + name
                    var st = stat()
                    if lstat(wh, &st) == 0 { out.append(Finding(path: wh, branch: b, hides: r)) }
                }
                var st = stat()
                if lstat(layer + "/" + r, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR { stack.append(r) }
            }
        }
        return out
    }
}

/// One branch of a union that is an image layer, as `status` shows it.
/// An image layer's branch in JSON, the `image` of its branch (aufsctl.mount/2, aufsctl.status/2):
/// the image file, and how it is mounted; a key not known (a dry run mounts nothing) is left out.
public struct BranchImageEntry: Sendable, Codable, Equatable {
    /// The image file (or block device) as given.
    public var file: String
    /// With --copy: root's private copy the layer was mounted from.
    public var copy: String?
    public var type: String?
    /// The loop device (or the block device itself).
    public var device: String?
    public var size: UInt64?
    public var uuid: String?
    /// How the loop device was bound (LOOP_CONFIGURE / LOOP_SET_FD, direct I/O), where mount saw it.
    public var loop: String?

    public init(file: String) { self.file = file }

    public init(_ l: LayerMount) {
        file = l.copiedFrom ?? l.image
        copy = l.copiedFrom == nil ? nil : l.image
        type = l.type
        device = l.device
        size = l.size
        uuid = l.uuid
        loop = l.loop
    }

    public init(_ b: BranchImage) {
        file = b.image
        copy = b.copy
        type = b.type
        device = b.device
        size = b.size
        uuid = b.uuid
    }
}

public struct BranchImage: Sendable, Codable, Equatable {
    /// The branch's index (0 = top).
    public var index: Int
    /// The branch directory (where the image is mounted).
    public var branch: String
    /// The image file (or block device) as given.
    public var image: String
    /// With --copy: root's private copy the layer was mounted from.
    public var copy: String?
    public var type: String
    /// The loop device (or the block device itself).
    public var device: String
    public var size: UInt64
    public var uuid: String?

    /// The image branches of `union`, from its layer record.
    public static func of(_ union: UnionMount, records: LayerRecords) -> [BranchImage] {
        let layers = records.load(union.target)
        if layers.isEmpty { return [] }
        return union.branches.enumerated().compactMap { i, b in
            let path = String(b.prefix { $0 != "=" })
            guard let l = layers.first(where: { $0.directory == path }) else { return nil }
            return BranchImage(
                index: i, branch: path, image: l.copiedFrom ?? l.image, copy: l.copiedFrom == nil ? nil : l.image,
                type: l.type, device: l.device, size: l.size, uuid: l.uuid)
        }
    }
}

extension BranchImage {
    /// From the `image` of a status/2 branch at `index`.
    init(index: Int, branch: String, _ e: BranchImageEntry) {
        self.init(
            index: index, branch: branch, image: e.file, copy: e.copy, type: e.type ?? "", device: e.device ?? "",
            size: e.size ?? 0, uuid: e.uuid)
    }
}

extension ImageBranches {
    /// An image branch for `persist`: checked as a mount would check it (opened once, only root
    /// can write it, libblkid's type accepted), nothing mounted; at boot mount.aufs attaches it.
    /// The permission is the one given, else `rr`.
    public static func persistable(
        _ path: String, permission: String?, allowFS: [String] = [], cwd: String? = nil
    ) throws -> BranchSpec {
        let abs = path.hasPrefix("/") ? path : Paths.join(cwd ?? Paths.absolute("."), path)
        let image = try ImageFile.open(abs)
        if let why = image.writableByOthers() {
            throw AufsError.usage(
                "image \(image.path): \(why); a union mounted at boot takes only images no other user can change "
                    + "(mount it once with --copy and persist the live union: its root-only copy is persisted)")
        }
        let sig = try ImageProbe.probe(image)
        if let why = ImageProbe.refusal(sig, path: image.path, allowed: allowFS) { throw AufsError.usage(why) }
        var perm = BranchPermission(base: .rr)
        if let p = permission {
            switch BranchPermission.parse(p) {
            case .success(let v): perm = v
            case .failure(let why): throw AufsError.usage("image \(image.path): \(why)")
            }
        }
        if perm.writable { throw AufsError.usage("image \(image.path): an image layer is read-only (rr or ro)") }
        return BranchSpec(path: FileRead.realPath(image.path) ?? image.path, permission: perm)
    }

    /// Branch specs for `persist`: images checked by `persistable`, directories by the validator
    /// (a first branch that is an image leaves the directories' default ro).
    public static func persistSpecs(_ raw: [RawBranch], readOnlyMount: Bool) throws -> [BranchSpec] {
        var dirs = raw.filter { !isImage($0.path) }
        if let first = raw.first, isImage(first.path), !dirs.isEmpty, dirs[0].permission == nil {
            dirs[0].permission = "ro"
        }
        var validated = try dirs.isEmpty ? [] : BranchValidator().validate(dirs, readOnlyMount: readOnlyMount)
        return try raw.map { r in
            isImage(r.path) ? try persistable(r.path, permission: r.permission) : BranchSpec(validated.removeFirst())
        }
    }

    /// A live union's branch as persisted: an image layer's image (its root-only copy when it was
    /// copied), a directory as listed.
    public static func persisted(_ b: BranchSpec, layers: [LayerMount]) -> BranchSpec {
        guard let l = layers.first(where: { $0.directory == b.path }) else { return b }
        return BranchSpec(path: l.image, permission: b.permission)
    }
}
