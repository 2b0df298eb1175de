// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Glibc

/// The kernel's key lists: /proc/keys (what root may view: every key and keyring with its
/// description) and keyctl(KEYCTL_READ) (which keys a keyring links). Tests answer both.
public protocol KernelKeyrings: Sendable {
    func procKeys() -> FileRead.Outcome
    /// The serials a keyring links directly (keys and nested keyrings).
    func members(of keyring: Int32) -> Result<[Int32], SysErrno>
}

/// The running kernel's keyrings: /proc/keys under the root (a root tree's copy says nothing about
/// the running kernel's links, so keyctl answers only for the host).
public struct LinuxKeyrings: KernelKeyrings {
    public var root: HostRoot
    public init(root: HostRoot) { self.root = root }

    public func procKeys() -> FileRead.Outcome { FileRead.text(root.resolve("/proc/keys")) }

    public func members(of keyring: Int32) -> Result<[Int32], SysErrno> {
        guard root.isHost else { return .failure(SysErrno(ENOSYS)) }
        var buf = [Int32](repeating: 0, count: 256)
        while true {
            let n = buf.withUnsafeMutableBytes { aufsctl_keyctl_read(keyring, $0.baseAddress, UInt($0.count)) }
            if n < 0 { return .failure(SysErrno(errno)) }
            let count = Int(n) / 4
            if count <= buf.count { return .success(Array(buf.prefix(count))) }
            buf = [Int32](repeating: 0, count: count)
        }
    }
}

/// One line of /proc/keys.
public struct ProcKey: Sendable, Equatable {
    public var id: Int32
    /// `%-9.9s`: `asymmetri` for asymmetric, `keyring`.
    public var type: String
    /// The description and the type's summary (`NAME: SKID: X509.rsa 1a2b3c4d []`, `.platform: 1`).
    public var text: String

    public var isKeyring: Bool { type == "keyring" }
    public var isAsymmetric: Bool { type.hasPrefix("asymmetri") }
    /// A keyring's name (its text up to `: N` / `: empty`).
    public var keyringName: String {
        guard let i = text.lastIndex(of: ":") else { return text }
        return String(text[..<i])
    }

    /// `0f5d1c3a I------     1 perm 1f030000     0     0 asymmetri Debian ...: X509.rsa ... []`
    public static func parse(_ text: String) -> [ProcKey] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", maxSplits: 8, omittingEmptySubsequences: true)
            guard f.count == 9, let id = UInt32(f[0], radix: 16) else { return nil }
            return ProcKey(id: Int32(bitPattern: id), type: String(f[7]), text: String(f[8].drop { $0 == " " }))
        }
    }
}

/// Which of the kernel's trusted keyrings hold a key, found by the key's description.
public struct KeyringTrust: Sendable, Equatable, Codable {
    /// The named keyrings (`.builtin_trusted_keys`, `.secondary_trusted_keys`, `.machine`,
    /// `.platform`) that hold the key, directly or through a keyring they link.
    public var keyrings: [String]
    /// The /proc/keys line of the key.
    public var entry: String?

    /// Keyrings whose keys verify modules: .builtin_trusted_keys and .secondary_trusted_keys, which
    /// links .machine (MOK keys, CONFIG_INTEGRITY_MACHINE_KEYRING).
    public static let moduleKeyrings = [".builtin_trusted_keys", ".secondary_trusted_keys", ".machine"]
    public static let named = [".builtin_trusted_keys", ".secondary_trusted_keys", ".machine", ".platform"]

    /// Whether module signatures by this key verify. `.platform` (the firmware's db) verifies modules
    /// only on kernels patched for it ("KEYS: Make use of platform keyring for module signature
    /// verify"): Debian's do (a db-signed stand-in loaded under Secure Boot, Tests/secureboot), so
    /// `platformVerifiesModules` is true for Debian kernels and nil (unknown) for others.
    public func trustedForModules(platformVerifiesModules: Bool?) -> Bool? {
        if keyrings.contains(where: { Self.moduleKeyrings.contains($0) }) { return true }
        if keyrings.contains(".platform") { return platformVerifiesModules }
        return false
    }
}

public enum KeyringLookup {
    public enum Answer: Sendable, Equatable {
        case found(KeyringTrust)
        /// The keyrings could not be read (not root, no /proc/keys, keyctl refused).
        case unknown(String)
    }

    /// The key whose /proc/keys description is `description` (`NAME: SKID`), or failing that whose
    /// description carries `: SKID:`; then the named keyrings that link it.
    public static func find(description: String, keyID: String?, in rings: any KernelKeyrings) -> Answer {
        let keys: [ProcKey]
        switch rings.procKeys() {
        case .ok(let text): keys = ProcKey.parse(text)
        case .missing: return .unknown("/proc/keys is missing (CONFIG_KEYS off or /proc not mounted)")
        case .denied: return .unknown("/proc/keys: permission denied")
        case .failed(let why): return .unknown("/proc/keys: \(why)")
        }
        let trusted = keys.filter { $0.isKeyring && KeyringTrust.named.contains($0.keyringName) }
        guard !trusted.isEmpty else {
            return .unknown("/proc/keys lists none of the kernel's trusted keyrings (they are listed to root only)")
        }
        let match = keys.first { k in
            k.isAsymmetric
                && (k.text.hasPrefix(description + ":") || k.text == description
                    || keyID.map { k.text.contains(": \($0):") } == true)
        }
        guard let match else {
            return .found(KeyringTrust(keyrings: [], entry: nil))
        }
        var holders: [String] = []
        for ring in trusted {
            switch reachable(from: ring.id, rings: rings, keyringIDs: Set(keys.filter(\.isKeyring).map(\.id))) {
            case .success(let ids): if ids.contains(match.id) { holders.append(ring.keyringName) }
            case .failure(let e):
                return .unknown(
                    "keyctl read of \(ring.keyringName) (\(String(UInt32(bitPattern: ring.id), radix: 16))): \(e)")
            }
        }
        return .found(KeyringTrust(keyrings: holders, entry: "\(match.type) \(match.text)"))
    }

    /// Every serial a keyring links, through nested keyrings (the secondary keyring links the
    /// builtin one and .machine).
    static func reachable(
        from id: Int32, rings: any KernelKeyrings, keyringIDs: Set<Int32>
    ) -> Result<Set<Int32>, SysErrno> {
        var seen: Set<Int32> = [id]
        var todo = [id]
        var out = Set<Int32>()
        while let next = todo.popLast() {
            switch rings.members(of: next) {
            case .success(let m):
                for s in m {
                    out.insert(s)
                    if keyringIDs.contains(s), seen.insert(s).inserted { todo.append(s) }
                }
            case .failure(let e):
                if next == id { return .failure(e) }
            }
        }
        return .success(out)
    }

    /// The asymmetric keys of the named trusted keyrings whose name (the description before its
    /// last `: SKID`) is `name`: how a module's signer, known by name only, is looked for.
    public static func keys(named name: String, in rings: any KernelKeyrings) -> [String]? {
        guard case .ok(let text) = rings.procKeys() else { return nil }
        return ProcKey.parse(text).filter { $0.isAsymmetric && $0.text.hasPrefix(name + ": ") }.map(\.text)
    }
}
