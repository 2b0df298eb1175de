// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// Shell completion of live targets: the bash script `--generate-completion-script` makes, loaded
/// into a real bash, completes `aufsctl umount <TAB>` with a union mounted now.
@Suite struct CompletionTests {
    /// COMPREPLY of bash for WORDS (the last one being completed), with the generated script.
    func bashCompletions(_ words: [String], script: String) async throws -> [String] {
        let quoted = words.map { ShellQuote.quote($0) }.joined(separator: " ")
        let line = words.joined(separator: " ")
        let program = """
            . \(ShellQuote.quote(script))
            COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1)
            COMP_LINE=\(ShellQuote.quote(line)); COMP_POINT=${#COMP_LINE}
            _aufsctl \(ShellQuote.quote(words[0])) \(ShellQuote.quote(words.last!)) \(ShellQuote.quote(words[words.count - 2]))
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let r = try await SubprocessRunner().run(["bash", "-c", program], environment: [:])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    func script(_ t: TempDir, shell: String) async throws -> String {
        let r = try await SubprocessRunner().run(
            [aufsctlBinary(), "--generate-completion-script", shell], environment: [:])
        t.write("completion." + shell, r.stdout)
        return t.path + "/completion." + shell
    }

    @Test func valuesOfPlinkHelperAndPersistViaAndDirectoriesForRoot() async throws {
        let t = TempDir()
        let bash = try await script(t, shell: "bash")
        let bin = aufsctlBinary()
        #expect(try await bashCompletions([bin, "plink", ""], script: bash) == ["list", "flush"])
        #expect(try await bashCompletions([bin, "helper", "re"], script: bash) == ["remove"])
        #expect(try await bashCompletions([bin, "persist", "--via", ""], script: bash) == ["systemd", "fstab"])
        t.mkdirs(t.path + "/roots/debian12")
        let roots = try await bashCompletions([bin, "check", "--root", t.path + "/roots/de"], script: bash)
        #expect(roots == [t.path + "/roots/debian12"], "\(roots)")
        // convert's UNION: a branch directory (or a live union's mount point).
        let branches = try await bashCompletions([bin, "convert", t.path + "/roots/de"], script: bash)
        #expect(branches == [t.path + "/roots/debian12/"], "\(branches)")
        // zsh and fish ask the binary the same way.
        for shell in ["zsh", "fish"] {
            let text = FileRead.string(try await script(t, shell: shell)) ?? ""
            #expect(text.contains("---completion umount -- positional@0"), "\(shell)")
            #expect(text.contains("---completion persist -- positional@0"), "\(shell)")
        }
    }

    @Test(.enabled(if: isRoot, "needs root: mounts a union to complete"))
    func umountStatusAndPlinkCompleteTheLiveUnions() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        defer { withExtendedLifetime(t) { unmountAll(under: d) } }
        for n in ["rw", "ro", "mnt"] { makeDir(d + "/" + n) }
        let m = try await aufsctl(["mount", "--fallback", "overlay", "dirs=\(d)/rw:\(d)/ro=ro", d + "/mnt"])
        try #require(m.status == 0, "\(m.stderr)")
        let bash = try await script(t, shell: "bash")
        let bin = aufsctlBinary()
        #expect(try await bashCompletions([bin, "umount", ""], script: bash).contains(d + "/mnt"))
        #expect(try await bashCompletions([bin, "umount", d + "/m"], script: bash) == [d + "/mnt"])
        #expect(try await bashCompletions([bin, "status", d], script: bash) == [d + "/mnt"])
        #expect(try await bashCompletions([bin, "plink", "list", d], script: bash) == [d + "/mnt"])
        #expect(try await bashCompletions([bin, "branch", "add", d], script: bash) == [d + "/mnt"])
        #expect(try await bashCompletions([bin, "umount", "/nonexistent/"], script: bash).isEmpty)
        #expect(try await bashCompletions([bin, "convert", d + "/m"], script: bash) == [d + "/mnt", d + "/mnt/"])
        #expect(try await bashCompletions([bin, "convert", d + "/r"], script: bash) == [d + "/ro/", d + "/rw/"])
        let u = try await aufsctl(["umount", d + "/mnt"])
        #expect(u.status == 0)
        #expect(!(try await bashCompletions([bin, "umount", d], script: bash).contains(d + "/mnt")))
    }
}
