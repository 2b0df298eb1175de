// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit
import Glibc

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
    @Option(help: "systemd or fstab (default: systemd when it runs the host).") var via: Persister.Via?
    @Option(
        help: ArgumentHelp(
            "What the helper mounts at boot when aufs is not available: none (fail) or overlay (written as the "
                + "mount option x-aufsctl.fallback=overlay).", valueName: "none|overlay"))
    var fallback: Fallback = .none
    @Flag(help: "Show the unit (or fstab) that would be written.") var dryRun = false
    @Flag(help: "Print a POSIX sh script that does the same (for images provisioned from outside).") var emitSh = false
    @OptionGroup var host: HostOptions

    func validate() throws {
        if json && !list { throw AufsError.usage("--json goes with --list") }
        if list {
            guard positional.isEmpty, options == nil, !remove, !dryRun, !emitSh else {
                throw AufsError.usage("--list takes no union and no other action: aufsctl persist --list [--json]")
            }
            return
        }
        guard !positional.isEmpty, positional.count <= 2 else {
            throw AufsError.usage("expected [dirs=BRANCHES] TARGET")
        }
        if positional.count == 2, !["dirs=", "br=", "br:"].contains(where: { positional[0].hasPrefix($0) }) {
            // The forms `mount` takes: dirs=LIST, br=LIST, br:LIST.
            throw AufsError.usage("\(positional[0]): expected dirs=RW:RO1=ro:... (or br=, br:)")
        }
    }

    func run() async throws {
        let root = try host.hostRoot()
        if list { return try printList(try Persister(root: root).list()) }
        let target = positional.last!
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
        let how = via ?? persister.detectVia()
        let spec = try specFromArguments(target: target)
        if emitSh { return Terminal.raw(try persister.shellScript(spec, via: how)) }  // data: never escaped
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
        for w in HelperLinks(root: root).unsafeHelpers() { Terminal.error("aufsctl: warning: " + w) }
    }

    /// `--list`: one line per persisted union, or the aufsctl.persist/1 document.
    func printList(_ report: PersistReport) throws {
        if json { return try Terminal.printJSON(report) }
        if report.unions.isEmpty { return print("no persisted unions") }
        for u in report.unions {
            let what =
                u.problem
                ?? ((u.branches ?? []).map(\.spec) + (u.xino.map { ["xino=" + $0] } ?? []) + (u.options ?? []))
                .joined(separator: ",")
            print("\(u.target)  \(u.via)  \(what)" + (u.fallback == "overlay" ? "  (overlay fallback)" : ""))
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
        if positional.count == 2, let prefix = ["dirs=", "br=", "br:"].first(where: { positional[0].hasPrefix($0) }) {
            opts.branches = try AufsOptions.parseBranchList(String(positional[0].dropFirst(prefix.count)))
        }
        guard !opts.branches.isEmpty else {
            throw AufsError.usage("no branches: give dirs=RW:RO1=ro:... or a live union's TARGET")
        }
        // Image branches are checked here and attached at boot by mount.aufs.
        let branches = try ImageBranches.persistSpecs(opts.branches, readOnlyMount: opts.readOnly)
        let t = try BranchValidator().canonicalDirectory(target, what: "mount point")
        return PersistSpec(
            target: t, branches: branches, xino: opts.xino,
            options: opts.other + (opts.readOnly ? ["ro"] : []) + (opts.noxino ? ["noxino"] : []))
    }
}

// ArgumentParser's defaults spelled out (see Fallback's in Mount.swift).
extension Persister.Via: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    public static var allValueDescriptions: [String: String] { [:] }
    public var defaultValueDescription: String { rawValue }
}
