// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// libkmod and libblkid are loaded with dlopen at first use (Sources/CLibLoad), and libmount not at
/// all (MountTable parses mountinfo itself): what each
/// command maps, as the loader reports it (LD_DEBUG=files), and the message when a library is broken.
@Suite struct LibLoadCLITests {
    /// The libraries the loader opened for `args`, from LD_DEBUG=files on stderr.
    static func loaded(_ args: [String]) async throws -> (libraries: Set<String>, result: CommandResult) {
        let r = try await aufsctl(args, env: ["LD_DEBUG": "files"])
        var libs = Set<String>()
        for line in r.stderr.split(separator: "\n") {
            guard let f = line.firstRange(of: "file=") else { continue }
            let name = line[f.upperBound...].prefix { $0 != " " }
            if name.hasPrefix("lib") { libs.insert(String(name)) }
        }
        return (libs, r)
    }

    @Test func versionLoadsNeitherLibkmodNorWhatItPullsIn() async throws {
        let (libs, r) = try await Self.loaded(["--version"])
        #expect(r.status == 0 && r.stdout.contains("running with: glibc"))
        #expect(libs.contains("libblkid.so.1") && !libs.contains("libmount.so.1"), "\(libs.sorted())")
        #expect(!libs.contains { $0.hasPrefix("libkmod") || $0.hasPrefix("libcrypto") || $0.hasPrefix("liblzma") })
    }

    /// The mount table is read without libmount (and what it pulls in: libblkid, libselinux, pcre2).
    @Test func statusAndUmountLoadNoLibkmodNorLibmount() async throws {
        for args in [["status", "--json"], ["umount", "/nonexistent/aufsctl-test-target"]] {
            let (libs, _) = try await Self.loaded(args)
            #expect(
                !libs.contains { $0.hasPrefix("libkmod") || $0.hasPrefix("libcrypto") || $0.hasPrefix("libmount") },
                "\(args): \(libs.sorted())")
        }
    }

    /// A fixture root with a module tree: check asks libkmod, so libkmod is loaded then.
    @Test func checkOfAModuleTreeLoadsLibkmod() async throws {
        let root = packageRoot() + "/Tests/Fixtures/roots/debian12"
        let (libs, r) = try await Self.loaded(["check", "--root", root])
        #expect(r.status == 4)
        #expect(libs.contains("libkmod.so.2"), "\(libs.sorted())")
    }

    /// A libkmod the loader cannot use (found first through LD_LIBRARY_PATH): one line naming the
    /// library, the reason and the package, exit 1; `--version` still works without it.
    @Test func brokenLibkmodIsOneLineAndExitOne() async throws {
        let d = TempDir()
        d.write("libkmod.so.2", "not an ELF file, long enough to be read as a header.....................")
        let root = packageRoot() + "/Tests/Fixtures/roots/debian12"
        let r = try await aufsctl(["check", "--root", root], env: ["LD_LIBRARY_PATH": d.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(r.stderr.contains("aufsctl: cannot load libkmod.so.2 (\(d.path)/libkmod.so.2: invalid ELF header)"))
        #expect(r.stderr.contains("install libkmod2"))
        let v = try await aufsctl(["--version"], env: ["LD_LIBRARY_PATH": d.path])
        #expect(v.status == 0)
    }
}
