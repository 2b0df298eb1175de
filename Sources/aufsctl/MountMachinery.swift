// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct HelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helper",
        abstract: "Install, remove or show /usr/sbin/mount.aufs and /usr/sbin/umount.aufs (links to aufsctl-helper).",
        discussion: """
            mount(8), mount -a, /etc/fstab and systemd .mount units run /sbin/mount.aufs for -t aufs (/sbin is \
            /usr/sbin on a merged-/usr host). The links go to aufsctl-helper, installed beside aufsctl (or in \
            ../libexec/aufsctl), a small binary that is only the helper and starts faster; without it, to \
            aufsctl, which is the helper too when started under those names. A foreign helper (aufs-tools') is \
            replaced only with --force and comes back with `helper remove` or `uninstall`. The Debian package \
            ships the links itself. See mount.aufs(8).

            Examples:
              aufsctl helper status
              aufsctl helper install
              aufsctl helper remove

            Exit status:
              0  done (status: shown)
              1  not root, or a link could not be made
              2  a foreign helper is there (--force moves it aside), or an unknown action
            """)

    @Argument(help: "install, remove or status.", completion: .list(["install", "remove", "status"])) var action: String
    @Flag(help: "install: replace a foreign mount.aufs/umount.aufs (moved aside).") var force = false
    @Option(
        help: ArgumentHelp(
            "install: the binary to link to (default: aufsctl-helper beside this aufsctl or in "
                + "../libexec/aufsctl, else this aufsctl).",
            valueName: "PATH"),
        completion: .file())
    var binary: String?
    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
        let links = HelperLinks(root: root)
        switch action {
        case "status":
            for n in HelperLinks.names { print("\(HelperLinks.path(n)): \(links.state(n))") }
        case "install":
            guard geteuid() == 0 else {
                throw AufsError("helper install writes \(HelperLinks.directory) and needs root; run it with sudo")
            }
            try links.install(binary: binary ?? HelperLinks.helperBinary(for: HelperLinks.selfBinary()), force: force)
            // util-linux looks for helpers in /sbin alone; only a merged /usr makes that /usr/sbin.
            var sbin = stat()
            var usrSbin = stat()
            if stat(root.resolve("/sbin"), &sbin) == 0, stat(root.resolve(HelperLinks.directory), &usrSbin) == 0,
                sbin.st_dev != usrSbin.st_dev || sbin.st_ino != usrSbin.st_ino
            {
                Terminal.error(
                    "aufsctl: warning: /sbin is not \(HelperLinks.directory) on this host (/usr is not merged), and "
                        + "mount(8) looks for helpers in /sbin only: merge /usr (the usrmerge package), or link "
                        + "/sbin/mount.aufs and /sbin/umount.aufs to \(HelperLinks.directory)'s")
            }
        case "remove":
            guard geteuid() == 0 else {
                throw AufsError("helper remove writes \(HelperLinks.directory) and needs root; run it with sudo")
            }
            try await links.remove()
        default:
            throw AufsError.usage("helper \(action): expected install, remove or status")
        }
    }
}

