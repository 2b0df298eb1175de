// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// `branch add|del --remount` on an overlay union: overlayfs cannot change the layers of a mounted
/// union, so it is unmounted (when nothing holds it) and mounted again with the new stack; the
/// image layers it keeps stay mounted meanwhile. A failed mount of the new stack mounts the old
/// one again.
struct OverlayRestack {
    var editor: BranchEditor

    func change(
        _ action: BranchEditor.Action, union m: UnionMount, branch: String, index: Int?, dryRun: Bool
    ) throws -> BranchEditor.Change {
        let t = m.target
        let old = m.branches.map { b -> RawBranch in
            let path = String(b.prefix { $0 != "=" })
            return RawBranch(path: path, permission: b.count > path.count ? String(b.dropFirst(path.count + 1)) : nil)
        }
        var stack = old
        let records = editor.layerRecords.load(t)
        let raw = try AufsOptions.parseBranchList(branch)
        guard raw.count == 1 else {
            throw AufsError.usage("branch \(action.rawValue): give one PATH[=PERM], not a list")
        }
        let validator = BranchValidator(syscalls: editor.syscalls)
        var result = BranchEditor.Change(call: nil, layer: nil, target: t)
        let held = AttachedLayers()
        var removed: LayerMount?
        do {
            switch action {
            case .add:
                let (branch, at) = try added(
                    raw[0], to: old, t: t, validator: validator, held: held, dryRun: dryRun,
                    index: index, result: &result)
                stack.insert(branch, at: at)
            case .del:
                let (i, layer) = try deleted(raw[0], from: old, t: t, records: records, validator: validator)
                stack.remove(at: i)
                removed = layer
                result.layer = layer
            case .mod:
                throw AufsError.usage("branch mod: overlayfs layers have no permissions to change")
            }
            let holders = BusyHolders().holders(of: t)
            if !holders.isEmpty {
                throw AufsError.usage(
                    "\(t) is an overlay union and must be unmounted to change its layers, but it is in use: "
                        + BusyHolders.sentence(holders, target: t) + "; nothing was changed")
            }
            result.notes.append(
                (dryRun ? "would unmount \(t) and mount it again" : "unmounted \(t) and mounted it again")
                    + " with \(stack.count) layers (overlayfs cannot change the layers of a mounted union)")
            if dryRun { return result }
            var u = Unmounter(syscalls: editor.syscalls, root: editor.root)
            u.keepLayers = true
            // A persistent holder was refused above; EBUSY now is a transient one (a file of the union
            // open in a child between fork and exec), retried as `aufsctl umount` retries it.
            _ = try u.unmount(t, lazy: false, force: false)
        } catch {
            held.releaseAll()
            throw error
        }
        let kept = records.filter { $0.directory != removed?.directory }
        do {
            _ = try mount(stack, target: t, layers: kept + held.layers, options: m.options)
        } catch let e as AufsError {
            // The union is put back as it was.
            var back = e
            do {
                _ = try mount(old, target: t, layers: records, options: m.options)
                back.details.append("the union was mounted again with its old layers")
            } catch {
                back.details.append("the union could not be mounted again with its old layers: \(error)")
            }
            held.releaseAll()
            throw back
        }
        if let removed {
            switch LayerMount.release(directory: removed.directory, device: removed.device) {
            case .success: result.notes.append("released image layer \(removed.directory) (\(removed.device))")
            case .failure(let e):
                try? editor.layerRecords.save(t, kept + held.layers + [removed])
                result.warnings.append("image layer \(removed.directory) stays mounted: \(e)")
            }
        }
        return result
    }

    /// A new layer and its place: an image attached (right under the upper layer unless --index),
    /// or a directory (at the bottom unless --index).
    func added(
        _ r: RawBranch, to old: [RawBranch], t: String, validator: BranchValidator, held: AttachedLayers, dryRun: Bool,
        index: Int?, result: inout BranchEditor.Change
    ) throws -> (RawBranch, Int) {
        var raw = [r]
        let isImage = ImageBranches.isImage(raw[0].path, cwd: validator.cwd)
        let at =
            index
            ?? (isImage
                ? (old.firstIndex { $0.permission?.hasPrefix("rw") == true }.map { $0 + 1 } ?? 0)
                : old.count)
        guard at >= 0 && at <= old.count else {
            throw AufsError.usage("--index \(at): \(t) has \(old.count) branches; expected 0...\(old.count)")
        }
        if at == 0 && old.first?.permission?.hasPrefix("rw") == true {
            throw AufsError.usage(
                "--index 0: overlay's upper (rw) layer stays on top; a new layer goes at 1 or below")
        }
        if isImage {
            let (b, layer) = try ImageBranches.attachOne(
                raw[0].path.hasPrefix("/") ? raw[0].path : Paths.join(validator.cwd, raw[0].path),
                permission: raw[0].permission, options: editor.images, dryRun: dryRun)
            raw[0] = b
            if let layer {
                held.append(layer)
                result.layer = layer
            }
        } else {
            raw[0].path = try validator.canonicalDirectory(raw[0].path, what: "branch")
            if old.map(\.path).contains(raw[0].path) {
                throw AufsError.usage("\(raw[0].path) is already a layer of \(t)")
            }
            if raw[0].permission == nil { raw[0].permission = "ro" }
        }
        return (raw[0], at)
    }

    /// The layer a `del` names (an image, its layer directory, an index or a path) and its record.
    func deleted(
        _ r: RawBranch, from old: [RawBranch], t: String, records: [LayerMount], validator: BranchValidator
    ) throws -> (Int, LayerMount?) {
        let raw = [r]
        let existing = old.map(\.path)
        var removed: LayerMount?
        var path: String
        if let l = BranchEditor.layer(named: raw[0].path, in: records, existing: existing, cwd: validator.cwd) {
            path = l.directory
            removed = l
        } else if let i = Int(raw[0].path), !FileRead.exists(Paths.join(validator.cwd, raw[0].path)) {
            guard i >= 0 && i < existing.count else {
                throw AufsError.usage(
                    "branch \(i): \(t) has \(existing.count) layers (0...\(existing.count - 1))")
            }
            path = existing[i]
        } else {
            path =
                raw[0].path.hasPrefix("/")
                ? Paths.normalize(raw[0].path) : Paths.join(validator.cwd, raw[0].path)
            if !existing.contains(path), let c = try? validator.canonicalDirectory(raw[0].path, what: "branch") {
                path = c
            }
        }
        guard let i = existing.firstIndex(of: path) else {
            throw AufsError.usage(
                "\(path) is not a layer of \(t) (layers: \(existing.joined(separator: ", ")))")
        }
        if old[i].permission?.hasPrefix("rw") == true {
            throw AufsError.usage(
                "\(path) is the overlay's upper (rw) layer; it cannot be deleted, only unmounted")
        }
        if old.filter({ $0.permission?.hasPrefix("rw") != true }).count == 1 {
            throw AufsError.usage("\(path) is the only lower layer of \(t); unmount instead")
        }
        return (i, removed ?? records.first { $0.directory == path })
    }

    func mount(_ stack: [RawBranch], target: String, layers: [LayerMount], options: String) throws -> MountReport {
        var opts = AufsOptions()
        opts.branches = stack
        opts.readOnly = options.split(separator: ",").first == "ro"
        var mounter = Mounter(syscalls: editor.syscalls, root: editor.root)
        mounter.inheritedLayers = layers
        mounter.layerRecords = editor.layerRecords
        return try mounter.mount(MountRequest(options: opts, target: target, fallback: .overlay))
    }
}
