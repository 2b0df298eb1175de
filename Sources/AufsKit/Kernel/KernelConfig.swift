/// Kernel build configuration (`/boot/config-KVER` or `/proc/config.gz`).
public struct KernelConfig: Sendable, Equatable {
    public var values: [String: String]

    /// Parses `CONFIG_X=v` and `# CONFIG_X is not set` (as `n`). With `only`, keeps just those keys:
    /// a distro config has ~8000 lines and `check` wants two of them. Scans bytes, not Characters.
    public static func parse(_ text: String, only: Set<String>? = nil) -> KernelConfig {
        var v: [String: String] = [:]
        let notSet = Array(" is not set".utf8)
        for line in text.utf8.split(separator: 10) {
            var l = line[...]
            var isNotSet = false
            if l.starts(with: "# CONFIG_".utf8) {
                guard l.count > notSet.count, l.suffix(notSet.count).elementsEqual(notSet) else { continue }
                l = l.dropFirst(2).dropLast(notSet.count)
                isNotSet = true
            } else if !l.starts(with: "CONFIG_".utf8) {
                continue
            }
            let eq = isNotSet ? l.endIndex : (l.firstIndex(of: UInt8(ascii: "=")) ?? l.endIndex)
            if !isNotSet && eq == l.endIndex { continue }
            let key = String(decoding: l[..<eq], as: UTF8.self)
            if let only, !only.contains(key) { continue }
            v[key] = isNotSet ? "n" : String(decoding: l[l.index(after: eq)...], as: UTF8.self)
        }
        return KernelConfig(values: v)
    }

    public subscript(_ key: String) -> String? { values[key] }
}
