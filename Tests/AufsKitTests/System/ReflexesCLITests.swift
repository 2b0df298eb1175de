// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// The spellings people bring from mount(8), umount(8) and apt, and the habits of clig.dev: a typo's
/// closest subcommand, an example in every help, colour only where it is wanted.
@Suite struct ReflexesCLITests {
    static let subcommands = [
        "check", "load", "install", "uninstall", "mount", "umount", "status", "branch", "plink", "persist", "helper",
        "convert",
    ]

    @Test(arguments: [("instal", "install"), ("mout", "mount"), ("statsu", "status"), ("unmount", "umount")])
    func aTypoNamesTheClosestSubcommand(_ typo: String, _ meant: String) async throws {
        let r = try await aufsctl([typo])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown subcommand '\(typo)'. Did you mean '\(meant)'?"), "\(r.stderr)")
    }

    @Test func aWordCloseToNothingGetsNoSuggestion() async throws {
        let r = try await aufsctl(["xyzzyq"])
        #expect(r.status == 2)
        #expect(!r.stderr.contains("Did you mean"), "\(r.stderr)")
    }

    @Test func editDistance() {
        #expect(Suggestion.editDistance("instal", "install") == 1)
        #expect(Suggestion.editDistance("", "mount") == 5)
        #expect(Suggestion.editDistance("mount", "mount") == 0)
        #expect(Suggestion.editDistance("statsu", "status") == 2)
    }

    @Test(arguments: subcommands)
    func everyHelpShowsAnExampleAndTheExitStatus(_ sub: String) async throws {
        let r = try await aufsctl([sub, "--help"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let examples = try #require(lines.firstIndex(of: "Examples:"), "\(sub) --help has no Examples:")
        #expect(lines[examples + 1].contains("aufsctl \(sub)") || lines[examples + 2].contains("aufsctl \(sub)"))
        let exits = try #require(lines.firstIndex(of: "Exit status:"), "\(sub) --help has no Exit status:")
        #expect(lines[exits + 1].hasPrefix("  0  "))
    }

    @Test func checkQuietPrintsNothingAndKeepsTheExitCode() async throws {
        let root = packageRoot() + "/Tests/Fixtures/roots/debian12"
        let loud = try await aufsctl(["check", "--root", root])
        let quiet = try await aufsctl(["check", "-q", "--root", root])
        let quietJSON = try await aufsctl(["check", "--quiet", "--json", "--root", root])
        #expect(loud.status != 0 && loud.stdout.contains("verdict"))
        #expect(quiet.status == loud.status && quiet.stdout.isEmpty && quiet.stderr.isEmpty)
        #expect(quietJSON.status == loud.status && quietJSON.stdout.isEmpty)
    }

    @Test func mountFakeIsTheDryRunAndNAndVAreAccepted() async throws {
        let t = TempDir()
        let d = canonical(t.path)
        for n in ["rw", "ro", "mnt"] { makeDir(d + "/" + n) }
        let args = ["dirs=\(d)/rw:\(d)/ro=ro", d + "/mnt"]
        let dry = try await aufsctl(["mount", "--dry-run"] + args)
        try #require(dry.status == 0, "\(dry.stderr)")
        for spelling in [["-f"], ["--fake"], ["-f", "-n"], ["-fn"]] {
            let r = try await aufsctl(["mount"] + spelling + args)
            #expect(r.status == 0 && r.stdout == dry.stdout, "\(spelling): \(r.stderr)")
        }
        let verbose = try await aufsctl(["mount", "-fv"] + args)
        #expect(verbose.status == 0)
        #expect(verbose.stdout.contains("branch 0: \(d)/rw=rw on ") && verbose.stdout.contains("branch 1: \(d)/ro=ro"))
        #expect(verbose.stdout.contains("dry run: these calls would be made"))
    }

    @Test func installYesAndUmountLazyAreSpelledAsAptAndUmountSpellThem() async throws {
        let root = packageRoot() + "/Tests/Fixtures/roots/debian12"
        let install = try await aufsctl(["install", "-y", "--dry-run", "--root", root])
        #expect(!install.stderr.contains("Unknown option"), "\(install.stderr)")
        let uninstall = try await aufsctl(["uninstall", "-y", "--dry-run", "--root", root])
        #expect(!uninstall.stderr.contains("Unknown option"), "\(uninstall.stderr)")
        for flags in [["-l"], ["-f"], ["-lfv"], ["-n"]] {
            let r = try await aufsctl(["umount"] + flags + ["/nonexistent/mnt"])
            #expect(!r.stderr.contains("Unknown option") && r.status != 0, "\(flags): \(r.stderr)")
        }
    }

    @Test func colourIsWantedOnATerminalUnlessNoColorIsSetOrTermIsDumb() {
        #expect(TextStyle.wanted(noColor: nil, term: "xterm", isTerminal: true))
        #expect(TextStyle.wanted(noColor: "", term: "xterm", isTerminal: true), "an empty NO_COLOR is unset")
        #expect(!TextStyle.wanted(noColor: "1", term: "xterm", isTerminal: true))
        #expect(!TextStyle.wanted(noColor: nil, term: "dumb", isTerminal: true))
        #expect(!TextStyle.wanted(noColor: nil, term: "xterm", isTerminal: false))
    }

    /// The real binary on a pseudo-terminal (script(1)): colour with an empty NO_COLOR, none with
    /// TERM=dumb or a non-empty NO_COLOR.
    @Test func colourOnARealTerminal() async throws {
        let root = packageRoot() + "/Tests/Fixtures/roots/debian12"
        func onTTY(_ env: [String: String]) async throws -> String {
            let command = ([aufsctlBinary(), "check", "--root", root]).map { ShellQuote.quote($0) }.joined(
                separator: " ")
            let r = try await SubprocessRunner().run(
                ["env", "-i"] + env.map { "\($0.key)=\($0.value)" } + ["script", "-qec", command, "/dev/null"],
                environment: [:])
            return r.stdout
        }
        #expect(try await onTTY(["TERM": "xterm", "NO_COLOR": ""]).contains("\u{1B}["))
        #expect(try await onTTY(["TERM": "xterm"]).contains("\u{1B}["))
        #expect(!(try await onTTY(["TERM": "xterm", "NO_COLOR": "1"]).contains("\u{1B}[")))
        #expect(!(try await onTTY(["TERM": "dumb"]).contains("\u{1B}[")))
    }
}

@Suite(.enabled(if: isRoot, "needs root: mounts a tmpfs to unmount"))
struct UmountForceCLITests {
    /// `--force` is umount(8)'s MNT_FORCE now: it no longer overrides the "not a union" refusal,
    /// and says which flag does.
    @Test func forceNoLongerOverridesTheRefusalAnyFilesystemDoes() async throws {
        let t = TempDir()
        let mnt = canonical(t.path) + "/mnt"
        makeDir(mnt)
        defer { withExtendedLifetime(t) { unmountAll(under: mnt) } }
        try #require(Glibc.mount("tmpfs", mnt, "tmpfs", 0, nil) == 0)
        let forced = try await aufsctl(["umount", "--force", mnt])
        #expect(forced.status == 2)
        #expect(
            forced.stderr.contains("add --any-filesystem") && forced.stderr.contains("MNT_FORCE"), "\(forced.stderr)")
        #expect(isMountPoint(mnt))
        let any = try await aufsctl(["umount", "--any-filesystem", "-v", mnt])
        #expect(any.status == 0, "\(any.stderr)")
        #expect(any.stdout.contains("unmounted tmpfs from \(mnt) after 1 attempt"))
        #expect(!isMountPoint(mnt))
    }
}