struct PlinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plink",
        abstract: "List or flush an aufs union's pseudo-links (what aufs-util's auplink does).",
        discussion: """
            A hard-linked file copied up through one name stays linked to its other names through a pseudo-link; \
            aufs's manual asks for a flush before unmounting or changing branches, which umount and branch do \
            themselves.

            Examples:
              aufsctl plink list ./mnt
              aufsctl plink flush ./mnt

            Exit status:
              0  listed or flushed (or nothing to do)
              1  the flush failed (/proc/fs/aufs/plink_maint, a copy-up); the message names it
              2  not an aufs union, or an action other than list or flush
            """)

    @Argument(help: "list or flush.", completion: .list(["list", "flush"])) var action: String
    @Argument(help: "The aufs mount point.", completion: Completions.liveTargets) var target: String
    @Flag(help: "Print the report as JSON (schema aufsctl.plink/1).") var json = false

    func run() async throws {
        guard action == "list" || action == "flush" else {
            throw AufsError.usage("plink \(action): expected list or flush")
        }
        let m = try StatusReader().read(target: target).mounts[0]
        if action == "flush" && geteuid() != 0 {
            throw AufsError("plink flush needs root (/proc/fs/aufs/plink_maint); run it with sudo")
        }
        let r = action == "list" ? PseudoLinks().list(m) : try PseudoLinks().flush(m)
        if json {
            print(try encodeJSON(r))
            return
        }
        if let why = r.skipped {
            print("\(m.target): nothing to \(action): \(why)")
            return
        }
        for e in r.entries { print("\(e.path)  aufs inode \(e.aufsInode)") }
        for p in r.paths { print((action == "list" ? "  pseudo-linked: " : "  copied up: ") + p) }
        if action == "flush" { print("flushed \(r.entries.count) pseudo-link(s) of \(m.target)") }
    }
}

