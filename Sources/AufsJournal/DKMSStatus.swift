// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem

/// One line of `dkms status`: `aufs/V, KVER, ARCH: installed` (dkms >= 2.8.6) or
/// `aufs, V, KVER, ARCH: installed` (older).
public struct DKMSStatusEntry: Sendable, Equatable, Codable {
    public var module: String
    public var version: String
    public var kernel: String?
    public var arch: String?
    public var state: String
    /// Anything after the state, such as `(original_module exists)` or a WARNING.
    public var note: String?

    public init(module: String, version: String, kernel: String?, arch: String?, state: String, note: String?) {
        self.module = module
        self.version = version
        self.kernel = kernel
        self.arch = arch
        self.state = state
        self.note = note
    }

    public static func parse(_ text: String) -> [DKMSStatusEntry] {
        text.split(separator: "\n").compactMap { parseLine(String($0)) }
    }

    public static func parseLine(_ line: String) -> DKMSStatusEntry? {
        // Module, version, kernel and arch hold no colon; the first one ends the head.
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let stateAndNote = line[line.index(after: colon)...].trimmingBlanks
        let stateWord = stateAndNote.prefix { $0 != " " && $0 != "(" }
        let note = stateAndNote.dropFirst(stateWord.count).trimmingBlanks
        var fields = line[..<colon].split(separator: ",").map { $0.trimmingBlanks }
        guard !fields.isEmpty, !stateWord.isEmpty else { return nil }
        var module = fields.removeFirst()
        let version: String
        if let slash = module.firstIndex(of: "/") {
            version = String(module[module.index(after: slash)...])
            module = String(module[..<slash])
        } else {
            guard !fields.isEmpty else { return nil }
            version = fields.removeFirst()
        }
        guard !module.isEmpty, !version.isEmpty, !module.contains(" ") else { return nil }
        return DKMSStatusEntry(
            module: module, version: version,
            kernel: fields.count > 0 ? fields[0] : nil,
            arch: fields.count > 1 ? fields[1] : nil,
            state: String(stateWord), note: note.isEmpty ? nil : note)
    }
}
