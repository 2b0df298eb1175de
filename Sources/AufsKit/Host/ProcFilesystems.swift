/// `/proc/filesystems`: one registered filesystem type per line, `nodev` marking virtual ones.
public struct ProcFilesystems: Sendable, Equatable {
    public var types: [String]

    public static func parse(_ text: String) -> ProcFilesystems {
        var types: [String] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let last = words.last else { continue }
            if words.count == 1 || (words.count == 2 && words[0] == "nodev") { types.append(String(last)) }
        }
        return ProcFilesystems(types: types)
    }

    public func has(_ type: String) -> Bool { types.contains(type) }

    /// The line a user would see from `grep -w TYPE /proc/filesystems`.
    public func evidenceLine(_ type: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).last == Substring(type) }
            .map { String($0).replacingTabs }
    }
}

extension String {
    var replacingTabs: String { String(map { $0 == "\t" ? " " : $0 }) }
}
