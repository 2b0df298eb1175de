// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// One error a module build printed: a compiler diagnostic with its file and line, or modpost's.
public struct BuildError: Sendable, Codable, Equatable {
    /// The source file relative to the aufs tree (`fs/aufs/vfsub.c`); nil for modpost and make.
    public var file: String?
    public var line: Int?
    /// What went wrong: `too many arguments to function 'vfs_rename'`, `"d_walk" [aufs.ko] undefined!`.
    public var message: String
    /// The line as the build printed it, the tree's scratch path left out.
    public var text: String
}

/// Reads a module build's output (make, the compiler, modpost) for its first errors.
public enum BuildLog {
    /// The first `limit` distinct errors: `FILE:LINE[:COL]: [fatal ]error: ...` from the compiler,
    /// `ERROR: modpost: ...`; only when there is neither, make's own `*** ... Error N` line. `tree`
    /// (the directory the build ran in) is cut from paths, so `fs/aufs/vfsub.c` names the file.
    public static func errors(_ output: String, tree: String, limit: Int = 5) -> [BuildError] {
        var found: [BuildError] = []
        var makeLine: BuildError?
        for raw in output.split(separator: "\n") {
            let line = String(raw).replacingAll(tree.hasSuffix("/") ? tree : tree + "/", with: "")
            guard let e = compilerError(line) ?? modpostError(line) else {
                // A tool that could not run (a missing library or program) says more than make's line.
                let tool = toolWords.contains { line.contains($0) }
                if makeLine == nil || (tool && makeLine?.file != "tool"),
                    tool || (line.contains("*** ") && line.hasPrefix("make"))
                {
                    makeLine = BuildError(file: tool ? "tool" : nil, line: nil, message: line, text: line)
                }
                continue
            }
            if !found.contains(where: { $0.text == e.text }) { found.append(e) }
            if found.count == limit { break }
        }
        if found.isEmpty, var makeLine {
            makeLine.file = nil
            found.append(makeLine)
        }
        return found
    }

    /// What a build step that could not run prints (the kernel's objtool without libelf, a compiler
    /// the headers name but the host lacks).
    static let toolWords = [
        "error while loading shared libraries", ": not found", "No such file or directory", "No rule to make target",
    ]

    /// `fs/aufs/vfsub.c:420:8: error: too many arguments to function 'vfs_rename'`.
    static func compilerError(_ line: String) -> BuildError? {
        guard let r = line.firstRange(of: ": error: ") ?? line.firstRange(of: ": fatal error: ") else { return nil }
        let place = line[..<r.lowerBound].split(separator: ":", omittingEmptySubsequences: false)
        guard let file = place.first, !file.isEmpty, !file.contains(" ") else { return nil }
        let message = String(line[r.upperBound...])
        let n = place.count > 1 ? Int(place[1]) : nil
        let shown = "\(file)" + (n.map { ":\($0)" } ?? "") + ": error: " + message
        return BuildError(file: String(file), line: n, message: message, text: shown)
    }

    /// `ERROR: modpost: "d_walk" [/tmp/.../fs/aufs/aufs.ko] undefined!`.
    static func modpostError(_ line: String) -> BuildError? {
        guard let r = line.firstRange(of: "ERROR: modpost: ") else { return nil }
        let message = String(line[r.upperBound...])
        return BuildError(file: nil, line: nil, message: message, text: "modpost: " + message)
    }
}

extension String {
    /// Every occurrence of `a` replaced by `b`.
    func replacingAll(_ a: String, with b: String) -> String {
        a.isEmpty ? self : split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
