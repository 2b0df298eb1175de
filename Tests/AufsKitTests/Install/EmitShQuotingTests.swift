// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit

/// --emit-sh: shell metacharacters in every value a plan interpolates reach the commands as the
/// words they are, and never run: the scripts run against stub commands that log their argv.
@Suite struct EmitShQuotingTests {
    /// `$(...)`, backquotes, quotes, `;` and a backslash: each would run `touch PWNED...` if evaluated.
    static func payload(_ n: Int) -> String { "a$(touch PWNED\(n))`touch PWNED\(n)b`'q\"\\;x" }

    /// Writes executable sh stubs into DIR/bin; each logs `NAME ARGS` (one argument per line) to DIR/calls.
    func stubs(_ t: TempDir, _ scripts: [String: String]) {
        for (name, body) in scripts {
            t.write(
                "bin/" + name,
                "#!/bin/sh\n{ echo \"== \(name)\"; for a; do printf '%s\\n' \"$a\"; done; } >> \"\(t.path)/calls\"\n"
                    + body + "\n")
            chmod(t.path + "/bin/" + name, 0o755)
        }
    }

    func run(_ script: String, in t: TempDir, root: String) async throws -> CommandResult {
        t.write("plan.sh", script)
        return try await SubprocessRunner().run([
            "env", "-i", "PATH=\(t.path)/bin:/usr/bin:/bin", "ROOT=" + root, "sh", "-c",
            "cd \(ShellScript.quote(t.path)) && sh ./plan.sh",
        ])
    }

    func pwned(_ t: TempDir, _ root: String) async throws -> String {
        let r = try await SubprocessRunner().run(["find", t.path, root, "-name", "PWNED*"])
        return r.stdout
    }

    @Test func kernelMLAufs() async throws {
        let t = TempDir()
        let root = copyFixture("centos7")
        let kver = "5.13.1-1.el7.x86_64"
        stubs(
            t,
            [
                "uname": "echo x86_64",
                "yum":
                    "[ \"$3\" = kernel-ml-aufs ] && { mkdir -p \"$ROOT/var/lib/fake\"; : > \"$ROOT/var/lib/fake/k\"; "
                    + ": > \"$ROOT/boot/vmlinuz-\(kver)\"; echo CONFIG_AUFS_FS=y > \"$ROOT/boot/config-\(kver)\"; }; exit 0",
                "yum-config-manager":
                    "printf '[kernel-ml-aufs]\\nbaseurl=https://x.invalid\\ngpgcheck=0\\n' > \"$ROOT/etc/yum.repos.d/k.repo\"",
                "rpm": "[ -e \"$ROOT/var/lib/fake/k\" ] || exit 1; echo \(kver)",
                "grub2-mkconfig": "echo vmlinuz-\(kver) > \"$2\"",
                "grubby": "[ \"$1\" = --set-default ] && printf '%s' \"$2\" > \"$ROOT/var/lib/fake/default\"; "
                    + "cat \"$ROOT/var/lib/fake/default\" 2>/dev/null; echo",
            ])
        var o = InstallOptions()
        o.method = .kernelMLAufs
        o.repoURL = "https://x.invalid/" + Self.payload(1) + ".repo"
        o.gpgKey = "https://k.invalid/" + Self.payload(2)
        o.grubDefault = Self.payload(3)
        let facts = try await HostProbe(root: HostRoot(root.path), runner: ScriptedRunner()).probe()
        let plan = try KernelMLAufsMethod.plan(facts, options: o, root: HostRoot(root.path))
        let r = try await run(ShellScript.render(plan, facts: facts), in: t, root: root.path)
        #expect(r.succeeded, "\(r.stdout)\(r.stderr)")
        #expect(try await pwned(t, root.path) == "")
        let calls = FileRead.string(t.path + "/calls") ?? ""
        #expect(calls.contains("== yum-config-manager\n--add-repo=\(o.repoURL)\n"), "\(calls)")
        let grub = FileRead.string(root.path + "/etc/default/grub") ?? ""
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: grub)?.value == o.grubDefault, "\(grub)")
        let repo = FileRead.string(root.path + "/etc/yum.repos.d/k.repo") ?? ""
        #expect(repo.contains("gpgkey=\(o.gpgKey!)\n"), "\(repo)")
    }

    @Test func dkmsClone() async throws {
        let t = TempDir()
        let root = copyFixture("debian12")
        let kver = DKMSPlanTests.kver
        stubs(
            t,
            [
                "dpkg-query": "printf 'install ok installed'",
                "git": "case \"$1\" in clone) for a; do d=$a; done; mkdir -p \"$d\"; "
                    + "cp -a \(ShellScript.quote(packageRoot() + "/Kernel/standin"))/. \"$d/\";; esac",
                "dkms": "exit 0",
                "apt-get": "exit 1",
                "chown": "exit 0",
            ])
        mkdir(root.path + "/lib/modules/\(kver)/build", 0o755)
        var o = InstallOptions()
        o.method = .dkms
        o.kernel = KernelRelease(kver)
        o.skipExportCheck = true
        o.source = .repository(url: "https://h.invalid/" + Self.payload(4))
        o.sourceRef = .branch("b" + Self.payload(5))
        let facts = try await HostProbe(root: HostRoot(root.path), runner: ScriptedRunner()).probe(kernel: o.kernel)
        let plan = try DKMSMethod.plan(facts, options: o, root: HostRoot(root.path))
        let r = try await run(ShellScript.render(plan, facts: facts), in: t, root: root.path)
        #expect(r.succeeded, "\(r.stdout)\(r.stderr)")
        #expect(try await pwned(t, root.path) == "")
        let calls = FileRead.string(t.path + "/calls") ?? ""
        #expect(
            calls.contains(
                "== git\nclone\n--depth\n1\n--no-recurse-submodules\n--branch\nb\(Self.payload(5))\n"
                    + "https://h.invalid/\(Self.payload(4))\n"), "\(calls)")
        #expect(calls.contains("== dkms\ninstall\naufs/0.0-standin\n-k\n\(kver)\n"), "\(calls)")
    }

    /// The export preflight names a branch with no export list in its refusal: as a word, not code.
    @Test func exportRefusalNamesTheBranch() async throws {
        let t = TempDir()
        let root = copyFixture("debian12")
        stubs(t, ["dpkg-query": "printf 'install ok installed'", "apt-get": "exit 1"])
        mkdir(root.path + "/lib/modules/\(DKMSPlanTests.kver)/build", 0o755)
        var o = InstallOptions()
        o.method = .dkms
        o.kernel = KernelRelease(DKMSPlanTests.kver)
        o.sourceRef = .branch("b" + Self.payload(6))
        let facts = try await HostProbe(root: HostRoot(root.path), runner: ScriptedRunner()).probe(kernel: o.kernel)
        let plan = try DKMSMethod.plan(facts, options: o, root: HostRoot(root.path))
        let r = try await run(ShellScript.render(plan, facts: facts), in: t, root: root.path)
        #expect(r.status == 4, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("no export list for b\(Self.payload(6))"), "\(r.stderr)")
        #expect(try await pwned(t, root.path) == "")
    }
}
