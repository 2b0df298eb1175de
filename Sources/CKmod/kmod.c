// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// The libkmod functions AufsKit calls, loaded with dlopen at first use (see CLibLoad.h). A function
// AufsKit starts to call must be added here, else the link fails.
#include "CKmod.h"
#include <CLibLoad.h>

static struct aufsctl_lib libkmod = {"libkmod.so.2", "libkmod2 (Debian, Ubuntu) or kmod-libs (RHEL)", 0};

AUFSCTL_LIB_CALL(libkmod, struct kmod_ctx *, kmod_new, (const char *dirname, const char *const *config_paths),
                 (dirname, config_paths))
AUFSCTL_LIB_CALL(libkmod, struct kmod_ctx *, kmod_unref, (struct kmod_ctx *ctx), (ctx))
AUFSCTL_LIB_CALL(libkmod, int, kmod_load_resources, (struct kmod_ctx *ctx), (ctx))
AUFSCTL_LIB_CALL(libkmod, struct kmod_list *, kmod_list_next,
                 (const struct kmod_list *list, const struct kmod_list *curr), (list, curr))
AUFSCTL_LIB_CALL(libkmod, int, kmod_module_new_from_lookup,
                 (struct kmod_ctx *ctx, const char *given_alias, struct kmod_list **list), (ctx, given_alias, list))
AUFSCTL_LIB_CALL(libkmod, struct kmod_module *, kmod_module_get_module, (const struct kmod_list *entry), (entry))
AUFSCTL_LIB_CALL(libkmod, struct kmod_module *, kmod_module_unref, (struct kmod_module *mod), (mod))
AUFSCTL_LIB_CALL(libkmod, int, kmod_module_unref_list, (struct kmod_list *list), (list))
AUFSCTL_LIB_CALL(libkmod, const char *, kmod_module_get_name, (const struct kmod_module *mod), (mod))
AUFSCTL_LIB_CALL(libkmod, const char *, kmod_module_get_path, (const struct kmod_module *mod), (mod))
AUFSCTL_LIB_CALL(libkmod, int, kmod_module_get_initstate, (const struct kmod_module *mod), (mod))
AUFSCTL_LIB_CALL(libkmod, int, kmod_module_get_info, (const struct kmod_module *mod, struct kmod_list **list),
                 (mod, list))
AUFSCTL_LIB_CALL(libkmod, void, kmod_module_info_free_list, (struct kmod_list *list), (list))
AUFSCTL_LIB_CALL(libkmod, const char *, kmod_module_info_get_key, (const struct kmod_list *entry), (entry))
AUFSCTL_LIB_CALL(libkmod, const char *, kmod_module_info_get_value, (const struct kmod_list *entry), (entry))
AUFSCTL_LIB_CALL(libkmod, int, kmod_module_probe_insert_module,
                 (struct kmod_module *mod, unsigned int flags, const char *extra_options,
                  int (*run_install)(struct kmod_module *m, const char *cmdline, void *data), const void *data,
                  void (*print_action)(struct kmod_module *m, bool install, const char *options)),
                 (mod, flags, extra_options, run_install, data, print_action))
