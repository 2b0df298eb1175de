# SPDX-License-Identifier: GPL-2.0
# aufs TEST STAND-IN: no configuration (real aufs sets CONFIG_AUFS_* here).
# Fail the build on warnings, so header changes show up early.
ccflags-y += -Werror
