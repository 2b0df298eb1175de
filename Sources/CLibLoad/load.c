// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
#include "CLibLoad.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static int aufsctl_lib_missing_exit = 1;

void aufsctl_lib_set_missing_exit(int status) { aufsctl_lib_missing_exit = status; }

void *aufsctl_lib_symbol(struct aufsctl_lib *lib, const char *symbol) {
    void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
    if (!h) {
        // Two threads may both open it: dlopen counts references, either handle is the library.
        h = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "aufsctl: cannot load %s (%s); this command needs it: install %s\n",
                    lib->soname, dlerror(), lib->package);
            exit(aufsctl_lib_missing_exit);
        }
        __atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
    }
    void *f = dlsym(h, symbol);
    if (!f) {
        fprintf(stderr, "aufsctl: %s has no %s (too old?); this command needs it: install a newer %s\n",
                lib->soname, symbol, lib->package);
        exit(aufsctl_lib_missing_exit);
    }
    return f;
}
