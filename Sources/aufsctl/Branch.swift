// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct BranchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch",
        abstract: "Add, delete or change a branch of a live aufs mount (aufs remount add=/append=, del=, mod=).",
        discussion: """
            A new branch is checked like mount's; the union's pseudo-links are flushed first. Overlay fallback \
            unions cannot change layers live.

            Examples:
              A fourth image layer, below the container layer:
                aufsctl branch add ./mnt ./image4=ro --index 1
              A layer's permission:
                aufsctl branch mod ./mnt ./image1=rr
              Drop a layer:
                aufsctl branch del ./mnt ./image3

            Exit status:
              0  changed (with --dry-run: the call printed)
              1  the kernel refused: the call, errno and its log lines
              2  bad input: not an aufs union, a bad branch or permission
            """)

    @Argument(help: "add, del or mod.") var action: BranchEditor.Action
    @Argument(help: "The aufs mount point.", completion: Completions.liveTargets) var target: String
    @Argument(help: "PATH[=PERM].", completion: .directory) var branch: String
    @Option(help: "With add: the position of the new branch (0 = top); default: append at the bottom.") var index: Int?
    @Flag(help: "Print the call without making it.") var dryRun = false
    @Flag(help: "Do not flush aufs's pseudo-links first (aufsctl plink flush).") var noPlinkFlush = false

    func validate() throws {
        if index != nil && action != .add { throw AufsError.usage("--index applies to branch add only") }
    }

    func run() throws {
        var editor = BranchEditor(syscalls: testSyscalls())
        editor.flushPseudoLinks = !noPlinkFlush
        let call = try editor.edit(action, target: target, branch: branch, index: index, dryRun: dryRun)
        print((dryRun ? "would call: " : "done: ") + call.description)
    }
}

// ArgumentParser's defaults spelled out (see Fallback's in Mount.swift).
extension BranchEditor.Action: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    public static var allValueDescriptions: [String: String] { [:] }
    public var defaultValueDescription: String { rawValue }
}
