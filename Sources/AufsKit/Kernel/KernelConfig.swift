/// Kernel build configuration (`/boot/config-KVER` or `/proc/config.gz`).
public struct KernelConfig: Sendable, Equatable {
    public var values: [String: String]

    public static func parse(_ text: String) -> KernelConfig {
        var v: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
                let name = line.dropFirst(2).prefix { $0 != " " }
                v[String(name)] = "n"
            } else if line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") {
                v[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
        }
        return KernelConfig(values: v)
    }

    public subscript(_ key: String) -> String? { values[key] }
}
