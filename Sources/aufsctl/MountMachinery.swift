// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

struct HelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helper",
        abstract: "Install, remove or show /sbin/mount.aufs and /sbin/umount.aufs (links to aufsctl-helper).",
        discussion: """
            mount(8), mount -a, /etc/fstab and systemd .mount units run /sbin/mount.aufs for -t aufs. The \
            links go to aufsctl-helper, installed beside aufsctl (or in ../libexec/aufsctl), a small binary \
            that is only the helper and starts faster; without it, to aufsctl, which is the helper too when \
            started under those names. A foreign helper (aufs-tools') is replaced only with --force and \
            comes back with `helper remove` or `uninstall`.
            """)

    @Argument(help: "install, remove or status.") var action: String
    @Flag(help: "install: replace a foreign mount.aufs/umount.aufs (moved aside).") var force = false
    @Option(
        help: ArgumentHelp(
            "install: the binary to link to (default: aufsctl-helper beside this aufsctl or in "
                + "../libexec/aufsctl, else this aufsctl).",
            valueName: "PATH"))
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
                throw AufsError("helper install writes /sbin and needs root; run it with sudo")
            }
            try links.install(binary: binary ?? HelperLinks.helperBinary(for: HelperLinks.selfBinary()), force: force)
        case "remove":
            guard geteuid() == 0 else { throw AufsError("helper remove writes /sbin and needs root; run it with sudo") }
            try await links.remove()
        default:
            throw AufsError.usage("helper \(action): expected install, remove or status")
        }
    }
}

struct PlinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plink",
        abstract: "List or flush an aufs union's pseudo-links (what aufs-util's auplink does).")

    @Argument(help: "list or flush.") var action: String
    @Argument(help: "The aufs mount point.") var target: String
    @Flag(help: "Print the report as JSON (schema aufsctl.plink/1).") var json = false

    func run() async throws {
        guard action == "list" || action == "flush" else {
            throw AufsError.usage("plink \(action): expected list or flush")
        }
        if action == "flush" && geteuid() != 0 {
            throw AufsError("plink flush needs root (/proc/fs/aufs/plink_maint); run it with sudo")
        }
        let m: UnionMount
        let r: PseudoLinks.Report
        if action == "flush",
            let (u, lock) = try StatusReader().lockedAufsUnion(
                at: Paths.resolved(target), what: "flushing the pseudo-links of \(target)")
        {
            // Held through the flush: an unmount or remount of this union waits for it.
            defer { lock?.release() }
            m = u
            r = try PseudoLinks().flush(u)
        } else {
            m = try StatusReader().read(target: target).mounts[0]
            r = action == "list" ? PseudoLinks().list(m) : try PseudoLinks().flush(m)
        }
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
            state file; `aufsctl uninstall --all` removes it too. Needs `aufsctl helper install`.
            """)

    @Option(name: .customShort("o"), help: "mount(8)-style options: the branch list and aufs options.") var options:
        String?
    @Argument(help: ArgumentHelp("[dirs=BRANCHES] TARGET", valueName: "SPEC TARGET")) var positional: [String] = []
    @Flag(help: "Take the union's persistence away.") var remove = false
    @Option(help: "systemd or fstab (default: systemd when it runs the host).") var via: String?
    @Flag(help: "Show the unit (or fstab) that would be written.") var dryRun = false
    @Flag(help: "Print a POSIX sh script that does the same (for images provisioned from outside).") var emitSh = false
    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
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
                "aufsctl: warning: /sbin/mount.aufs is missing: run `aufsctl helper install`, "
                    + "or the union will not mount at boot")
        }
    }

    func specFromArguments(target: String) throws -> PersistSpec {
        if positional.count == 1 && options == nil {
            return try Persister.spec(live: try StatusReader().read(target: target).mounts[0])
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
