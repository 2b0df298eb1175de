// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// `/proc/filesystems`: one registered filesystem type per line, `nodev` marking virtual ones.
public struct ProcFilesystems: Sendable, Equatable {
    public var types: [String]

    public static func parse(_ text: String) -> ProcFilesystems {
        var types: [String] = []
        for line in text.utf8.split(separator: UInt8(ascii: "\n")) {  // bytes: Characters cost 5x here
            let words = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            guard let last = words.last else { continue }
            if words.count == 1 || (words.count == 2 && words[0].elementsEqual("nodev".utf8)) {
                types.append(String(decoding: last, as: UTF8.self))
            }
        }
        return ProcFilesystems(types: types)
    }

    public func has(_ type: String) -> Bool { types.contains(type) }

    /// The line a user would see from `grep -w TYPE /proc/filesystems`.
    public func evidenceLine(_ type: String, in text: String) -> String? {
        let t = Array(type.utf8)
        for line in text.utf8.split(separator: UInt8(ascii: "\n")) {
            let last = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }).last
            if let last, last.elementsEqual(t) { return String(decoding: line, as: UTF8.self).replacingTabs }
        }
        return nil
    }
}

extension String {
    var replacingTabs: String { String(map { $0 == "\t" ? " " : $0 }) }
}
