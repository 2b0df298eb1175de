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
            state file; `aufsctl uninstall --all` removes it too. Needs `aufsctl helper install`.
            """)

    @Option(name: .customShort("o"), help: "mount(8)-style options: the branch list and aufs options.") var options:
        String?
    @Argument(help: ArgumentHelp("[dirs=BRANCHES] TARGET", valueName: "SPEC TARGET")) var positional: [String] = []
    @Flag(help: "Take the union's persistence away.") var remove = false
    @Option(help: "systemd or fstab (default: systemd when it runs the host).") var via: Persister.Via?
    @Flag(help: "Show the unit (or fstab) that would be written.") var dryRun = false
    @Flag(help: "Print a POSIX sh script that does the same (for images provisioned from outside).") var emitSh = false
    @OptionGroup var host: HostOptions

    func validate() throws {
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
                "aufsctl: warning: /sbin/mount.aufs is missing: run `aufsctl helper install`, "
                    + "or the union will not mount at boot")
        }
        for w in HelperLinks(root: root).unsafeHelpers() { Terminal.error("aufsctl: warning: " + w) }
    }

    func specFromArguments(target: String) throws -> PersistSpec {
        if positional.count == 1 && options == nil {
            return try Persister.spec(live: try StatusReader().read(target: target).mounts[0])
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
