// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CKmod
import Glibc

/// What libkmod knows about one module in a kernel's module tree.
public struct ModuleInfo: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        case builtin, live, coming, going, notLoaded = "not-loaded", unknown
    }
    public var name: String
    /// nil for a builtin module.
    public var path: String?
    public var builtin: Bool
    public var state: State
    public var vermagic: String?
    public var signer: String?
    public var blacklistedBy: [String]
    /// libkmod's `sig_id` (`PKCS#7`), nil when the file carries no signature.
    public var signatureID: String? = nil
    /// libkmod's `sig_key`: the signing certificate's serial number for a PKCS#7 signature.
    public var signatureKey: String? = nil
    public var signatureHash: String? = nil
}

/// libkmod behind a small Swift type. Not thread safe (libkmod is not): one per call site.
public final class ModuleIndex {
    public let root: HostRoot
    public let kernel: String
    public let moduleDir: String
    private let ctx: OpaquePointer

    /// Opens the module index of `kernel` under `root` (`/lib/modules/KVER`), with modprobe
    /// configuration read from the same root.
    public init(root: HostRoot, kernel: String) throws {
        self.root = root
        self.kernel = kernel
        let moduleDir = root.resolve("/lib/modules/\(kernel)")
        self.moduleDir = moduleDir
        let configs = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"].map(
            root.resolve)
        let cstrings = configs.map { strdup($0) } + [nil]
        defer { cstrings.forEach { free($0) } }
        let made: OpaquePointer? = cstrings.withUnsafeBufferPointer { buf in
            let ptrs = buf.map { UnsafePointer<CChar>($0) }
            return ptrs.withUnsafeBufferPointer { kmod_new(moduleDir, $0.baseAddress) }
        }
        guard let made else { throw AufsError("libkmod could not open \(moduleDir)") }
        ctx = made
        // A failure here is not fatal: lookups still read the index files one by one.
        _ = kmod_load_resources(ctx)
    }

    deinit { kmod_unref(ctx) }

    /// Looks a module up by name or alias; nil when the tree does not have it.
    public func lookup(_ name: String) -> ModuleInfo? {
        var list: OpaquePointer? = nil
        guard kmod_module_new_from_lookup(ctx, name, &list) >= 0, let list else { return nil }
        defer { kmod_module_unref_list(list) }
        guard let mod = kmod_module_get_module(list) else { return nil }
        defer { kmod_module_unref(mod) }
        let modName = String(cString: kmod_module_get_name(mod))
        let path = kmod_module_get_path(mod).map { String(cString: $0) }
        var vermagic: String?
        var signer: String?
        var sig: (id: String?, key: String?, hash: String?) = (nil, nil, nil)
        var info: OpaquePointer? = nil
        if path != nil, kmod_module_get_info(mod, &info) >= 0, let info {
            var e: OpaquePointer? = info
            while let cur = e {
                let key = String(cString: kmod_module_info_get_key(cur))
                let value = kmod_module_info_get_value(cur).map { String(cString: $0) }
                if key == "vermagic" { vermagic = value?.trimmingBlanks }
                switch key {
                case "signer": signer = value?.isEmpty == false ? value : nil
                case "sig_id": sig.id = value
                case "sig_key": sig.key = value
                case "sig_hashalgo": sig.hash = value
                default: break
                }
                e = kmod_list_next(info, cur)
            }
            kmod_module_info_free_list(info)
        }
        let builtin = path == nil
        return ModuleInfo(
            name: modName, path: path, builtin: builtin,
            state: state(of: mod, name: modName, builtin: builtin),
            vermagic: vermagic, signer: signer,
            blacklistedBy: blacklistEntries(modName), signatureID: sig.id, signatureKey: sig.key,
            signatureHash: sig.hash)
    }

    private func state(of mod: OpaquePointer, name: String, builtin: Bool) -> ModuleInfo.State {
        if root.isHost {
            let s = kmod_module_get_initstate(mod)
            switch s {
            case Int32(KMOD_MODULE_BUILTIN.rawValue): return .builtin
            case Int32(KMOD_MODULE_LIVE.rawValue): return .live
            case Int32(KMOD_MODULE_COMING.rawValue): return .coming
            case Int32(KMOD_MODULE_GOING.rawValue): return .going
            case -ENOENT: return builtin ? .builtin : .notLoaded
            default: return .unknown
            }
        }
        // libkmod reads /sys/module of the running host; for another root, read the root's copy.
        let dir = root.resolve("/sys/module/\(name)")
        if let s = FileRead.string(dir + "/initstate")?.trimmingBlanks {
            return ModuleInfo.State(rawValue: s) ?? .unknown
        }
        if FileRead.isDirectory(dir) || builtin { return .builtin }
        return .notLoaded
    }

    /// `blacklist NAME` lines in the modprobe configuration, as `file:line`.
    public func blacklistEntries(_ name: String) -> [String] {
        var hits: [String] = []
        for dir in ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"] {
            let real = root.resolve(dir)
            for file in FileRead.list(real) ?? [] where file.hasSuffix(".conf") {
                guard let text = FileRead.string(real + "/" + file) else { continue }
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    if w.count >= 2, w[0] == "blacklist", w[1] == Substring(name) {
                        hits.append("\(dir)/\(file):\(n + 1)")
                    }
                }
            }
        }
        return hits
    }

    public enum LoadOutcome: Sendable, Equatable {
        case inserted
        case alreadyLoaded
        case builtin
        case blacklisted([String])
        case notFound
        /// -errno from the kernel's init_module (ENOENT: unknown symbol, see the kernel log).
        case failed(SysErrno)
    }

    /// `modprobe NAME` through libkmod: dependencies first, blacklist honoured, `options` appended
    /// to what modprobe.d sets.
    public func load(_ name: String, options: String?) -> LoadOutcome {
        var list: OpaquePointer? = nil
        guard kmod_module_new_from_lookup(ctx, name, &list) >= 0, let list else { return .notFound }
        defer { kmod_module_unref_list(list) }
        guard let mod = kmod_module_get_module(list) else { return .notFound }
        defer { kmod_module_unref(mod) }
        let modName = String(cString: kmod_module_get_name(mod))
        if kmod_module_get_path(mod) == nil { return .builtin }
        switch state(of: mod, name: modName, builtin: false) {
        case .live, .coming: return .alreadyLoaded
        case .builtin: return .builtin
        default: break
        }
        let flags = Int32(KMOD_PROBE_APPLY_BLACKLIST.rawValue)
        let rc = kmod_module_probe_insert_module(mod, UInt32(flags), options, nil, nil, nil)
        if rc == 0 { return .inserted }
        if rc > 0 { return .blacklisted(blacklistEntries(modName)) }
        if rc == -EEXIST { return .alreadyLoaded }
        return .failed(SysErrno(-rc))
    }
}