struct PersistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persist",
        abstract: "Make a union come back at boot: a systemd .mount unit (or an /etc/fstab line) through mount.aufs.",
        discussion: """
            Forms:
              aufsctl persist TARGET                      a live union, as aufsctl status shows it
              aufsctl persist [-o OPTS] dirs=BRANCHES TARGET   the same arguments as mount
              aufsctl persist --remove TARGET
            The unit is /etc/systemd/system/<systemd-escape --path TARGET>.mount, Type=aufs, enabled for \
            local-fs.target, with RequiresMountsFor= every branch; /etc/modules-load.d/aufs.conf loads aufs. \
            Without systemd: an /etc/fstab line after the lines that mount its branches. Recorded in the \
            state file; `aufsctl uninstall --all` removes it too. Needs the mount.aufs helper (the package's, \
            or `aufsctl helper install`).

            Examples:
              The live union at ./mnt, as it is mounted now:
                aufsctl persist ./mnt
              See the unit that would be written:
                aufsctl persist --dry-run dirs=/srv/seed/container:/srv/seed/image1=ro /srv/seed/mnt
              As an /etc/fstab line instead:
                aufsctl persist --via fstab dirs=/srv/seed/container:/srv/seed/image1=ro /srv/seed/mnt
              Mounted with overlayfs at boot where aufs is missing (x-aufsctl.fallback=overlay):
                aufsctl persist --fallback overlay dirs=/srv/seed/container:/srv/seed/image1=ro /srv/seed/mnt
              Take it away again:
                aufsctl persist --remove /srv/seed/mnt
              What is persisted, as the units and fstab have it (for tools: --json, schema aufsctl.persist/1):
                aufsctl persist --list

            Exit status:
              0  written (or removed; with --dry-run or --emit-sh: shown)
              1  a file could not be written; the message names it
              2  bad input: a refused value, no live union at TARGET, nothing recorded for --remove
            """)

    @Option(
        name: .customShort("o"),
        help: ArgumentHelp("mount(8)-style options: the branch list and aufs options.", valueName: "OPTIONS"))
    var options: String?
    @Argument(
        help: ArgumentHelp("[dirs=BRANCHES] TARGET", valueName: "SPEC TARGET"), completion: Completions.persistTargets)
    var positional: [String] = []
    @Flag(help: "Take the union's persistence away.") var remove = false
    @Flag(help: "List the unions persist wrote, as their unit or fstab line has them now.") var list = false
    @Flag(help: "With --list: print them as JSON (schema aufsctl.persist/1).") var json = false
    @Option(
        help: "systemd or fstab (default: systemd when it runs the host).", completion: .list(["systemd", "fstab"]))
    var via: String?
    @Option(
        help: ArgumentHelp(
            "What the helper mounts at boot when aufs is not available: none (fail) or overlay (written as the "
                + "mount option x-aufsctl.fallback=overlay).", valueName: "none|overlay"))
    var fallback: Fallback = .none
    @Flag(help: "Show the unit (or fstab) that would be written.") var dryRun = false
    @Flag(help: "Print a POSIX sh script that does the same (for images provisioned from outside).") var emitSh = false
    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
        if json && !list { throw AufsError.usage("--json goes with --list") }
        if list {
            guard positional.isEmpty, options == nil, !remove, !dryRun, !emitSh else {
                throw AufsError.usage("--list takes no union and no other action: aufsctl persist --list [--json]")
            }
            let report = try Persister(root: root).list()
            if json {
                print(try encodeJSON(report))
            } else if report.unions.isEmpty {
                print("no persisted unions")
            } else {
                for u in report.unions {
                    let what =
                        u.problem
                        ?? ((u.branches ?? []).map(\.spec) + (u.xino.map { ["xino=" + $0] } ?? []) + (u.options ?? []))
                        .joined(separator: ",")
                    print("\(u.target)  \(u.via)  \(what)" + (u.fallback == "overlay" ? "  (overlay fallback)" : ""))
                }
            }
            return
        }
        guard let target = positional.last, positional.count <= 2 else {
            throw AufsError.usage("expected [dirs=BRANCHES] TARGET")
        }
        let persister = Persister(root: root)
        if remove {
            guard geteuid() == 0 else {
                throw AufsError("persist --remove changes /etc and needs root; run it with sudo")
            }
            let t = Paths.resolved(target)
            if try await !persister.remove(target: t) {
                throw AufsError.usage("\(t): aufsctl persist recorded nothing for it")
            }
            return
        }
        let how: Persister.Via
        if let via {
            guard let v = Persister.Via(rawValue: via) else {
                throw AufsError.usage("--via \(via): expected systemd or fstab")
            }
            how = v
        } else {
            how = persister.detectVia()
        }
        let spec = try specFromArguments(target: target)
        if emitSh {
            print(try persister.shellScript(spec, via: how), terminator: "")
            return
        }
        if dryRun {
            for (path, text) in try persister.preview(spec, via: how) { print("# \(path)\n\(text)") }
            return
        }
        guard geteuid() == 0 else {
            throw AufsError("persist writes /etc and needs root; run it with sudo, or use --dry-run")
        }
        try await persister.apply(spec, via: how)
        if case .missing = HelperLinks(root: root).state("mount.aufs") {
            Terminal.error(
                "aufsctl: warning: \(HelperLinks.path("mount.aufs")) is missing: install the aufsctl package or run "
                    + "`aufsctl helper install`, or the union will not mount at boot")
        }
    }

    func specFromArguments(target: String) throws -> PersistSpec {
        var spec = try branchSpec(target: target)
        if fallback == .overlay { spec.options.append(HelperFallback.option + "=overlay") }
        return spec
    }

    func branchSpec(target: String) throws -> PersistSpec {
        if positional.count == 1 && options == nil {
            return try Persister.spec(live: try StatusReader().read(target: target).mounts[0], fallback: fallback)
        }
        var opts = try options.map(AufsOptions.parse(options:)) ?? AufsOptions()
        if positional.count == 2 {
            // The forms `mount` takes: dirs=LIST, br=LIST, br:LIST.
            guard let prefix = ["dirs=", "br=", "br:"].first(where: { positional[0].hasPrefix($0) }) else {
                throw AufsError.usage("\(positional[0]): expected dirs=RW:RO1=ro:... (or br=, br:)")
            }
            opts.branches = try AufsOptions.parseBranchList(String(positional[0].dropFirst(prefix.count)))
        }
        guard !opts.branches.isEmpty else {
            throw AufsError.usage("no branches: give dirs=RW:RO1=ro:... or a live union's TARGET")
        }
        let branches = try BranchValidator().validate(opts.branches, readOnlyMount: opts.readOnly)
        let t = try BranchValidator().canonicalDirectory(target, what: "mount point")
        return PersistSpec(
            target: t, branches: branches.map(\.spec), xino: opts.xino,
            options: opts.other + (opts.readOnly ? ["ro"] : []) + (opts.noxino ? ["noxino"] : []))
    }
}
