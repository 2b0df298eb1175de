// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

struct BranchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch",
        abstract: "Add, delete or change a branch of a live aufs mount (aufs remount add=/append=, del=, mod=).",
        discussion: """
            A directory is appended at the bottom unless --index is given. An image file (squashfs or erofs; \
            others with --allow-fs) is an image layer: bound to a read-only loop device, mounted under \
            /run/aufsctl/layers and added right under the rw branch (index 1 when the rw branch is on top, as \
            `slax activate` does), with permission rr (rr+wh when the image holds whiteouts).
            branch del takes the branch's path, an image's path, its layer directory or its index; a deleted \
            image layer is unmounted and its loop device released.
            After an image layer is added or deleted, the root-owned executables in /etc/aufsctl/layer.d run \
            (--no-hooks skips them).
            On an overlay fallback union, add and del need --remount: it is unmounted (when nothing holds it) \
            and mounted again with the new stack. The union's pseudo-links are flushed first.

            Examples:
              A fourth layer directory, below the container layer:
                aufsctl branch add ./mnt ./image4=ro --index 1
              A squashfs image as a layer (right under the rw branch):
                aufsctl branch add ./mnt ./layer5.squashfs
              A layer's permission:
                aufsctl branch mod ./mnt ./image1=rr
              Drop a layer (a directory, an image or an index):
                aufsctl branch del ./mnt ./image3

            Exit status:
              0  changed (with --dry-run: the call printed)
              1  the kernel refused: the call, errno and its log lines
              2  bad input: not an aufs union, a bad branch, permission or image
            """)

    @Argument(help: "add, del or mod.") var action: BranchEditor.Action
    @Argument(help: "The aufs mount point.", completion: Completions.liveTargets) var target: String
    @Argument(
        help: "PATH[=PERM] (a directory or an image file); for del also an image's path or an index.",
        completion: .file())
    var branch: String
    @Option(
        help: ArgumentHelp(
            "With add: the position of the new branch (0 = top); default: right under the rw branch for an image, "
                + "at the bottom for a directory."))
    var index: Int?
    @Option(help: "Accept an image holding this filesystem too (ext4, ext3, ext2, iso9660); repeatable.")
    var allowFs: [String] = []
    @Flag(help: "Mount a root-only copy (in /var/lib/aufsctl/images) of an image another user can write.")
    var copy = false
    @Flag(help: "On an overlay union: unmount it and mount it again with the new stack, when nothing holds it.")
    var remount = false
    @Flag(help: "Do not run the after-work hooks in /etc/aufsctl/layer.d.") var noHooks = false
    @Flag(
        help: ArgumentHelp(
            "With add of an image: move the whiteouts above it that would hide its files into a journaled backup, and "
                + "remount with udba=reval (default: warn)."))
    var dropWhiteouts = false
    @Flag(help: "Print the call without making it.") var dryRun = false
    @Flag(help: "Do not flush aufs's pseudo-links first (aufsctl plink flush).") var noPlinkFlush = false

    func validate() throws {
        if index != nil && action != .add { throw AufsError.usage("--index applies to branch add only") }
    }

    func run() async throws {
        var editor = BranchEditor(syscalls: testSyscalls())
        editor.flushPseudoLinks = !noPlinkFlush
        editor.images = imageOptions(allowFS: allowFs, copy: copy)
        editor.remountOverlay = remount
        let union = target
        if dropWhiteouts { editor.dropWhiteouts = { try WhiteoutDrop().drop($0, union: union) } }
        let c = try editor.change(action, target: target, branch: branch, index: index, dryRun: dryRun)
        for w in c.warnings { Terminal.error("aufsctl: warning: " + w) }
        if let call = c.call { print((dryRun ? "would call: " : "done: ") + call.description) }
        for n in c.notes { print(n) }
        guard !dryRun, !noHooks, let layer = c.layer, action != .mod else { return }
        for o in await LayerHooks().run(action: action.rawValue, union: c.target, layer: layer) {
            if o.succeeded {
                print("hook \(o.hook): ok")
            } else {
                Terminal.error(
                    "aufsctl: warning: hook \(o.hook)"
                        + (o.status.map { " exited \($0)" } ?? "") + (o.message.map { ": \($0)" } ?? "")
                        + " (the branch change stays)")
            }
        }
    }
}

// ArgumentParser's defaults spelled out (see Fallback's in Mount.swift).
extension BranchEditor.Action: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map { $0.rawValue } }
    public static var allValueDescriptions: [String: String] { [:] }
    public var defaultValueDescription: String { rawValue }
}
