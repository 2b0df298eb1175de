// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
#ifndef AUFSCTL_CLIBLOAD_H
#define AUFSCTL_CLIBLOAD_H
// libkmod and libblkid are loaded with dlopen at their first use (Sources/CKmod and CBlkid define
// their functions as calls through pointers looked up here; CMount does the same for libmount, which
// only the tests use), so the commands that do not use them (`--version` loads only libblkid,
// `status` and `umount` neither, `mount` libkmod only while aufs is not registered) never map
// libkmod and what it pulls in (libcrypto, liblzma, libzstd).

/// A library loaded at first use. `soname` is what dlopen opens; `package` names it in the message.
struct aufsctl_lib {
    const char *soname;
    const char *package;
    void *handle;  // set once, atomically
};

/// The exit status when a library or symbol is missing: 1, or 2 ("system error") in the mount
/// helper, as mount(8) documents for helpers.
void aufsctl_lib_set_missing_exit(int status);

/// The address of `symbol` in `lib`, loading the library first if needed. When the library or the
/// symbol is missing, prints one line naming the library, the package and the reason, and exits
/// with the status `aufsctl_lib_set_missing_exit` set (1 unless changed):
/// the calling command cannot do its work without it.
void *aufsctl_lib_symbol(struct aufsctl_lib *lib, const char *symbol);

/// Defines `ret name params` (hidden: libmount's own calls into libblkid must not land here) as a
/// call through the pointer to `name` in `lib`, looked up once.
#define AUFSCTL_LIB_CALL(lib, ret, name, params, args)                                              \
    __attribute__((visibility("hidden"))) ret name params {                                          \
        static void *fn;                                                                             \
        void *f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                                            \
        if (!f) {                                                                                    \
            f = aufsctl_lib_symbol(&(lib), #name);                                                   \
            __atomic_store_n(&fn, f, __ATOMIC_RELEASE);                                              \
        }                                                                                            \
        return ((ret(*) params)f) args;                                                              \
    }

#endif
